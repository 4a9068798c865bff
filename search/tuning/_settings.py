"""What defines a study (:class:`StudySettings`) and what a command asked for (:class:`StudyRequest`).

Both are plain data, free of Optuna and torch: ``--help`` and the resume check read them
without loading either.  A study stores its settings in the user attribute ``settings``
when it is created; a resume compares the request with them (:meth:`StudyRequest.resolve`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from search.errors import UsageError
from search.training import DEFAULT_EPOCHS, PRECISIONS, STRATEGY_NAMES
from search.tuning._space_bounds import ADDED_IN_GENERATION, SPACE_GENERATION, parse_fixed

PRUNERS = ("hyperband", "median", "sha", "none")
SAMPLERS = ("tpe", "gp", "cmaes", "random", "qmc")
SPACES = ("default", "full")
DEFAULT_PRUNER = "hyperband"
DEFAULT_SAMPLER = "tpe"
OBJECTIVE_NAME = "validation accuracy"
# The unit of a two-objective study's energy objective, as stored in its settings ("energy_unit").
# Studies of settings format 1 and 2 stored picojoules; from format 3 it is microjoules, the unit
# every command prints, so that optuna-dashboard's Pareto plot and trial table read the same figures.
ENERGY_UNITS = {"pJ": 1.0, "uJ": 1e6}  # picojoules per unit
NEW_ENERGY_UNIT = "uJ"
# What a study optimises: validation accuracy alone, or accuracy and energy (a Pareto search).
ACCURACY = "accuracy"
ACCURACY_ENERGY = "accuracy,energy"
OBJECTIVE_PARTS = ("accuracy", "energy")
SETTINGS_ATTR = "settings"  # study user attribute: StudySettings.to_dict()
# The version of StudySettings.to_dict()'s layout, stored with it ("format"); studies made before
# the key existed are format 1.  A newer format, or a key or value this code does not know, is
# refused in one line (UnreadableSettings) instead of being half understood.
SETTINGS_FORMAT = 3  # 3: the energy objective in microjoules (energy_unit)
DATA_ATTR = "data"  # study user attribute: TrainVal.describe()


# The first rung of a new study, as a share of its epochs (docs/search.md#the-default-study): 16
# configurations of the default space trained 10 epochs unpruned (2026-12-04) rank as epoch 10 with
# Kendall tau 0.47 [0.13, 0.71] at epoch 5 and 0.62 [0.33, 0.80] at epoch 7; the headline search
# (0.50 and 0.60) and its 30-epoch retrain (0.29 and 0.51) agree. 0.5 before 2026-12-04.
FIRST_RUNG_SHARE = 0.7


def default_min_resource(epochs: int) -> int:
    """The first epoch a new study's pruner may stop a trial at, unless --min-resource says otherwise.

    ``FIRST_RUNG_SHARE`` of the epochs, rounded up, and at most the last but one: a rung at the
    last epoch would prune nothing, so a short study (3 epochs: epoch 2) still prunes.
    """
    return max(1, min(math.ceil(epochs * FIRST_RUNG_SHARE), epochs - 1))


class UnreadableSettings(ValueError):
    """Stored settings this version of snn-search cannot read: a newer format, or keys or values it does not know."""


@dataclass(frozen=True)
class SpaceSettings:
    """What a study searches over; stored with the study so a resume searches the same space."""

    strategies: tuple[str, ...] = STRATEGY_NAMES
    space: str = "default"  # "full" adds front end, encoding, readout, threshold, detach_reset
    epochs: int = DEFAULT_EPOCHS
    # (Optuna parameter name, value) pairs that every trial drawing them gets (search.run --fix).
    fixed: tuple[tuple[str, Any], ...] = ()
    generation: int = SPACE_GENERATION  # of the space the study was created with (_space_bounds.py)

    def __post_init__(self) -> None:
        unknown = [s for s in self.strategies if s not in STRATEGY_NAMES]
        if unknown or not self.strategies:
            raise ValueError(
                f"unknown strategy {', '.join(unknown) or '(none given)'}; valid: {', '.join(STRATEGY_NAMES)}"
            )
        if self.space not in SPACES:
            raise ValueError(f"unknown space {self.space!r}; valid: {', '.join(SPACES)}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if not 1 <= self.generation <= SPACE_GENERATION:
            raise ValueError(
                f"its space is of generation {self.generation}; this snn-search knows generations 1 to "
                f"{SPACE_GENERATION}: update this checkout"
            )

    @property
    def not_searched(self) -> tuple[str, ...]:
        """The dimensions later generations of the space added: this study does not draw them."""
        return tuple(d for gen, dims in ADDED_IN_GENERATION.items() if gen > self.generation for d in dims)

    def searches(self, name: str) -> bool:
        return name not in self.not_searched


@dataclass(frozen=True)
class StudySettings:
    """What defines a study; stored in its user attribute ``settings`` when it is created."""

    space: SpaceSettings
    train_size: int | None = None
    pruner: str = DEFAULT_PRUNER
    sampler: str = DEFAULT_SAMPLER
    seed: int | None = None
    thesis: bool = True
    # The earliest epoch a trial can be pruned at (Hyperband's and successive halving's
    # min_resource, the median pruner's n_warmup_steps); absent in studies made before it: 1.
    min_resource: int = 1
    val_size: int | None = None  # validation images (None: the whole 10,000)
    objective: str = ACCURACY  # or ACCURACY_ENERGY: maximise accuracy, minimise energy per image
    max_energy_pj: float | None = None  # energy budget per image: a constrained single-objective study
    energy_unit: str = "pJ"  # of the energy objective (ENERGY_UNITS); absent before format 3, which stored pJ
    # What every trial trains in (TrainConfig.precision, --precision): studies made before the policy
    # trained in float32 on the CPU, where every one of them ran.
    precision: str = "fp32"

    @property
    def energy_name(self) -> str:
        """The energy objective's metric name, with the unit its values are stored in."""
        return f"compute energy per image ({'µJ' if self.energy_unit == 'uJ' else self.energy_unit})"

    def energy_objective(self, picojoules: float) -> float:
        """A trial's energy per image as this study's second objective stores it."""
        return picojoules / ENERGY_UNITS[self.energy_unit]

    @property
    def pruner_text(self) -> str:
        """The pruner's name, with its first epoch when that is not the first: ``hyperband from epoch 3``."""
        if self.min_resource == 1 or self.pruner == "none":
            return self.pruner
        return f"{self.pruner} from epoch {self.min_resource}"

    @property
    def multi_objective(self) -> bool:
        return self.objective == ACCURACY_ENERGY

    @property
    def measures_energy_each_epoch(self) -> bool:
        """A constrained study records the cost of a trial pruned mid-way, so the sampler sees it."""
        return self.max_energy_pj is not None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["space"]["strategies"] = list(self.space.strategies)
        d["space"]["fixed"] = [list(pair) for pair in self.space.fixed]
        return {"format": SETTINGS_FORMAT, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudySettings:
        """The settings as stored; :class:`UnreadableSettings` naming what this version does not understand."""
        d = dict(d)
        version = d.pop("format", 1)
        if not isinstance(version, int) or version > SETTINGS_FORMAT:
            raise UnreadableSettings(
                f"its settings are in format {version!r}, written by a newer snn-search (this one reads up to "
                f"format {SETTINGS_FORMAT}): update this checkout"
            )
        space = dict(d.pop("space", None) or {})
        unknown = [k for k in d if k not in _FIELDS] + [f"space.{k}" for k in space if k not in _SPACE_FIELDS]
        if unknown:
            raise UnreadableSettings(
                f"its settings hold {', '.join(unknown)}, which this snn-search does not know (a newer version "
                "wrote them): update this checkout"
            )
        generation = space.get("generation", 1)
        if isinstance(generation, int) and generation > SPACE_GENERATION:
            raise UnreadableSettings(
                f"its space is of generation {generation}, newer than this snn-search knows ({SPACE_GENERATION}): "
                "update this checkout"
            )
        fixed = tuple(tuple(pair) for pair in space.get("fixed", ()))  # absent in studies made before --fix
        try:
            space_settings = SpaceSettings(**{**space, "strategies": tuple(space["strategies"]), "fixed": fixed})
            settings = cls(space=space_settings, **d)
        except (KeyError, TypeError, ValueError) as error:
            raise UnreadableSettings(f"its settings cannot be read: {error}") from None
        for name, value, valid in (
            ("objective", settings.objective, (ACCURACY, ACCURACY_ENERGY)),
            ("pruner", settings.pruner, PRUNERS),
            ("sampler", settings.sampler, SAMPLERS),
            ("energy unit", settings.energy_unit, tuple(ENERGY_UNITS)),
            ("precision", settings.precision, PRECISIONS),
        ):
            if value not in valid:
                raise UnreadableSettings(
                    f"its settings name the {name} {value!r}, which this snn-search does not know "
                    f"(valid: {', '.join(valid)}): update this checkout"
                )
        return settings


@dataclass(frozen=True)
class StudyRequest:
    """The study-defining and runtime choices a command was given; None means "not given"."""

    epochs: int | None = None
    train_size: int | None = None
    strategies: tuple[str, ...] | None = None
    space: str | None = None
    val_size: int | None = None
    thesis: bool | None = None
    pruner: str | None = None
    min_resource: int | None = None
    sampler: str | None = None
    seed: int | None = None
    objective: str | None = None
    max_energy_pj: float | None = None
    fixed: tuple[tuple[str, str], ...] | None = None  # --fix NAME=VALUE as given, parsed by new_settings
    precision: str | None = None  # --precision bf16 or fp32 (None: auto)
    # What auto takes for a new study on this run's device (search.training.choose_precision); a study
    # that exists keeps its own, so that every worker, on whatever machine, trains as the study does.
    device_precision: str = "fp32"

    def new_settings(self) -> StudySettings:
        """The settings of a study created from this request (defaults where nothing was given)."""
        try:
            space_name, epochs = self.space or "default", self.epochs or DEFAULT_EPOCHS
            space = SpaceSettings(
                strategies=self.strategies or STRATEGY_NAMES,
                space=space_name,
                epochs=epochs,
                fixed=parse_fixed(self.fixed or (), space_name, epochs, self.strategies or STRATEGY_NAMES),
            )
        except ValueError as error:
            raise UsageError(str(error)) from None
        objective = self.objective or ACCURACY
        if objective == ACCURACY_ENERGY and (self.sampler or DEFAULT_SAMPLER) == "cmaes":
            raise UsageError(
                "--sampler cmaes has no multi-objective mode; use tpe (the default) or random "
                "with --objective accuracy,energy"
            )
        if objective == ACCURACY_ENERGY and self.max_energy_pj is not None:
            raise UsageError(
                "--max-energy bounds a single-objective study; with --objective accuracy,energy "
                "the energy is an objective already (drop one of the two)"
            )
        return self._checked(
            StudySettings(
                space=space,
                train_size=self.train_size,
                pruner=self.pruner or DEFAULT_PRUNER,
                sampler=self.sampler or DEFAULT_SAMPLER,
                seed=self.seed,
                thesis=True if self.thesis is None else self.thesis,
                val_size=self.val_size,
                objective=objective,
                max_energy_pj=self.max_energy_pj,
                min_resource=self.min_resource or self._default_min_resource(epochs, objective),
                energy_unit=NEW_ENERGY_UNIT,
                precision=self.precision or self.device_precision,
            )
        )

    def _default_min_resource(self, epochs: int, objective: str) -> int:
        """The default first rung where something is pruned; 1 (the stored value meaning none) where nothing is."""
        prunes = (self.pruner or DEFAULT_PRUNER) != "none" and objective != ACCURACY_ENERGY
        return default_min_resource(epochs) if prunes else 1

    def check(self) -> None:
        """Refuse what is wrong with this request whatever study it meets.

        --fix and --min-resource are left out: a resumed study checks them against its own
        space and epochs, which need not be the defaults (:meth:`resolve`).
        """
        replace(self, fixed=None, min_resource=None).new_settings()

    def resolve(self, study_name: str, stored: StudySettings) -> StudySettings:
        """The stored settings with this request's runtime choices; a conflicting study-defining choice is an error."""
        self.check()
        given = {
            "--epochs": (self.epochs, stored.space.epochs, stored.space.epochs),
            "--train-size": (self.train_size, stored.train_size, stored.train_size or "all"),
            "--strategies": (self.strategies, stored.space.strategies, ",".join(stored.space.strategies)),
            "--space": (self.space, stored.space.space, stored.space.space),
            "--val-size": (self.val_size, stored.val_size, stored.val_size or "all"),
            "--objective": (self.objective, stored.objective, stored.objective),
            "--max-energy": (self.max_energy_pj, stored.max_energy_pj, energy_budget_text(stored.max_energy_pj)),
            "--fix": (
                self._fixed_as_stored(stored.space),
                dict(stored.space.fixed),
                fixed_text(stored.space) or "none",
            ),
            # Optuna keeps a trial's rungs by number, not by epoch: another first rung would mix them.
            "--min-resource": (self.min_resource, stored.min_resource, stored.min_resource),
            # float32 and bfloat16 trials rank differently by a few hundredths: one study, one precision.
            "--precision": (self.precision, stored.precision, stored.precision),
        }
        conflicts = [
            f"{flag} {shown}" for flag, (asked, have, shown) in given.items() if asked is not None and asked != have
        ]
        if conflicts:
            raise UsageError(
                f"study {study_name!r} was created with {', '.join(conflicts)}; "
                "resume it with those values or start another with --study NAME"
            )
        return self._checked(
            StudySettings(
                space=stored.space,
                train_size=stored.train_size,
                thesis=stored.thesis,
                pruner=self.pruner or stored.pruner,
                sampler=self.sampler or stored.sampler,
                seed=stored.seed if self.seed is None else self.seed,
                val_size=stored.val_size,
                objective=stored.objective,
                max_energy_pj=stored.max_energy_pj,
                min_resource=stored.min_resource,
                energy_unit=stored.energy_unit,
                precision=stored.precision,
            )
        )

    def _checked(self, settings: StudySettings) -> StudySettings:
        """``settings``, unless this request's --min-resource cannot apply to them."""
        if self.min_resource is None:
            return settings
        what = "--min-resource sets the first epoch a trial can be pruned at"
        if settings.multi_objective:
            raise UsageError(f"{what}; Optuna prunes no trial of a two-objective study (--objective accuracy,energy)")
        if settings.pruner == "none":
            if self.pruner is None:  # the stored study's pruner
                raise UsageError(
                    f"{what}; this study prunes no trial (--pruner none): add --pruner hyperband, median or sha"
                )
            raise UsageError(f"{what}; --pruner none prunes no trial (drop one of the two)")
        if settings.min_resource >= settings.space.epochs:
            epochs = settings.space.epochs
            raise UsageError(
                f"--min-resource {settings.min_resource} is not below the study's "
                f"{epochs} epoch{'s' if epochs != 1 else ''} per trial: a trial could be pruned "
                "only after its last epoch (--pruner none prunes none)"
            )
        return settings

    def _fixed_as_stored(self, stored: SpaceSettings) -> dict[str, Any] | None:
        """This request's --fix values, parsed for the stored study's space and budget (None: not given)."""
        if self.fixed is None:
            return None
        try:
            return dict(parse_fixed(self.fixed, stored.space, stored.epochs, stored.strategies))
        except ValueError as error:
            raise UsageError(str(error)) from None


def energy_budget_text(picojoules: float | None) -> str:
    """A --max-energy budget as the flag takes it: ``20uJ`` (``none`` for no budget)."""
    return "none" if picojoules is None else f"{picojoules / 1e6:.12g}uJ"


def fixed_text(space: SpaceSettings) -> str:
    """``name=value, ...`` of a space's fixed parameters ('' for none)."""
    return ", ".join(f"{name}={value}" for name, value in space.fixed)


def parse_objective(text: str) -> str:
    """``accuracy`` or ``accuracy,energy`` (in either order); a ValueError naming what is wrong."""
    parts = [p.strip() for p in text.split(",")]
    for part in parts:
        if part not in OBJECTIVE_PARTS:
            raise ValueError(f"unknown objective {part!r}; valid: accuracy, or accuracy,energy")
    for part in set(parts):
        if parts.count(part) > 1:
            raise ValueError(f"objective {part!r} is given twice")
    if "accuracy" not in parts:
        raise ValueError("the objective must include accuracy: accuracy, or accuracy,energy")
    return ACCURACY_ENERGY if "energy" in parts else ACCURACY


_FIELDS = frozenset(f.name for f in fields(StudySettings))
_SPACE_FIELDS = frozenset(f.name for f in fields(SpaceSettings))
