"""Seed statistics of retrains: mean, standard deviation, a 95% interval, and a paired test.

SciPy does the distributions: Student's t for the interval of a mean over few seeds, and
``scipy.stats.ttest_rel`` for the difference of two configurations retrained with the same
seeds (paired: seed k of both runs shares its initialisation seed and data order).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

CONFIDENCE = 0.95
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Summary:
    """Mean of several seeds; std and interval are None for one seed (never a fake 0)."""

    n: int
    mean: float
    std: float | None
    low: float | None  # 95% interval of the mean (Student's t)
    high: float | None


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("no values to summarise")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Summary(len(values), mean, None, None, None)
    std = statistics.stdev(values)
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1)) * std / math.sqrt(len(values))
    return Summary(len(values), mean, std, mean - half, mean + half)


@dataclass(frozen=True)
class PairedDifference:
    """``values - reference`` over paired seeds: mean difference, its interval and the paired t-test's p."""

    n: int
    mean: float
    low: float | None
    high: float | None
    p_value: float | None

    @property
    def within_noise(self) -> bool | None:
        """True when the difference is not significant at 5% (None: too few seeds to say)."""
        return None if self.p_value is None else not self.p_value < SIGNIFICANCE

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "ci95": [self.low, self.high],
            "p_value": self.p_value,
            "within_noise": self.within_noise,
        }


def paired_difference(values: Sequence[float], reference: Sequence[float]) -> PairedDifference:
    """The paired comparison of two equally long lists of per-seed accuracies (same seeds, same order)."""
    if len(values) != len(reference):
        raise ValueError(f"paired comparison needs the same seeds: {len(values)} against {len(reference)} values")
    diffs = [a - b for a, b in zip(values, reference)]
    summary = summarize(diffs)
    if len(diffs) < 2:
        return PairedDifference(len(diffs), summary.mean, None, None, None)
    if all(d == diffs[0] for d in diffs):
        # No spread: t is undefined (SciPy returns nan); identical runs differ by exactly nothing.
        p = 1.0 if diffs[0] == 0 else 0.0
        return PairedDifference(len(diffs), summary.mean, summary.mean, summary.mean, p)
    p_value = float(stats.ttest_rel(values, reference).pvalue)
    return PairedDifference(len(diffs), summary.mean, summary.low, summary.high, p_value)
