"""Spiking networks for Fashion-MNIST, built from a typed config (no training code here)."""

from models.snn import (
    ENCODINGS,
    FRONT_ENDS,
    READOUTS,
    SURROGATES,
    NetworkConfig,
    SpikingCNN,
    build_network,
)

__all__ = [
    "ENCODINGS",
    "FRONT_ENDS",
    "READOUTS",
    "SURROGATES",
    "NetworkConfig",
    "SpikingCNN",
    "build_network",
]
