"""The progress of ``search.final``: a bar of (configuration, seed) runs, a line per finished run.

On a terminal the bar also says where a long seed is (its epoch, training accuracy and time).  In
a log (no terminal: nohup, a scheduler) tqdm draws no bar, so each epoch gets a line of its own
instead, with the time left: a retrain of an hour is never silent for minutes.
"""

from __future__ import annotations

from tqdm import tqdm

from search.formatting import epochs_time_left_s, show_epoch, without_tta
from search.retrain._comparison import Candidate
from search.retrain._result import RetrainRun
from search.training import EpochStats


def runs_left_text(runs: int, to_train: int) -> str:
    """The retrain header's note on the runs that will not train: "" when every run trains."""
    if to_train >= runs:
        return ""
    return f" ({to_train} of the {runs} runs to train; the others are recorded already or reused)"


class RetrainProgress:
    """Callbacks for :func:`search.retrain._session.retrain_all`: ``run_done`` and ``epoch``."""

    def __init__(self, runs: int, log: bool | None = None, to_train: int | None = None) -> None:
        """``runs`` in all, of which ``to_train`` (default all) train here; the others are recorded
        already or reused, and take no time."""
        self.bar = tqdm(total=runs, unit="run", disable=None)
        self.log = self.bar.disable if log is None else log  # a line per epoch where no bar is drawn
        self.runs, self.done = runs, 0
        self.to_train, self.trained = runs if to_train is None else to_train, 0

    def run_done(self, candidate: Candidate, run: RetrainRun, resumed: bool) -> None:
        self.done += 1
        self.trained += not (resumed or run.reused_from)  # a --tta reread counts as trained, as runs_to_train counts it
        self.bar.update(1)
        if resumed:
            how = " (recorded earlier, not rerun)"
        elif run.reused_from:
            how = f" (recorded by {run.reused_from}/, neither trained nor tested again)"
        elif run.weights_from:
            how = f" (the network {run.weights_from}/ trained, read again)"
        else:
            how = ""
        self.bar.write(
            f"  {candidate.label}, seed {run.seed}: test accuracy {100 * run.test_accuracy:.2f}%"
            f"{without_tta(run.test_accuracy_plain)}{how}"
        )

    def epoch(self, candidate: Candidate, seed: int, stats: EpochStats, *, epochs: int) -> None:
        where = (
            f"{candidate.label}, seed {seed}: epoch {stats.epoch}/{epochs}, "
            f"train acc {100 * stats.train_acc:.1f}%, {stats.elapsed_s:.0f} s"
        )
        # Every run still to train is taken to last as long as this one will: the rest of it, then the others.
        left = epochs_time_left_s(stats.elapsed_s, stats.epoch, epochs, self.to_train - self.trained - 1)
        show_epoch(self.bar, where, left, log=self.log)

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> RetrainProgress:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
