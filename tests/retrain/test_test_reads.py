"""Each retrain folder keeps how many times its configuration's test accuracy was read before, across the
study's other folders, so a figure chosen after a look is visible as such."""

from __future__ import annotations

import json
from pathlib import Path

from search.retrain._result import RetrainBudget, RetrainResult, RetrainRun
from search.retrain._tables import results_table
from search.retrain._test_reads import RECORD, count_before, prior_test_reads


def _seeds(folder: Path, n: int) -> None:
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    for seed in range(n):
        (folder / "runs" / f"seed-{seed}.json").write_text("{}")


def test_reads_of_the_same_trial_in_other_folders_are_counted_once_and_kept(tmp_path):
    final = tmp_path / "final"
    _seeds(final / "trial-3-10ep-60000img", 3)
    _seeds(final / "trial-3-10ep-60000img-tta-flip", 3)
    _seeds(final / "trial-30-10ep-60000img", 5)  # another trial: not this configuration
    (final / "trial-3-1ep-300img").mkdir()  # a folder that never read the test set
    folder = final / "trial-3-30ep-60000img"
    assert prior_test_reads(folder, 3) == 6
    kept = json.loads((folder / RECORD).read_text())
    assert kept["before"] == 6
    assert kept["folders"] == {"trial-3-10ep-60000img": 3, "trial-3-10ep-60000img-tta-flip": 3}
    _seeds(folder, 2)  # this retrain's own reads, then a resume after yet another retrain read more
    _seeds(final / "trial-3-50ep-60000img", 1)
    assert prior_test_reads(folder, 3) == 6  # the count of when this folder first read, not of now
    assert count_before(final / "trial-3-50ep-60000img", 3)["before"] == 8  # it sees this folder's two


def test_a_folder_read_before_counts_were_kept_says_nothing(tmp_path):
    folder = tmp_path / "final" / "trial-1-10ep-60000img"
    _seeds(folder, 2)
    assert prior_test_reads(folder, 1) is None
    assert not (folder / RECORD).exists()


def test_the_table_shows_the_count_and_says_which_rows_were_read_before():
    from search.retrain._comparison import ComparisonRow

    def row(label: str, reads: int | None) -> ComparisonRow:
        result = RetrainResult(
            study="s",
            storage="sqlite:///x.db",
            trial=1,
            strategy="baseline",
            thesis_preset=None,
            validation_accuracy=0.9,
            config={},
            budget=RetrainBudget(train_size=60_000, epochs=30, seeds=1, trial_epochs=10),
            runs=[RetrainRun(0, 0.9, 0.3, {}, [], 1.0, 0.1)],
            device="cpu",
            versions={},
            test_reads_before=reads,
        )
        return ComparisonRow(label, "adam", result, result.summary, None)

    text = results_table([row("trial 1 (baseline)", 3), row("trial 2 (sgd)", 0), row("trial 4 (old)", None)])
    header = text.splitlines()[0]
    assert "test reads before" in header
    assert "read before: trial 1 (baseline): their test accuracy had been read" in text
    assert "trial 2 (sgd)," not in text.splitlines()[-1]


def test_reads_logged_in_the_study_outlive_their_folders(tmp_path):
    """A folder lost with its machine still counts: the study's log holds its reads."""
    import optuna

    from search.retrain._test_reads import LOG_ATTR, StudyReadLog

    study = optuna.create_study()
    log = StudyReadLog(study)
    final = tmp_path / "final"
    _seeds(final / "trial-3-10ep-60000img", 2)
    for seed in (0, 1, 1):  # a seed logged twice (a resume) is one read
        log.record(3, "trial-3-10ep-60000img", seed)
    for seed in range(3):  # a folder that is gone, and whose reads only the log remembers
        log.record(3, "trial-3-10ep-60000img-tta-flip", seed)
    log.record(4, "trial-4-30ep-60000img", 0)  # another trial
    assert study.user_attrs[LOG_ATTR]["3"] == {
        "trial-3-10ep-60000img": [0, 1],
        "trial-3-10ep-60000img-tta-flip": [0, 1, 2],
    }
    assert log.reads(3) == {"trial-3-10ep-60000img": 2, "trial-3-10ep-60000img-tta-flip": 3}
    assert log.reads(7) == {}
    folder = final / "trial-3-30ep-60000img"
    assert prior_test_reads(folder, 3, log.reads(3)) == 5
    assert json.loads((folder / RECORD).read_text())["folders"] == log.reads(3)
    # The log naming the folder being counted: an earlier copy of it, lost, read those seeds.
    _seeds(final / "trial-4-10ep-60000img", 3)  # more on disk than in the log: the files count
    assert count_before(final / "trial-4-30ep-60000img", 4, log.reads(4))["folders"] == {
        "trial-4-10ep-60000img": 3,
        "trial-4-30ep-60000img": 1,
    }
