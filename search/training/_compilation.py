"""``TrainConfig.compile``: torch.compile of the network for training, or eager when it cannot run.

Compiling changes speed, not numbers (tests/training/test_speed_options.py), so where torch.compile
cannot work (no C++ compiler for Inductor on the CPU, no Triton on a GPU) training
falls back to eager execution with one warning line on stderr instead of refusing:
a study or a final retrain then gives the same results, only slower.

Recompiles: the compiled graph depends on T (a Python constant of the network) and on
the batch size.  The batch dimension is compiled static (``dynamic=False``): with a
symbolic batch size Inductor fails on this network's channels-last convolutions
("cannot determine truth value of Relational", torch 2.14.1), and torch's automatic
dynamic shapes would try exactly that at the second batch size.  So each process
compiles once per (T, batch size); the smaller last batch of an epoch runs through the
eager network (search.training._engine), which saves a second compile of 25 to 40 s per trial on
this CPU for one batch in hundreds.  The recompile limit is raised so a study that
visits many values never makes dynamo give up and run eager.  Evaluation stays eager: it runs once per epoch under
``no_grad`` with monitors attached, and compiling it would add a graph per mode.
"""

from __future__ import annotations

import functools
import sys

import torch
from torch import nn

from models.compile_support import compile_unavailable, prepare_inductor

# Each (T, batch size) in a process compiles once; keep dynamo
# from giving up (and silently running eager) in a long study that visits many of them.
RECOMPILE_LIMIT = 64


@functools.cache
def _warn_once(reason: str) -> None:
    print(f"warning: --compile ignored, training runs eager: {reason}", file=sys.stderr)


def compile_network(net: nn.Module, device: torch.device) -> nn.Module:
    """``torch.compile(net)`` for training, or ``net`` itself (with one warning) where that cannot run.

    The returned module shares ``net``'s parameters and buffers; keep using ``net`` for
    evaluation, saving and ``functional.reset_net``.
    """
    reason = compile_unavailable(device.type)
    if reason is not None:
        _warn_once(reason)
        return net
    prepare_inductor(RECOMPILE_LIMIT)
    compiled: nn.Module = torch.compile(net, dynamic=False)  # type: ignore[assignment]  # an OptimizedModule
    return compiled
