"""The progress line of search.run: finished trials of the target, the running trial's epoch, time left.

The time left is the mean wall time of the study's finished trials times the trials still
to run (divided among the workers), the way Optuna's own bar shows an estimate; it is
shown once one trial has finished.  The bar is drawn on a terminal only, with the running
trial's epoch in it; logs and pipes (nohup, a scheduler) get, as search.final's do, a line per
epoch of the running trial with the time left, and the per-trial lines, each ending with the
trials finished of the target and the time left.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import optuna
from tqdm import tqdm

from search.formatting import epochs_time_left_s, format_duration, show_epoch
from search.store import TrialRecord


def mean_wall_s(finished: Sequence[optuna.trial.FrozenTrial]) -> float | None:
    """The mean wall time of the ``finished`` trials that recorded one (None: none did)."""
    walls = [TrialRecord.of(t).wall_s for t in finished if TrialRecord.of(t).wall_s > 0]
    return sum(walls) / len(walls) if walls else None


def time_left_s(finished: Sequence[optuna.trial.FrozenTrial], target: int, workers: int = 1) -> float | None:
    """Seconds until ``target`` finished trials, from the mean wall time of the ``finished`` ones."""
    mean = mean_wall_s(finished)
    if mean is None:
        return None
    return mean * max(0, target - len(finished)) / max(1, workers)


class SearchProgress:
    """A tqdm bar over the study's finished trials, with the running trial's epoch in its postfix."""

    def __init__(self, target: int, done: int, epochs: int, enabled: bool | None = None, prefix: str = "") -> None:
        """``prefix`` starts each epoch line (a worker's ``[worker 0] ``)."""
        self.epochs, self.prefix = epochs, prefix
        self.eta = ""
        self.per_trial_s: float | None = None  # the mean wall time of the finished trials, once one has
        self.bar = tqdm(
            total=target,
            initial=done,
            unit="trial",
            disable=not (sys.stderr.isatty() if enabled is None else enabled),
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} trials [{elapsed}{postfix}]",
        )

    def epoch(self, trial: int, epoch: int, val_acc: float | None, elapsed_s: float) -> None:
        acc = "" if val_acc is None else f", val {100 * val_acc:.2f}%"
        where = f"trial {trial}: epoch {epoch}/{self.epochs}{acc}"
        if not self.bar.disable:
            show_epoch(self.bar, where + self.eta, None, log=False)
            return
        # The rest of this trial at its pace, then every other trial as long as the finished ones took on average
        # (as long as this one will, before any has finished); pruning makes it an upper bound.
        after = int(self.bar.total or 0) - self.bar.n - 1
        left = epochs_time_left_s(elapsed_s, epoch, self.epochs, after, self.per_trial_s)
        show_epoch(self.bar, f"{self.prefix}{where}, {elapsed_s:.0f} s", left, log=True)

    def trial_done(self, finished: Sequence[optuna.trial.FrozenTrial], line: str) -> None:
        self.bar.n = len(finished)
        left = time_left_s(finished, int(self.bar.total or 0))
        self.per_trial_s = mean_wall_s(finished)
        self.eta = "" if left is None else f"; about {format_duration(left)} left"
        self.bar.set_postfix_str(self.eta.lstrip("; "))
        if self.bar.disable:  # no bar to read the count and time left from: the log line carries them
            line += f"  [{len(finished)}/{self.bar.total} finished{self.eta}]"
        tqdm.write(line)

    def close(self) -> None:
        self.bar.close()
