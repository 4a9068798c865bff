"""Spiking networks for Fashion-MNIST, built from a typed config (no training code here).

``NetworkConfig`` and the names of its choices load without torch; the network itself
(``SpikingCNN``, ``build_network``, ``parameter_count``, ``SURROGATES`` ...) loads torch and
SpikingJelly on first use, so that a command's ``--help`` answers at once.
"""

from __future__ import annotations

from typing import Any

from models.config import ENCODINGS, FRONT_ENDS, NEURONS, READOUTS, SURROGATE_ALPHA, SURROGATE_NAMES, NetworkConfig

_NETWORK = ("SURROGATES", "SPIKING_NEURONS", "SpikingCNN", "build_network", "parameter_count")


def __getattr__(name: str) -> Any:
    if name in _NETWORK:
        from models import snn

        return getattr(snn, name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")


__all__ = [
    "ENCODINGS",
    "FRONT_ENDS",
    "NEURONS",
    "READOUTS",
    "SURROGATE_ALPHA",
    "SURROGATE_NAMES",
    "NetworkConfig",
    *_NETWORK,
]
