"""The progress of ``search.final``: a bar of (configuration, seed) runs, a line per finished run.

On a terminal the bar also says where a long seed is (its epoch, training accuracy and time); in
a log (no terminal) tqdm draws no bar and only the per-run lines appear.
"""

from __future__ import annotations

from tqdm import tqdm

from search.formatting import without_tta
from search.retrain._comparison import Candidate
from search.retrain._result import RetrainRun
from search.training import EpochStats


class RetrainProgress:
    """Callbacks for :func:`search.retrain._session.retrain_all`: ``run_done`` and ``epoch``."""

    def __init__(self, runs: int) -> None:
        self.bar = tqdm(total=runs, unit="run", disable=None)

    def run_done(self, candidate: Candidate, run: RetrainRun, resumed: bool) -> None:
        self.bar.update(1)
        read_again = (
            f" (the network {run.weights_from}/ trained, read again)" if run.weights_from and not resumed else ""
        )
        self.bar.write(
            f"  {candidate.label}, seed {run.seed}: test accuracy {100 * run.test_accuracy:.2f}%"
            f"{without_tta(run.test_accuracy_plain)}{read_again}"
            + (" (recorded earlier, not rerun)" if resumed else "")
        )

    def epoch(self, candidate: Candidate, seed: int, stats: EpochStats, *, epochs: int) -> None:
        self.bar.set_postfix_str(
            f"{candidate.label}, seed {seed}: epoch {stats.epoch}/{epochs}, "
            f"train acc {100 * stats.train_acc:.1f}%, {stats.elapsed_s:.0f} s"
        )

    def close(self) -> None:
        self.bar.close()
