"""What a final retrain produced, as typed records: budget, per-seed runs, the result over seeds.

Free of torch, so the report and the commands' ``--help`` read them without loading it.
``result.json`` is :meth:`RetrainResult.to_dict`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from search.retrain._statistics import PairedDifference, Summary, paired_difference, summarize
from search.store import TrialRecord
from search.training import THESIS_BASELINE_TEST, THESIS_BEST_TEST, THESIS_EPOCHS, TrainConfig

FULL_TRAIN_SIZE = 60_000


def default_epochs(config: TrainConfig, record: TrialRecord) -> int:
    """The trial's epochs when its rate follows a schedule (tuned over that length), else its best epoch."""
    if config.schedule != "none":
        return config.epochs
    return int(record.best_epoch or config.epochs)


@dataclass(frozen=True)
class RetrainBudget:
    """What a retrain trained on: images, epochs, seeds, and the epochs of the trial it repeats."""

    train_size: int
    epochs: int
    seeds: int
    trial_epochs: int
    tta: str = "none"  # test-time augmentation of the test set (TrainConfig.tta)
    precision: str = "fp32"  # TrainConfig.precision; retrains recorded before it trained in float32

    @property
    def reduced(self) -> bool:
        """Fewer than all 60,000 images, or fewer epochs than the trial: not comparable with the thesis."""
        return self.train_size < FULL_TRAIN_SIZE or self.epochs < self.trial_epochs

    @property
    def at_thesis_budget(self) -> bool:
        """All 60,000 images and at least the thesis's 30 epochs, without test-time augmentation: only
        then are the thesis's printed test figures set beside this retrain's (the thesis read one image
        per prediction)."""
        return self.train_size >= FULL_TRAIN_SIZE and self.epochs >= THESIS_EPOCHS and self.tta == "none"

    def describe(self) -> str:
        seeds = f"{self.seeds} seed{'s' if self.seeds != 1 else ''}"
        text = f"{self.train_size:,} training images, {self.epochs} epoch{'s' if self.epochs != 1 else ''}, {seeds}"
        if self.tta != "none":
            text += f", test-time {self.tta}"
        if self.precision != "fp32":
            text += ", bfloat16"
        return text + (" (reduced retrain)" if self.reduced else "")

    def folder_name(self, trial: int) -> str:
        tta = "" if self.tta == "none" else f"-tta-{self.tta}"
        precision = "" if self.precision == "fp32" else f"-{self.precision}"  # float32's names as before
        return f"trial-{trial}-{self.epochs}ep-{self.train_size}img{tta}{precision}"


@dataclass(frozen=True)
class RetrainRun:
    """One seed of a retrain: its test figures (read once), learning curve and times."""

    seed: int
    test_accuracy: float
    test_loss: float
    per_class_accuracy: dict[str, float]
    confusion_matrix: list[list[int]]
    train_seconds: float
    test_seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    energy: dict[str, Any] | None = None  # EnergyCost.to_dict() on the first test images (search/training/_energy.py)
    # With test-time augmentation: the same network's test accuracy without it (read in the same pass).
    test_accuracy_plain: float | None = None
    # Set where the network was trained by another retrain of the same configuration that differs only
    # in how it is read (tta): that retrain's folder name.  Its curve and training time are copied.
    weights_from: str | None = None
    # Set where this seed's record was read from an earlier retrain of the same network (search.final
    # --reuse; search.retrain._reuse): that retrain's folder.  Neither trained nor tested again here.
    reused_from: str | None = None
    # With reused_from: the test reads that folder had counted before its figure (its result's
    # test_reads_before; None where unknown, or recorded before this field existed).
    reused_reads_before: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RetrainRun:
        return cls(**d)


@dataclass(frozen=True)
class RetrainResult:
    """A retrained trial over its seeds: what result.json holds and the report reads."""

    study: str
    storage: str
    trial: int
    strategy: str
    thesis_preset: str | None
    validation_accuracy: float | None
    config: dict[str, Any]
    budget: RetrainBudget
    runs: list[RetrainRun]
    device: str
    versions: dict[str, str]
    thesis: dict[str, float] = field(
        default_factory=lambda: {"baseline_test": THESIS_BASELINE_TEST, "best_test": THESIS_BEST_TEST}
    )
    # How many test reads of this trial's configuration other retrain folders of the study held when
    # this folder's first seed was read (search.retrain._test_reads); None in results recorded before.
    test_reads_before: int | None = None

    @property
    def accuracies(self) -> list[float]:
        return [r.test_accuracy for r in self.runs]

    @property
    def summary(self) -> Summary:
        return summarize(self.accuracies)

    @property
    def plain_accuracies(self) -> list[float] | None:
        """Each seed's test accuracy without test-time augmentation; None when the retrain used none."""
        plain = [r.test_accuracy_plain for r in self.runs]
        return None if any(a is None for a in plain) else plain  # type: ignore[return-value]

    @property
    def tta_gain(self) -> PairedDifference | None:
        """What test-time augmentation added, paired by seed on the same networks; None without it."""
        plain = self.plain_accuracies
        return None if plain is None else paired_difference(self.accuracies, plain)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        s = self.summary
        d.update(
            test_accuracy_mean=s.mean,
            test_accuracy_std=s.std,
            test_accuracy_ci95=[s.low, s.high],
            seeds=[r.seed for r in self.runs],
            reduced=self.budget.reduced,
        )
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RetrainResult:
        fields = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        fields["budget"] = RetrainBudget(**d["budget"])
        fields["runs"] = [RetrainRun.from_dict(r) for r in d["runs"]]
        return cls(**fields)

    @classmethod
    def load(cls, path: Path) -> RetrainResult | None:
        """The result in ``path``; None when it is missing or not a result of this version."""
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # AttributeError: JSON, not an object
            return None
