"""The progress line of search.run: finished trials of the target, the running trial's epoch, time left.

The time left is the mean wall time of the study's finished trials times the trials still
to run (divided among the workers), the way Optuna's own bar shows an estimate; it is
shown once one trial has finished.  The bar is drawn on a terminal only; logs and pipes
(nohup, a scheduler) get the per-trial lines, each ending with the trials finished of the
target and the time left.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import optuna
from tqdm import tqdm

from search.formatting import format_duration
from search.store import TrialRecord


def time_left_s(finished: Sequence[optuna.trial.FrozenTrial], target: int, workers: int = 1) -> float | None:
    """Seconds until ``target`` finished trials, from the mean wall time of the ``finished`` ones."""
    walls = [TrialRecord.of(t).wall_s for t in finished if TrialRecord.of(t).wall_s > 0]
    if not walls:
        return None
    remaining = max(0, target - len(finished))
    return sum(walls) / len(walls) * remaining / max(1, workers)


class SearchProgress:
    """A tqdm bar over the study's finished trials, with the running trial's epoch in its postfix."""

    def __init__(self, target: int, done: int, epochs: int, enabled: bool | None = None) -> None:
        self.epochs = epochs
        self.eta = ""
        self.bar = tqdm(
            total=target,
            initial=done,
            unit="trial",
            disable=not (sys.stderr.isatty() if enabled is None else enabled),
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} trials [{elapsed}{postfix}]",
        )

    def epoch(self, trial: int, epoch: int, val_acc: float | None) -> None:
        acc = "" if val_acc is None else f", val {100 * val_acc:.2f}%"
        self.bar.set_postfix_str(f"trial {trial}: epoch {epoch}/{self.epochs}{acc}{self.eta}")

    def trial_done(self, finished: Sequence[optuna.trial.FrozenTrial], line: str) -> None:
        self.bar.n = len(finished)
        left = time_left_s(finished, int(self.bar.total or 0))
        self.eta = "" if left is None else f"; about {format_duration(left)} left"
        self.bar.set_postfix_str(self.eta.lstrip("; "))
        if self.bar.disable:  # no bar to read the count and time left from: the log line carries them
            line += f"  [{len(finished)}/{self.bar.total} finished{self.eta}]"
        tqdm.write(line)

    def close(self) -> None:
        self.bar.close()
