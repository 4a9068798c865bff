"""Whether torch.compile can run on a device type here (a C++ compiler on the CPU, Triton on a GPU).

Shared by the fused LIF layers (``models/fused_lif.py``) and ``--compile``
(``search/training/_compilation.py``): both compile with Inductor and both fall back to eager
execution where it cannot run.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import shutil


def triton_available() -> bool:
    return importlib.util.find_spec("triton") is not None


@functools.cache
def compile_unavailable(device_type: str) -> str | None:
    """Why torch.compile cannot run on this device type here, or None when it can."""
    if device_type == "cuda":
        return None if triton_available() else "Triton is not installed (torch.compile needs it on a GPU)"
    if device_type != "cpu":
        return f"torch.compile is not set up here for {device_type}"
    from torch._inductor import config as inductor_config

    compiler = inductor_config.cpp.cxx[-1] or "g++"
    if shutil.which(compiler) is None:
        return f"no C++ compiler ({compiler}) found on PATH (torch.compile needs one on the CPU)"
    return None


def prepare_inductor(recompile_limit: int) -> None:
    """Quiet Inductor's C++ build log and let dynamo keep at least ``recompile_limit`` graphs per function.

    On a machine without CUDA the build logs "No CUDA runtime is found" at every compile; and
    a long study meets many graphs (one per T, batch size, ...), past dynamo's default limit
    of 8, after which it would silently run eager.
    """
    import torch

    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, recompile_limit)
