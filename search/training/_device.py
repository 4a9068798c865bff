"""Choose the torch device from a user's ``--device`` string."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from search.errors import UsageError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N"
# The kernel for the spiking neurons: SpikingJelly's choices, and "fused" (every LIF layer's
# recurrence compiled by Inductor, models/fused_lif.py); search/training/_kernels.py applies the choice.
NEURON_BACKENDS = ("auto", "cuda", "triton", "torch", "fused")


def check_device_name(name: str) -> str:
    """``name`` if it is one of :data:`DEVICE_CHOICES` in form; whether that device exists needs torch."""
    if name not in ("auto", "cpu") and not re.fullmatch(r"cuda(?::\d+)?", name):
        raise UsageError(f"unknown device {name!r}; valid: {DEVICE_CHOICES}")
    return name


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``; a clear error otherwise."""
    import torch

    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    assert match is not None
    if not torch.cuda.is_available():
        raise UsageError(f"--device {name}: no CUDA GPU is available on this machine (use cpu or auto)")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise UsageError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return torch.device("cuda", index)
