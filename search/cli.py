"""Flags and output shared by the commands."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Iterable, Sequence
from typing import NoReturn

import optuna

from search.device import DEVICE_CHOICES
from search.kernels import NEURON_BACKENDS


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def add_runtime_flags(parser: argparse.ArgumentParser) -> None:
    """--device, --neuron-backend, --data-dir, --download, --debug: how and where, not what, to train."""
    group = parser.add_argument_group("runtime")
    group.add_argument("--device", default="auto", help=f"one of {DEVICE_CHOICES} (default auto)")
    # Checked against the device by search.kernels.apply_neuron_backend (a one-line error, exit 2).
    group.add_argument("--neuron-backend", default="auto", metavar="{" + ",".join(NEURON_BACKENDS) + "}",
                       help="SpikingJelly's kernel for the LIF neurons (default auto: native CUDA, "
                            "else Triton, else torch on a GPU; torch on the CPU)")
    group.add_argument("--data-dir", default=None,
                       help="folder with the Fashion-MNIST IDX files (default: $FMNIST_DIR, ./data, Debian's)")
    group.add_argument("--download", action="store_true",
                       help="download Fashion-MNIST with torchvision if it is not found")
    group.add_argument("--debug", action="store_true", help="show tracebacks")


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain aligned text table."""
    text_rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text_rows)) if text_rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in text_rows]
    return "\n".join(lines)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``prog: error: message (see --help)``, exit 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def quiet_optuna(level: int = optuna.logging.WARNING) -> None:
    """Commands print their own lines: hide Optuna's experimental-API warnings and its INFO log."""
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(level)
