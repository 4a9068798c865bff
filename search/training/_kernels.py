"""Which kernel SpikingJelly runs for the network's LIF neurons: ``--neuron-backend``.

SpikingJelly 2.0 has no ``backend=`` argument and no CuPy.  Each neuron family picks
its implementation per device from an environment variable (the LIF family:
``SJ_LIF_CUDA_IMPLEMENTATION=auto|cuda|triton|torch``, see
``spikingjelly/_ops/selection.py`` and ``_ops/lif/__init__.py``):

- on the CPU every choice runs the plain-torch reference (there is nothing else);
- on an NVIDIA GPU ``auto`` tries, in order, SpikingJelly's native CUDA kernels, then
  Triton, then plain torch for eager execution, and Triton, CUDA, torch under
  ``torch.compile``; ``cuda``/``triton``/``torch`` insist on one and fail if it cannot run.

The variable is read once, when the family's operator package (``spikingjelly._ops.lif``)
is imported.  SpikingJelly imports it lazily, at the first forward call of a LIF layer,
not at ``import spikingjelly``; the kernel itself is chosen even later, at the first
call on each GPU.  :func:`apply_neuron_backend` therefore sets the variable (which also
reaches worker processes started afterwards) and, if the package is already loaded,
the requested value its selector holds, before any network has run.

The network uses ``LIFNode`` (family ``lif``) for its spiking layers; the membrane
readout, ``NonSpikingLIFNode``, is plain torch with no kernel choice.  ``plif`` is set
too so a ``ParametricLIFNode`` added to the space follows the same flag.

One choice is this project's, not SpikingJelly's: the network's LIF layers are
``models.fused_lif.FusedLIFNode``, which can run the LIF recurrence compiled by Inductor
into one fused loop (a C++ loop on the CPU, where SpikingJelly has only its op-by-op
torch reference).  ``auto`` fuses the LIF front end's layers on the CPU (where it is
about 1.5 times faster, docs/performance.md); ``fused`` fuses every LIF layer on any device
torch.compile serves; ``torch``, ``cuda`` and ``triton`` never fuse.
"""

from __future__ import annotations

import os
import sys

import torch

from models.compile_support import compile_unavailable, triton_available
from models.fused_lif import fused_mode, runs_fused, set_fused_mode
from search.errors import UsageError
from search.training._device import NEURON_BACKENDS

# SpikingJelly neuron family -> the environment variable its selector reads.
NEURON_FAMILIES = {
    "lif": "SJ_LIF_CUDA_IMPLEMENTATION",
    "plif": "SJ_PLIF_CUDA_IMPLEMENTATION",
}
# The family whose selection is reported (the one the network's spiking layers use).
REPORTED_FAMILY = "lif"


def check_neuron_backend(choice: str, device: torch.device) -> str:
    """``choice`` if it can run on ``device``; a one-line UsageError otherwise."""
    if choice not in NEURON_BACKENDS:
        raise UsageError(f"unknown --neuron-backend {choice!r}; valid: {', '.join(NEURON_BACKENDS)}")
    if choice in ("cuda", "triton") and device.type != "cuda":
        raise UsageError(f"--neuron-backend {choice} needs a CUDA GPU; on {device.type} use auto or torch")
    if choice == "triton" and not triton_available():
        raise UsageError(
            "--neuron-backend triton: Triton is not installed (pip install triton), use auto, cuda or torch"
        )
    if choice == "fused" and (reason := compile_unavailable(device.type)) is not None:
        raise UsageError(f"--neuron-backend fused cannot run on {device.type}: {reason}; use auto or torch")
    return choice


def apply_neuron_backend(choice: str, device: torch.device) -> None:
    """Validate ``choice`` for ``device`` and make SpikingJelly's LIF families use it.

    Call it before the first forward pass of any network in this process.
    """
    check_neuron_backend(choice, device)
    set_fused_mode({"auto": "auto", "fused": "all"}.get(choice, "none"))
    sj_choice = "auto" if choice == "fused" else choice  # for the layers SpikingJelly still runs (PLIF)
    for family, variable in NEURON_FAMILIES.items():
        os.environ[variable] = sj_choice
        package = sys.modules.get(f"spikingjelly._ops.{family}")
        if package is None:
            continue  # read from the environment when SpikingJelly imports it
        selection = package._selection
        if selection._requested != sj_choice and (selection._selections or selection._compiled_selections):
            raise RuntimeError(
                f"SpikingJelly already chose its {family} kernel ({selection._requested}) in this process; "
                f"set --neuron-backend before the first network runs"
            )
        # The selector's requested value is read at each (lazy, per-GPU) selection.
        selection._requested = sj_choice
    if device.type == "cuda":
        # Let SpikingJelly choose now, so a kernel that cannot run on this GPU is one line, not a traceback
        # in the middle of the first trial.
        try:
            neuron_backend_in_use(device)
        except RuntimeError as error:
            raise UsageError(f"--neuron-backend {choice} cannot run on {device}: {error}") from None


def neuron_backend_in_use(device: torch.device, compiled: bool = False) -> str:
    """The implementation that runs the network's LIF layers on ``device``.

    SpikingJelly's: ``torch-reference`` on the CPU; on a GPU ``cuda``, ``triton`` or
    ``torch`` (this makes SpikingJelly choose, which is what the first forward pass would
    do anyway).  Where the fused recurrence runs, ``fused`` for every layer, or e.g.
    ``fused (LIF front end), torch-reference (others)`` under ``auto`` on the CPU.  A
    whole-network ``--compile`` traces SpikingJelly's operator instead of the fused one.
    """
    from spikingjelly.activation_based.functional import neuron_implementation

    report = neuron_implementation(REPORTED_FAMILY, device, execution="compile" if compiled else "eager")
    spikingjelly = str(report["implementation"])
    if compiled:
        return spikingjelly
    if fused_mode() == "all" and runs_fused("dense", device.type):
        return "fused"
    if runs_fused("front", device.type):
        return f"fused (LIF front end), {spikingjelly} (others)"
    return spikingjelly
