"""Keep freed memory in the process on the CPU, instead of handing it back to the kernel at every step.

A training step on the CPU allocates and frees the same large tensors at every batch:
the LIF front end's layer outputs at T = 4 and batch 128 are about 51 MB each.  glibc's
malloc serves blocks above its mmap threshold (dynamic, at most 32 MB) with a fresh
``mmap`` and returns them with ``munmap`` when freed, and shrinks its heap when more
than the trim threshold is free at its top; either way the next step's tensor is new
memory that the kernel must fault in and zero page by page.  Measured on this machine,
the LIF front end with the fused kernel trained at about 700 training images/s that way
and at about 1,150 with the thresholds below (docs/performance.md, round 4).  PyTorch's
CPU tuning guide gives the same advice in the form of a caching allocator (jemalloc or
tcmalloc through LD_PRELOAD); ``mallopt`` does it from inside the process, with the
standard library only.

The cost: the process keeps the memory of its largest step (about the peak it reached
anyway) rather than returning it between steps.  On other C libraries (no ``mallopt``)
nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

# mallopt(3) parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap, and this much free memory may stay at its top.
RETAINED_BYTES = 1 << 30


@functools.cache
def retain_freed_memory() -> bool:
    """Make glibc's malloc reuse freed blocks for large tensors; True if it took effect.

    Called once per process before training on the CPU (search.training._engine, search.training._benchmark);
    later calls do nothing.
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, RETAINED_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, RETAINED_BYTES))
