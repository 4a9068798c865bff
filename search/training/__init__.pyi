"""Public surface of ``search.training``, loaded lazily (see ``__init__.py``)."""

from ._benchmark import BenchOptions, bench_one, bench_profile, bench_sweep
from ._config import (
    AUGMENTATIONS,
    DEFAULT_EPOCHS,
    OPTIMIZERS,
    PRECISION_NAMES,
    PRECISION_POLICIES,
    PRECISIONS,
    SCHEDULES,
    STRATEGY_NAMES,
    TEST_TIME_AUGMENTATIONS,
    TrainConfig,
)
from ._data import ImageSet, TrainVal, load_full_train, load_test_set, load_train_val
from ._device import DEVICE_CHOICES, NEURON_BACKENDS, check_device_name, resolve_device
from ._energy import ENERGY_ATTR, EnergyCost, energy_sample, measure_energy, measure_prediction_energy
from ._engine import EpochStats, confusion_counts, evaluate, per_class_accuracy, train
from ._kernels import apply_neuron_backend, neuron_backend_in_use
from ._precision import PrecisionChoice, autocast, choose_precision, native_bf16
from ._silence import silent_reason, steps_taken
from ._sizes import CLASS_COUNT, EXPECTED_SIZE, SEARCH_TRAIN_SIZE, VALIDATION_SIZE
from ._strategies import (
    STRATEGIES,
    THESIS_BASELINE_TEST,
    THESIS_BATCH,
    THESIS_BEST_TEST,
    THESIS_EPOCHS,
    THESIS_PRESETS,
    strategy_config,
    stretch_schedule,
    thesis_preset,
)

__all__ = [
    "CLASS_COUNT",
    "EXPECTED_SIZE",
    "SEARCH_TRAIN_SIZE",
    "AUGMENTATIONS",
    "BenchOptions",
    "DEFAULT_EPOCHS",
    "DEVICE_CHOICES",
    "ENERGY_ATTR",
    "EnergyCost",
    "EpochStats",
    "ImageSet",
    "NEURON_BACKENDS",
    "OPTIMIZERS",
    "PRECISION_NAMES",
    "PRECISION_POLICIES",
    "PRECISIONS",
    "PrecisionChoice",
    "SCHEDULES",
    "STRATEGIES",
    "STRATEGY_NAMES",
    "TEST_TIME_AUGMENTATIONS",
    "THESIS_BASELINE_TEST",
    "THESIS_BATCH",
    "THESIS_BEST_TEST",
    "THESIS_EPOCHS",
    "THESIS_PRESETS",
    "TrainConfig",
    "TrainVal",
    "VALIDATION_SIZE",
    "apply_neuron_backend",
    "autocast",
    "choose_precision",
    "bench_one",
    "bench_profile",
    "bench_sweep",
    "check_device_name",
    "confusion_counts",
    "energy_sample",
    "evaluate",
    "load_full_train",
    "load_test_set",
    "load_train_val",
    "measure_energy",
    "measure_prediction_energy",
    "native_bf16",
    "neuron_backend_in_use",
    "per_class_accuracy",
    "resolve_device",
    "silent_reason",
    "steps_taken",
    "strategy_config",
    "stretch_schedule",
    "thesis_preset",
    "train",
]
