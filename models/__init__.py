"""Spiking networks for Fashion-MNIST, built from a typed config (no training code here)."""

from models.snn import (
    ENCODINGS,
    FRONT_ENDS,
    NEURONS,
    READOUTS,
    SPIKING_NEURONS,
    SURROGATE_ALPHA,
    SURROGATES,
    NetworkConfig,
    SpikingCNN,
    build_network,
    parameter_count,
)

__all__ = [
    "ENCODINGS",
    "FRONT_ENDS",
    "NEURONS",
    "READOUTS",
    "SPIKING_NEURONS",
    "SURROGATE_ALPHA",
    "SURROGATES",
    "NetworkConfig",
    "SpikingCNN",
    "build_network",
    "parameter_count",
]
