"""TrainConfig: every setting of one training run, typed, frozen and JSON-serialisable.

The same object flows from the command line (``search.train``) or the search space
(``search.tuning._space``) into the trainer (``search.training._engine``), and is stored as JSON in each
trial so the final retrain rebuilds it exactly.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from models import NetworkConfig

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "nadam", "adagrad")
SCHEDULES = ("none", "cosine", "warm_restarts", "step", "exponential", "onecycle", "plateau")
# The strategies' names; what each one fixes is in search/training/_strategies.py.
STRATEGY_NAMES = ("baseline", "dropout", "batchnorm", "lr_annealing", "lr_scheduler", "adam_plateau", "sgd", "combined")
DEFAULT_EPOCHS = 10
# Training-batch augmentation policies (search/training/_augment.py applies them).
AUGMENTATIONS = ("none", "flip", "crop_flip", "crop_flip_erase")
# Test-time augmentation of validation and test images (search.training._engine.evaluate): "flip" averages
# each image's class scores with its mirror image's, at twice the inference cost.
TEST_TIME_AUGMENTATIONS = ("none", "flip")
# The precision a run trains and evaluates in (search/training/_precision.py applies it): float32, or
# bfloat16 autocast of the convolutions and matrix products. PRECISION_POLICIES adds "auto" (the
# device's fast one), which every command resolves before it builds a TrainConfig.
PRECISIONS = ("fp32", "bf16")
PRECISION_POLICIES = ("auto", *PRECISIONS)
PRECISION_NAMES = {"fp32": "float32", "bf16": "bfloat16"}


def check_policy(policy: str) -> None:
    if policy not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {policy!r}; valid: {', '.join(AUGMENTATIONS)}")


@dataclass(frozen=True)
class TrainConfig:
    """One training recipe: strategy label, optimiser, schedule, budget and network."""

    strategy: str = "baseline"
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9  # SGD and RMSprop
    weight_decay: float = 0.0
    schedule: str = "none"
    min_lr: float = 0.0  # floor of cosine, warm restarts and plateau
    step_size: int = 10  # step decay: epochs between decays
    gamma: float = 0.1  # step decay factor; per-epoch factor of exponential decay
    restart_period: int = 5  # warm restarts: epochs in the first cycle
    restart_mult: int = 1  # warm restarts: cycle length multiplier
    plateau_patience: int = 3
    plateau_factor: float = 0.1
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 128
    seed: int = 0
    precision: str = "fp32"  # PRECISIONS: "bf16" autocasts convolutions and matrix products to bfloat16
    augment: str = "none"  # training-batch augmentation policy (search.training._augment.AUGMENTATIONS)
    label_smoothing: float = 0.0  # of the training loss only; evaluation loss is plain cross-entropy
    tta: str = "none"  # test-time augmentation of validation and test (TEST_TIME_AUGMENTATIONS)
    compile: bool = False  # torch.compile the network for training (see docs/performance.md)
    network: NetworkConfig = field(default_factory=NetworkConfig)

    def __post_init__(self) -> None:
        check_policy(self.augment)
        checks = [
            (
                self.strategy in STRATEGY_NAMES,
                f"unknown strategy {self.strategy!r}; valid: {', '.join(STRATEGY_NAMES)}",
            ),
            (self.optimizer in OPTIMIZERS, f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}"),
            (self.schedule in SCHEDULES, f"unknown schedule {self.schedule!r}; valid: {', '.join(SCHEDULES)}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 2, f"batch_size must be >= 2, got {self.batch_size}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (self.step_size >= 1, f"step_size must be >= 1, got {self.step_size}"),
            (0 < self.gamma <= 1, f"gamma must be in (0, 1], got {self.gamma}"),
            (self.restart_period >= 1, f"restart_period must be >= 1, got {self.restart_period}"),
            (self.restart_mult >= 1, f"restart_mult must be >= 1, got {self.restart_mult}"),
            (self.plateau_patience >= 0, f"plateau_patience must be >= 0, got {self.plateau_patience}"),
            (0 < self.plateau_factor < 1, f"plateau_factor must be in (0, 1), got {self.plateau_factor}"),
            (self.min_lr >= 0, f"min_lr must be >= 0, got {self.min_lr}"),
            (0 <= self.label_smoothing < 1, f"label_smoothing must be in [0, 1), got {self.label_smoothing}"),
            (
                self.precision in PRECISIONS,
                f"unknown precision {self.precision!r}; valid: {', '.join(PRECISIONS)}",
            ),
            (
                self.tta in TEST_TIME_AUGMENTATIONS,
                f"unknown test-time augmentation {self.tta!r}; valid: {', '.join(TEST_TIME_AUGMENTATIONS)}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with top-level or network fields changed (network fields by their own names)."""
        net_fields = {f.name for f in dataclasses.fields(NetworkConfig)}
        net_changes = {k: v for k, v in changes.items() if k in net_fields}
        top = {k: v for k, v in changes.items() if k not in net_fields}
        unknown = set(top) - {f.name for f in dataclasses.fields(TrainConfig)}
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        if net_changes:
            top["network"] = dataclasses.replace(self.network, **net_changes)
        return dataclasses.replace(self, **top)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        # Records made before the precision policy hold ``amp`` (bfloat16 autocast on CUDA, which no
        # stored record had on): they trained in float32 unless amp was on.
        amp = data.pop("amp", False)
        data.setdefault("precision", "bf16" if amp else "fp32")
        network = NetworkConfig(**data.pop("network", {}))
        return cls(network=network, **data)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.from_dict(json.loads(text))
