"""Spiking networks for Fashion-MNIST, built from a typed config (no training code here).

``NetworkConfig`` and the names of its choices load without torch; the network itself
(``SpikingCNN``, ``build_network``, ``SURROGATES``) loads torch and SpikingJelly on
first use, so that a command's ``--help`` answers at once.
"""

from __future__ import annotations

from typing import Any

from models.config import ENCODINGS, FRONT_ENDS, READOUTS, SURROGATE_NAMES, NetworkConfig

_NETWORK = ("SURROGATES", "SpikingCNN", "build_network")


def __getattr__(name: str) -> Any:
    if name in _NETWORK:
        from models import snn

        return getattr(snn, name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")


__all__ = [
    "ENCODINGS",
    "FRONT_ENDS",
    "READOUTS",
    "SURROGATES",
    "SURROGATE_NAMES",
    "NetworkConfig",
    "SpikingCNN",
    "build_network",
]
