"""The precision policy: which floating-point format a run trains and evaluates in (``--precision``).

``auto`` (the default) takes bfloat16 where the device runs it natively, float32 elsewhere:

- a CUDA GPU that supports bfloat16 (``torch.cuda.is_bf16_supported``: Ampere and later);
- a CPU whose oneDNN reports native bfloat16 (``torch.ops.mkldnn._is_mkldnn_bf16_supported``:
  AVX-512 BF16 or AMX). Without it PyTorch emulates bfloat16, many times slower than float32
  (measured on an AVX2-only AMD EPYC in docs/performance.md#precision).

``bf16`` where the device lacks it is allowed (to test parity on any machine) and warned as slow.

What bfloat16 means here (search/training/_step.py, models/snn.py): ``torch.autocast`` runs the
convolutions and matrix products (forward and backward) in bfloat16. Everything else stays float32:
the parameters and the optimiser's state (autocast casts a copy of each weight per call, so updates
accumulate in float32), every spiking neuron's input, membrane potential and spikes (the network
casts its neurons' inputs to float32: a membrane potential summed over T steps in bfloat16's 8-bit
mantissa would lose the small inputs near threshold), the loss (computed on float32 logits), batch
norm (autocast keeps it float32) and the gradient of the spike function. The energy count runs in
float32 whatever the policy: it counts operations and bytes of the network as specified, which
autocast does not change, and so figures of studies in either precision compare.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from search.errors import UsageError
from search.training._config import PRECISION_NAMES as NAMES
from search.training._config import PRECISION_POLICIES, PRECISIONS


def native_bf16(device: torch.device) -> bool:
    """True where ``device`` runs bfloat16 convolutions and matrix products natively (fast)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):  # a torch built without oneDNN
            return False
    return False


def _device_text(device: torch.device) -> str:
    return "this GPU" if device.type == "cuda" else "this CPU" if device.type == "cpu" else str(device)


@dataclass(frozen=True)
class PrecisionChoice:
    """What a run trains in, and why: printed at start (:meth:`describe`), and the warning to give."""

    precision: str  # PRECISIONS
    asked: str  # PRECISION_POLICIES, or "the study's" / "the trial's" for a recorded one
    reason: str  # a clause that says why, e.g. "this CPU runs bfloat16 natively"
    native: bool  # the device runs bfloat16 natively

    @property
    def slow_warning(self) -> str | None:
        """A one-line warning where bfloat16 is asked of a device that only emulates it."""
        if self.precision != "bf16" or self.native:
            return None
        return (
            "warning: --precision bf16 on a device without native bfloat16: PyTorch emulates it, "
            "many times slower than float32 (use it to test parity, not to search)"
        )

    def describe(self) -> str:
        """``precision bfloat16 (auto: this CPU runs bfloat16 natively)``."""
        return f"precision {NAMES[self.precision]} ({self.asked}: {self.reason})"


def choose_precision(asked: str, device: torch.device, recorded: str | None = None, whose: str = "") -> PrecisionChoice:
    """Resolve ``--precision`` on ``device``.

    ``recorded`` is the precision a study or a trial was made with (``whose`` names it, e.g.
    "the study's"): ``auto`` keeps it, so every worker of a study and every retrain of a trial trains
    as the study did, whatever machine it runs on. Without one, ``auto`` takes bfloat16 where the
    device runs it natively. A conflict between an explicit choice and a study's is the caller's to
    refuse (a study's precision is one of its settings, search.tuning._settings).
    """
    if asked not in PRECISION_POLICIES:
        raise UsageError(f"unknown --precision {asked!r}; valid: {', '.join(PRECISION_POLICIES)}")
    native = native_bf16(device)
    where = _device_text(device)
    if asked == "auto" and recorded is not None:
        if recorded not in PRECISIONS:
            raise UsageError(f"{whose} precision {recorded!r} is not one this snn-search knows: update this checkout")
        return PrecisionChoice(recorded, whose or "recorded", f"auto keeps it; {where} {_runs(native)}", native)
    if asked == "auto":
        precision = "bf16" if native else "fp32"
        return PrecisionChoice(precision, "auto", f"{where} {_runs(native)}", native)
    return PrecisionChoice(asked, f"--precision {asked}", f"{where} {_runs(native)}", native)


def _runs(native: bool) -> str:
    return "runs bfloat16 natively" if native else "has no native bfloat16"


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager[None]:
    """bfloat16 autocast of convolutions and matrix products under ``precision == "bf16"``; nothing otherwise."""
    if precision == "bf16" and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
