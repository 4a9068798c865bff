"""What every command's command line shares: the parser, the storage and study flags, runtime flags, output.

Nothing here imports torch or SpikingJelly, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import difflib
import os
import warnings
from collections.abc import Callable
from typing import NoReturn

from search import tuning
from search.errors import UsageError
from search.store import BEST_STUDY, DEFAULT_STORAGE, DEFAULT_STUDY, STORAGE_URL_ENV, study_name_problem
from search.training import (
    CLASS_COUNT,
    DEFAULT_EPOCHS,
    DEVICE_CHOICES,
    NEURON_BACKENDS,
    PRECISION_POLICIES,
    check_device_name,
)


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def image_count(most: int, part: str) -> Callable[[str], int]:
    """An argparse type for a stratified subset's size: one image per class at least, ``most`` at most."""

    def parse(text: str) -> int:
        value = positive_int(text)
        if value < CLASS_COUNT:
            raise argparse.ArgumentTypeError(
                f"a stratified subset needs one image per class, at least {CLASS_COUNT}, got {value}"
            )
        if value > most:
            raise argparse.ArgumentTypeError(f"the {part} holds {most:,} images, got {value:,}")
        return value

    return parse


def seed_number(text: str) -> int:
    """A seed NumPy and Optuna accept: a whole number from 0 to 2**32 - 1."""
    value = _whole_number(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"a seed is between 0 and {2**32 - 1}, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text.strip()}")  # as typed, not 0.0
    return value


UNRECOGNIZED = "unrecognized arguments: "


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``prog: error: message (see --help)``, exit 2) and no abbreviations;
    an unknown flag gets the command's closest flag as a suggestion (``--trial: did you mean --trials?``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}{self._suggestions(message)} (see --help)\n")

    def _suggestions(self, message: str) -> str:
        """``; --trial: did you mean --trials?`` for each unknown flag with a close one (difflib), else nothing."""
        if not message.startswith(UNRECOGNIZED):
            return ""
        shown = [
            option
            for action in self._actions
            if action.help != argparse.SUPPRESS
            for option in action.option_strings
            if option.startswith("--")
        ]
        hints = []
        for word in message.removeprefix(UNRECOGNIZED).split():
            flag = word.split("=", 1)[0]
            if flag.startswith("--") and (close := difflib.get_close_matches(flag, shown, n=1)):
                hints.append(f"{flag}: did you mean {close[0]}?")
        return "".join(f"; {hint}" for hint in hints)


def make_parser(module: str, doc: str | None) -> Parser:
    """The parser of ``python -m <module>``: its docstring as description, ``--debug``, no abbreviated flags.

    ``allow_abbrev=False``: ``--trial 5`` must not pass for ``--trials 5``.
    """
    parser = Parser(
        prog=f"python -m {module}",
        description=doc,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return parser


def study_name(text: str) -> str:
    """An argparse type: a study name that is safe as a folder name (search.store.study_name_problem)."""
    problem = study_name_problem(text)
    if problem is not None:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise argparse.ArgumentTypeError(f"{problem}, got {shown!r}")
    return text


def _study_or_best(text: str) -> str:
    return text if text == BEST_STUDY else study_name(text)


def add_storage_flags(
    parser: argparse.ArgumentParser, *, study: bool = True, best: bool = False, results: bool = False
) -> None:
    """``--storage`` and ``--study`` (default fmnist-snn everywhere); ``best`` where a command can pick;
    ``--results-dir`` where a command reads or writes results."""
    parser.add_argument(
        "--storage",
        default=os.environ.get(STORAGE_URL_ENV) or DEFAULT_STORAGE,
        metavar="URL",
        help=f"Optuna storage URL: a SQLite file or a database server (default: ${STORAGE_URL_ENV} if set, "
        f"so that a password need not stand on a command line, else {DEFAULT_STORAGE})",
    )
    if results:
        parser.add_argument(
            "--results-dir",
            default=None,
            metavar="DIR",
            help="folder for results and artifacts (default: beside a SQLite file, "
            "DIR/NAME/ for DIR/NAME.db; studies/<server>/ for a database server)",
        )
    if not study:
        return
    study_help = f"study name (default {DEFAULT_STUDY}, the study a plain search.run makes)"
    if best:
        study_help += f"; '{BEST_STUDY}': the study with the best trial among those searched at the highest budget"
    parser.add_argument(
        "--study", default=DEFAULT_STUDY, metavar="NAME", type=_study_or_best if best else study_name, help=study_help
    )


def _device_name(text: str) -> str:
    """``--device`` in form (auto, cpu, cuda, cuda:N); whether the GPU exists is checked once torch loads."""
    try:
        return check_device_name(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _neuron_backend(text: str) -> str:
    """``--neuron-backend`` by name; whether it runs on the device is checked once torch loads (_kernels)."""
    if text not in NEURON_BACKENDS:
        raise argparse.ArgumentTypeError(f"unknown kernel {text!r}; valid: {', '.join(NEURON_BACKENDS)}")
    return text


def add_runtime_flags(parser: argparse.ArgumentParser) -> None:
    """--device, --precision, --neuron-backend, --data-dir, --download: how and where, not what, to train."""
    group = parser.add_argument_group("runtime")
    group.add_argument("--device", default="auto", type=_device_name, help=f"one of {DEVICE_CHOICES} (default auto)")
    group.add_argument(
        "--precision",
        choices=PRECISION_POLICIES,
        default="auto",
        help="bf16: bfloat16 autocast of convolutions and matrix products; fp32: float32 throughout "
        "(default auto: a study's or trial's own precision, else bf16 where the device runs it natively, "
        "else fp32; docs/performance.md#precision)",
    )
    # Its name here; whether it runs on the device, by search.training._kernels.apply_neuron_backend (exit 2).
    group.add_argument(
        "--neuron-backend",
        default="auto",
        type=_neuron_backend,
        metavar="{" + ",".join(NEURON_BACKENDS) + "}",
        help="the LIF neurons' kernel (default auto: on a GPU SpikingJelly's native CUDA, "
        "else Triton, else torch; on the CPU the fused compiled recurrence for the LIF "
        "front end's layers and SpikingJelly's torch for the others; torch: SpikingJelly's "
        "torch everywhere; fused: the fused recurrence in every LIF layer)",
    )
    group.add_argument(
        "--data-dir",
        default=None,
        help="folder with the Fashion-MNIST IDX files (default: $FMNIST_DIR, ./data, Debian's)",
    )
    group.add_argument(
        "--download", action="store_true", help="download Fashion-MNIST with torchvision if it is not found"
    )


def add_compile_flag(parser: argparse.ArgumentParser) -> None:
    """``--compile/--no-compile`` for commands that train stored or searched configs (run, final)."""
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile the network for training (same numbers; default: the config's own "
        "setting, off; docs/performance.md says when it pays)",
    )


def first_rung_help() -> str:
    """The default first rung of a pruner in words, for a ``--min-resource`` help (argparse's ``%`` escaped):
    from ``FIRST_RUNG_SHARE``, the one number search.run's pruners use."""
    example = tuning.default_min_resource(DEFAULT_EPOCHS)
    text = (
        f"{tuning.FIRST_RUNG_SHARE:.0%} of the epochs, rounded up, before the last: epoch {example} of {DEFAULT_EPOCHS}"
    )
    return text.replace("%", "%%")


def quiet_optuna(errors_only: bool = False) -> None:
    """Commands print their own lines: hide Optuna's experimental-API warnings and its INFO log (its warnings too)."""
    import optuna  # not at the top: --help answers without loading Optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.ERROR if errors_only else optuna.logging.WARNING)
