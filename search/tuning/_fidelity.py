"""Does a cheap fidelity rank configurations as the full budget does?  Rank agreement on recorded curves.

A pruner stops a trial at an early epoch (a *rung*) because it ranks low there; that is only
sound where the ranking at the rung predicts the ranking at the end.  Nothing in Optuna checks
this (PASHA, in Syne Tune, grows the budget when the top rungs disagree).  Here it is measured
from what a study already records, with no training:

- :func:`epoch_agreement`: each epoch's validation accuracy against the last epoch's, over the
  trials that ran every epoch;
- :func:`study_agreement`: two studies of the same space at different budgets (``--train-size``,
  ``--epochs``), over the configurations both trained (matched by their drawn parameters,
  as ``search.run --start-from`` queues them).

The statistic is Kendall's tau-b (SciPy), whose interval uses Fisher's z with the variance
0.437 / (n - 4) of Fieller, Hartley and Pearson (1957): it needs no resampling and five
configurations or more.  A rung whose tau is below :data:`WEAK_TAU` is said to barely predict
the end.  Survivors of a pruned study are the trials a rung already kept, so their agreement
understates the rung's (a restricted range): measure it on a study searched with ``--pruner none``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import optuna
from scipy import stats

from search.formatting import format_table, plural
from search.tuning._settings import StudySettings

# Below this, a rung's ranking says little about the end's: the warning's threshold.
WEAK_TAU = 0.5
# Below this many configurations there is no interval (Fieller's variance needs n > 4) and no verdict.
MIN_CONFIGS = 5
_Z95 = 1.959963984540054
_FIELLER_VARIANCE = 0.437
COMPLETE = optuna.trial.TrialState.COMPLETE


@dataclass(frozen=True)
class Agreement:
    """Kendall's tau-b between a cheap ranking (``low``) and the one it should predict (``high``)."""

    low: str
    high: str
    n: int
    tau: float  # nan where either ranking has no spread
    lower: float
    upper: float
    p_value: float
    rung: bool = False  # the study's pruner can stop trials at ``low``

    @property
    def weak(self) -> bool:
        return not math.isnan(self.tau) and self.tau < WEAK_TAU

    @property
    def verdict(self) -> str:
        if math.isnan(self.tau):
            return "no spread"
        if self.n < MIN_CONFIGS:
            return f"too few to say (needs {MIN_CONFIGS})"
        if self.tau >= 0.7:
            return "ranks as the end"
        if self.tau >= WEAK_TAU:
            return "roughly"
        return "barely predicts"

    def interval_text(self) -> str:
        if not math.isnan(self.lower):
            return f"[{self.lower:.2f}, {self.upper:.2f}]"
        return f"needs {MIN_CONFIGS}" if not math.isnan(self.tau) else "n/a"

    def to_dict(self) -> dict[str, object]:
        return {
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "tau": None if math.isnan(self.tau) else self.tau,
            "ci95": None if math.isnan(self.lower) else [self.lower, self.upper],
            "p_value": None if math.isnan(self.p_value) else self.p_value,
            "rung": self.rung,
        }


def kendall(low: Sequence[float], high: Sequence[float], low_label: str, high_label: str) -> Agreement:
    """Kendall's tau-b of two paired rankings, with a 95% interval; nan where it is undefined."""
    if len(low) != len(high):
        raise ValueError(f"{len(low)} values against {len(high)}: the rankings must pair up")
    n = len(low)
    nan = float("nan")
    if n < 2 or len(set(low)) < 2 or len(set(high)) < 2:
        return Agreement(low_label, high_label, n, nan, nan, nan, nan)
    result = stats.kendalltau(low, high)
    tau, p = float(result.statistic), float(result.pvalue)
    if n < MIN_CONFIGS:
        return Agreement(low_label, high_label, n, tau, nan, nan, p)
    z = math.atanh(max(-0.9999, min(0.9999, tau)))
    half = _Z95 * math.sqrt(_FIELLER_VARIANCE / (n - 4))
    return Agreement(low_label, high_label, n, tau, math.tanh(z - half), math.tanh(z + half), p)


def trials_run_through(study: optuna.Study) -> tuple[list[optuna.trial.FrozenTrial], int]:
    """The complete trials that reported every epoch of the study's longest curve, and that epoch count."""
    complete = study.get_trials(deepcopy=False, states=(COMPLETE,))
    epochs = max((len(t.intermediate_values) for t in complete), default=0)
    return [t for t in complete if epochs and set(t.intermediate_values) == set(range(1, epochs + 1))], epochs


def epoch_ranking_problem(study: optuna.Study) -> str | None:
    """Why the study's epochs give nothing to rank against its last epoch, in words (None: they do)."""
    complete = study.get_trials(deepcopy=False, states=(COMPLETE,))
    if not complete:
        return "no trial has completed yet"
    if len(study.directions) > 1:
        return (
            "it has two objectives, and Optuna records no per-epoch values for such a study "
            "(it prunes none of its trials), so there is no epoch to rank"
        )
    trials, epochs = trials_run_through(study)
    if epochs == 0:
        return f"its {plural(len(complete), 'complete trial')} recorded no per-epoch values"
    if epochs == 1:
        return (
            f"its trials ran 1 epoch ({len(trials)} of {len(complete)} complete ones): "
            "there is no earlier epoch to rank against the last"
        )
    if len(trials) < 2:
        return f"{plural(len(trials), 'complete trial')} ran all {epochs} epochs: a ranking needs two"
    return None


def pruning_epochs(settings: StudySettings | None, epochs: int) -> set[int]:
    """The epochs before the last at which the study's pruner may stop a trial (its rungs)."""
    if settings is None or settings.pruner == "none" or settings.multi_objective:
        return set()
    first = settings.min_resource
    if settings.pruner == "median":
        return set(range(first, epochs))
    rungs, epoch = set(), first  # Hyperband and successive halving, reduction factor 3 (make_pruner)
    while epoch < epochs:
        rungs.add(epoch)
        epoch *= 3
    return rungs


def epoch_agreement(study: optuna.Study, settings: StudySettings | None = None) -> list[Agreement]:
    """Each epoch's ranking against the last epoch's, over the trials that ran every epoch."""
    trials, epochs = trials_run_through(study)
    rungs = pruning_epochs(settings, epochs)
    last = [t.intermediate_values[epochs] for t in trials]
    return [
        replace(
            kendall([t.intermediate_values[e] for t in trials], last, f"epoch {e}", f"epoch {epochs}"),
            rung=e in rungs,
        )
        for e in range(1, epochs)
    ]


def params_key(trial: optuna.trial.FrozenTrial) -> str:
    """What a configuration drew, as text: equal in two studies of one space for the same configuration."""
    return json.dumps(trial.params, sort_keys=True, default=str)


def study_agreement(low: optuna.Study, high: optuna.Study) -> Agreement:
    """The two studies' validation accuracies over the configurations both completed (matched by parameters)."""
    low_values = {params_key(t): t.values[0] for t in low.get_trials(deepcopy=False, states=(COMPLETE,)) if t.values}
    pairs = [
        (low_values[params_key(t)], t.values[0])
        for t in high.get_trials(deepcopy=False, states=(COMPLETE,))
        if t.values and params_key(t) in low_values
    ]
    return kendall(
        [a for a, _ in pairs], [b for _, b in pairs], f"study {low.study_name!r}", f"study {high.study_name!r}"
    )


def fidelity_warnings(agreements: Sequence[Agreement]) -> list[str]:
    """Plain words for each pruning rung whose ranking barely predicts the end, with what to change."""
    lines = []
    trusted = [a for a in agreements if a.n >= MIN_CONFIGS and not a.weak and not math.isnan(a.tau)]
    for a in agreements:
        if not (a.rung and a.weak and a.n >= MIN_CONFIGS):
            continue
        later = [_epoch(b) for b in trusted if _epoch(b) > _epoch(a)]
        advice = f"raise --min-resource to {later[0]}" if later else "prune later, or not at all (--pruner none)"
        lines.append(
            f"the rung at {a.low} barely predicts {a.high}: Kendall tau {a.tau:.2f} {a.interval_text()} "
            f"over {a.n} trials; {advice}"
        )
    return lines


def _epoch(agreement: Agreement) -> int:
    """The epoch an :func:`epoch_agreement` row ranks at (0 for any other row)."""
    kind, _, number = agreement.low.partition(" ")
    return int(number) if kind == "epoch" and number.isdigit() else 0


def agreement_table(agreements: Sequence[Agreement]) -> str:
    return format_table(
        ["ranking", "predicts", "trials", "Kendall tau", "95% interval", "p", "pruner's rung", ""],
        [
            [
                a.low,
                a.high,
                a.n,
                "n/a" if math.isnan(a.tau) else f"{a.tau:.2f}",
                a.interval_text(),
                "n/a" if math.isnan(a.p_value) else f"{a.p_value:.2g}",
                "yes" if a.rung else "",
                a.verdict,
            ]
            for a in agreements
        ],
    )
