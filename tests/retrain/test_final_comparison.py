"""search.final as a comparison: several configurations, paired seeds, intervals, a paired test, resumable runs.

The module's comparison runs on a copy of the inspection study (3 trials, two of them thesis
recipes) at a tiny budget (300 images, 1 epoch, 2 seeds): it is killed with SIGKILL after its
first finished run and started again, as a user would after a crash, and its table, files,
report and dashboard figure are checked.  The statistics are checked on constructed numbers
against closed forms and SciPy.
"""

from __future__ import annotations

import fcntl
import html
import json
import math
import os
import pty
import re
import shutil
import signal
import statistics
import struct
import subprocess
import termios
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pytest
from scipy import stats

from search.errors import UserError
from search.inspection import build_report
from search.inspection._publish import COMPARISON_FIGURE_ID
from search.retrain import RetrainResult, compare, confirm, confirmation_lines, confirmation_pair
from search.retrain._comparison import Candidate, comparison_name
from search.retrain._confirmation import earlier_look
from search.retrain._result import RetrainBudget, RetrainRun
from search.retrain._statistics import paired_difference, summarize
from search.store import TrialRecord
from search.training import TrainConfig
from support import (
    STUDY,
    InspectionStudy,
    assert_one_line_error,
    command_env,
    finish,
    python_module,
    run_module,
    start_module,
    tree,
    wait_for,
)

COMPARE = ["--top", "1", "--thesis", "--seeds", "2", "--train-size", "300", "--epochs", "1"]
COLUMNS = [
    "configuration",
    "val (search)",
    "epochs",
    "test reads before",
    "test mean",
    "std",
    "95% interval",
    "vs reference (points)",
    "paired p",
]
PERCENT = r"\d{1,3}\.\d\d%"
RECORDED = "(recorded earlier, not rerun)"


@dataclass(frozen=True)
class Comparison:
    folder: Path  # the working folder: studies/optuna.db, and the results in studies/optuna/fmnist-snn/
    killed_runs: dict[Path, bytes]  # the run files that existed when the first command was killed
    rerun: subprocess.CompletedProcess[str]
    record: dict[str, Any]  # the comparison-*.json the rerun wrote
    record_name: str  # its file name
    report: str

    @property
    def final(self) -> Path:
        return self.folder / "studies" / "optuna" / STUDY / "final"

    def run_files(self) -> list[Path]:
        return sorted(self.final.glob("*/runs/seed-*.json"))


@pytest.fixture(scope="module")
def comparison(inspection_study: InspectionStudy, tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    folder = tmp_path_factory.mktemp("comparison")
    (folder / "studies").mkdir()
    shutil.copy(inspection_study.bare_folder / "studies" / "optuna.db", folder / "studies" / "optuna.db")
    final = folder / "studies" / "optuna" / STUDY / "final"
    proc = start_module("search.final", *COMPARE, cwd=folder)
    wait_for(
        lambda: list(final.glob("*/runs/seed-*.json")) or proc.poll() is not None,
        300,
        "the comparison's first finished run",
    )
    proc.send_signal(signal.SIGKILL)
    code, out, err = finish(proc)
    assert code == -signal.SIGKILL, out + err  # killed in mid-comparison, not finished
    killed = {path: path.read_bytes() for path in final.glob("*/runs/seed-*.json")}
    rerun = run_module("search.final", *COMPARE, cwd=folder)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    [path] = final.glob("comparison-*.json")
    report = run_module("search.report", cwd=folder, timeout=120)
    assert report.returncode == 0, report.stdout + report.stderr
    page = (folder / "studies" / "optuna" / STUDY / "report.html").read_text()
    return Comparison(folder, killed, rerun, json.loads(path.read_text()), path.name, page)


def parse_table(stdout: str) -> list[dict[str, str]]:
    """The rows of search.final's table, by the columns its dashed line marks out."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("configuration"))
    spans = [m.span() for m in re.finditer(r"-+", lines[start + 1])]
    headers = [lines[start][a:b].strip() for a, b in spans]
    assert headers[: len(COLUMNS)] == COLUMNS, headers
    gaps = [(end, after) for (_, end), (after, _) in zip(spans, spans[1:])]
    rows = []
    for line in lines[start + 2 :]:  # a row is as wide as the dashed line, with blanks between the columns
        if len(line) != len(lines[start + 1]) or any(line[a:b].strip() for a, b in gaps):
            break
        rows.append({h: line[a:b].strip() for h, (a, b) in zip(headers, spans)})
    return rows


def trial_and_seed(text: str) -> tuple[int, int]:
    trial = re.search(r"trial[ -](\d+)", text)
    seed = re.search(r"seed[ -](\d+)", text)
    assert trial and seed, text
    return int(trial.group(1)), int(seed.group(1))


# --- the comparison as a user runs it --------------------------------------------------------------------


@pytest.mark.slow
def test_every_configuration_gets_a_row_with_mean_std_interval_and_p(comparison: Comparison) -> None:
    rows = parse_table(comparison.rerun.stdout)
    assert len(rows) == len(comparison.record["rows"]) >= 2  # the thesis's two recipes at least
    labels = [r["configuration"] for r in rows]
    assert any(label.startswith("thesis baseline") for label in labels)
    assert any(label.startswith("thesis dropout") for label in labels)
    # With --thesis, --top 1 ranks the searched trials only: one searched row beside the references.
    assert sum(not label.startswith("thesis") for label in labels) == 1
    for row in rows:
        assert re.fullmatch(PERCENT, row["val (search)"]), row
        assert row["epochs"] == "1"
        assert row["test reads before"] == "0", row  # no other retrain of these trials read the test set
        assert re.fullmatch(PERCENT, row["test mean"]), row
        assert re.fullmatch(r"\d+\.\d\d", row["std"]), row
        assert re.fullmatch(rf"\[{PERCENT}, {PERCENT}\]", row["95% interval"]), row
        if row["configuration"].startswith("thesis baseline"):  # the reference
            assert row["vs reference (points)"] == "reference" and row["paired p"] == ""
        else:
            assert re.fullmatch(r"[+-]\d+\.\d\d \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\]", row["vs reference (points)"]), row
            assert re.fullmatch(r"[01]\.\d{3}", row["paired p"]), row
            assert row[""] in ("within seed noise", "differs"), row
    # Every read is logged in the study too, by trial, folder and seed (it outlives the folders).
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{comparison.folder}/studies/optuna.db")
    logged = study.user_attrs["test_reads"]  # later tests add reads to this study: the fixture's are checked
    for row, folder in zip(comparison.record["rows"], comparison.record["folders"]):
        assert logged[str(row["trial"])][folder] == [0, 1]
    # The budget is said, and a reduced retrain is never set beside the thesis's printed figures.
    assert "300 training images" in comparison.rerun.stdout and "reduced retrain" in comparison.rerun.stdout
    assert "86.01%" not in comparison.rerun.stdout


def test_the_table_is_scipys_statistics_of_the_recorded_seeds(comparison: Comparison) -> None:
    record = comparison.record
    accuracies = []
    for folder in record["folders"]:
        result = json.loads((comparison.final / folder / "result.json").read_text())
        assert result["seeds"] == [0, 1]  # paired: the same seeds for every configuration
        accuracies.append([run["test_accuracy"] for run in result["runs"]])
    reference = accuracies[record["reference"]]
    for row, values in zip(record["rows"], accuracies, strict=True):
        sem = statistics.stdev(values) / math.sqrt(len(values))
        mean = statistics.fmean(values)
        # Equal seeds (a tiny run stuck at chance) have no spread: the interval is the point itself.
        low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=sem) if sem > 0 else (mean, mean)
        assert row["test_mean"] == pytest.approx(statistics.fmean(values))
        assert row["test_std"] == pytest.approx(statistics.stdev(values))
        assert row["test_ci95"] == pytest.approx([low, high])
        if values is reference:
            assert row["difference"] is None
            continue
        diffs = [a - b for a, b in zip(values, reference)]
        assert row["difference"]["mean"] == pytest.approx(statistics.fmean(diffs))
        if len(set(diffs)) > 1:  # with no spread SciPy's t is undefined; the code says 1.0 or 0.0 itself
            assert row["difference"]["p_value"] == pytest.approx(stats.ttest_rel(values, reference).pvalue)


def test_a_killed_comparison_reruns_only_what_had_not_finished(comparison: Comparison) -> None:
    assert comparison.killed_runs, "no run had finished when the comparison was killed"
    runs = comparison.run_files()
    assert len(runs) == 2 * len(comparison.record["rows"])  # every configuration x seed, once
    for path, content in comparison.killed_runs.items():
        assert path.read_bytes() == content, f"{path} was written again"
    lines = [line for line in comparison.rerun.stdout.splitlines() if ": test accuracy " in line]
    resumed = {trial_and_seed(line) for line in lines if RECORDED in line}
    trained = {trial_and_seed(line) for line in lines if RECORDED not in line}
    assert resumed == {trial_and_seed(str(path.relative_to(comparison.final))) for path in comparison.killed_runs}
    assert trained and not resumed & trained and len(resumed | trained) == len(runs)


def test_the_report_and_the_dashboard_show_the_forest_plot(comparison: Comparison) -> None:
    page = comparison.report
    assert '<section id="comparison">' in page and 'id="fig-comparison"' in page
    assert "No comparison yet" not in page
    assert '<section id="confirmation">' in page and "No confirming seeds yet" in page  # no --confirm yet
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{comparison.folder}/studies/optuna.db")
    system = study._storage.get_study_system_attrs(study._study_id)
    assert any(key.startswith(f"dashboard:plot_data:{COMPARISON_FIGURE_ID}:") for key in system)
    names = {m.filename for m in optuna.artifacts.get_all_artifact_meta(study)}
    assert study.user_attrs["final_comparison"]["file"] in names


@pytest.mark.slow
def test_one_seed_prints_n_a_not_zero(comparison: Comparison) -> None:
    """Row final-one-seed: --seeds 1 reuses seed 0 of the comparison (same budget) and prints n/a."""
    result = run_module(
        "search.final", "--top", "2", "--seeds", "1", "--train-size", "300", "--epochs", "1", cwd=comparison.folder
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = parse_table(result.stdout)
    assert len(rows) == 2
    for row in rows:
        assert re.fullmatch(PERCENT, row["test mean"]) and row["std"] == "n/a" and row["95% interval"] == "n/a"
    other = [r for r in rows if r["vs reference (points)"] != "reference"]
    assert len(other) == 1 and other[0]["paired p"] == "n/a" and other[0][""] == "n/a (1 seed)"
    assert "± 0.00" not in result.stdout
    assert result.stdout.count(RECORDED) == 2  # nothing trained: both runs were recorded by the comparison


@pytest.mark.slow
def test_confirm_retrains_only_the_winning_pair_on_further_seeds(comparison: Comparison, tmp_path: Path) -> None:
    """--confirm 2: A (best searched by test mean) and B (best thesis recipe) get seeds 2 and 3, nothing else."""
    folder = tmp_path / "copy"
    shutil.copytree(comparison.folder, folder)
    final = folder / "studies" / "optuna" / STUDY / "final"
    before = {path: path.read_bytes() for path in final.glob("*/runs/seed-*.json")}
    rows = comparison.record["rows"]
    thesis = [r for r in rows if r["thesis_preset"]]
    b = max(thesis, key=lambda r: (r["test_mean"], -thesis.index(r)))  # a tie goes to the earlier row
    [a] = [r for r in rows if not r["thesis_preset"]]  # --top 1: one searched configuration

    result = run_module("search.final", *COMPARE, "--confirm", "2", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"confirming on seeds 2-3: A = {a['label']} and B = {b['label']}" in out, out
    added = sorted(set(final.glob("*/runs/seed-*.json")) - set(before))
    assert sorted(trial_and_seed(str(p.relative_to(final))) for p in added) == sorted(
        (row["trial"], seed) for row in (a, b) for seed in (2, 3)
    )
    assert all(path.read_bytes() == content for path, content in before.items())  # seeds 0-1 read, not rerun
    assert "seeds 0-1 (chose A and B)" in out and "seeds 2-3 (confirming)" in out and "A - B, paired" in out
    for row in rows:  # result.json stays the comparison's: its seeds, for every row alike
        kept = json.loads((final / f"trial-{row['trial']}-1ep-300img" / "result.json").read_text())
        assert kept["seeds"] == [0, 1] and kept["test_accuracy_mean"] == pytest.approx(row["test_mean"])

    [path] = final.glob("confirmation-*.json")
    record = json.loads(path.read_text())
    accuracy = {
        row["trial"]: [
            json.loads((final / f"trial-{row['trial']}-1ep-300img" / "runs" / f"seed-{k}.json").read_text())["run"][
                "test_accuracy"
            ]
            for k in range(4)
        ]
        for row in (a, b)
    }
    assert record["A"]["trial"] == a["trial"] and record["B"]["trial"] == b["trial"]
    assert record["A"]["accuracies"] == accuracy[a["trial"]] and record["B"]["accuracies"] == accuracy[b["trial"]]
    diffs = [x - y for x, y in zip(accuracy[a["trial"]][2:], accuracy[b["trial"]][2:])]
    assert record["difference_A_minus_B"]["confirming"]["mean"] == pytest.approx(statistics.fmean(diffs))
    assert record["verdict"] in out
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{folder}/studies/optuna.db")
    noted = study.user_attrs["final_confirmation"]
    assert noted["file"] == path.name and noted["comparison"] == record["comparison"] == comparison.record_name
    assert (noted["A"], noted["B"]) == (a["trial"], b["trial"])
    page = html.unescape(build_report(study, f"sqlite:///{folder}/studies/optuna.db", final.parent)[0])
    assert "seeds 2-3 (confirming)" in page and f"Verdict: {record['verdict']}." in page  # the report shows it

    again = run_module("search.final", *COMPARE, "--confirm", "2", cwd=folder)  # a resume trains nothing
    assert again.returncode == 0 and "epoch 1/1" not in again.stdout, again.stdout + again.stderr
    assert again.stdout.count(RECORDED) == 2 * len(rows) + 2 * 4
    assert "looked before" not in out + again.stdout and record["looked_before"] is None

    # More seeds after that verdict was read: a further look, which the new verdict carries.
    more = run_module("search.final", *COMPARE, "--confirm", "3", cwd=folder)
    assert more.returncode == 0, more.stdout + more.stderr
    look = (
        f"--confirm 2 ({path.name}: seeds 2-3, {record['verdict']}) had been read before this --confirm 3 was "
        "asked: not a blind verdict"
    )
    assert more.stdout.count(f"looked before: {look}") == 2  # before it trains, and below the verdict
    [newer] = set(final.glob("confirmation-*.json")) - {path}
    assert json.loads(newer.read_text())["looked_before"] == look
    rerun = run_module("search.final", *COMPARE, "--confirm", "3", cwd=folder)  # the same K again keeps the note
    assert rerun.returncode == 0 and f"looked before: {look}" in rerun.stdout, rerun.stdout + rerun.stderr
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{folder}/studies/optuna.db")
    page = html.unescape(build_report(study, f"sqlite:///{folder}/studies/optuna.db", final.parent)[0])
    assert f"Looked before: {look}" in page
    back = run_module("search.final", *COMPARE, "--confirm", "2", cwd=folder)  # the first, blind one, printed again
    assert back.returncode == 0 and "looked before" not in back.stdout, back.stdout + back.stderr
    assert json.loads(path.read_text())["looked_before"] is None


@pytest.mark.slow
def test_reuse_reads_an_earlier_retrains_seeds_instead_of_training_them(
    comparison: Comparison, inspection_study: InspectionStudy, tmp_path: Path
) -> None:
    """A new copy of the study with --reuse pointing at the comparison's final/: every seed is the
    earlier record, marked as reused, and nothing trains; the table names where they came from."""
    (tmp_path / "studies").mkdir()
    shutil.copy(inspection_study.bare_folder / "studies" / "optuna.db", tmp_path / "studies" / "optuna.db")
    result = run_module("search.final", *COMPARE, "--reuse", str(comparison.final), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    rows = comparison.record["rows"]
    assert out.count("neither trained nor tested again)") == 2 * len(rows) and "epoch 1/1" not in out, out
    assert "reused (--reuse): these seeds are the same networks an earlier retrain trained and tested" in out
    assert f"(0 of the {2 * len(rows)} runs to train; the others are recorded already or reused)" in out
    final = tmp_path / "studies" / "optuna" / STUDY / "final"
    for name in comparison.record["folders"]:
        earlier = [json.loads(p.read_text())["run"] for p in sorted((comparison.final / name / "runs").glob("*.json"))]
        here = [json.loads(p.read_text())["run"] for p in sorted((final / name / "runs").glob("*.json"))]
        assert [r["reused_from"] for r in here] == [str(comparison.final / name)] * 2
        assert [r["reused_reads_before"] for r in here] == [0, 0]  # what the earlier folder had read before
        assert [{**r, "reused_from": None, "reused_reads_before": None} for r in here] == earlier  # the same records
        assert (final / name / "model.pt").is_file()  # seed 0's kept weights come along (the study's artifact)
    assert parse_table(out) == parse_table(comparison.rerun.stdout)  # the same table, row for row
    # A reused seed's figure is shown here: the study logs it as a read, as the files on disk count it.
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp_path}/studies/optuna.db")
    assert study.user_attrs["test_reads"] == {
        str(row["trial"]): {folder: [0, 1]} for row, folder in zip(rows, comparison.record["folders"])
    }


# --- resuming refuses what it cannot trust ---------------------------------------------------------------


def _corrupt(path: Path, other: Path) -> str:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    return "is not a readable run record (corrupt?); move it away to retrain that seed"


def _other_study(path: Path, other: Path) -> str:
    data = json.loads(path.read_text())
    data["fingerprint"]["study"] = "someone-else"
    path.write_text(json.dumps(data))
    return "belongs to another retrain (study 'someone-else'"


def _other_trial(path: Path, other: Path) -> str:
    shutil.copyfile(other, path)
    trial = json.loads(other.read_text())["fingerprint"]["trial"]
    return f"belongs to another retrain (study '{STUDY}', trial {trial})"


@pytest.mark.slow
@pytest.mark.parametrize("spoil", [_corrupt, _other_study, _other_trial], ids=["corrupt", "other-study", "other-trial"])
def test_a_run_file_it_cannot_trust_stops_the_resume_naming_the_file(
    spoil, comparison: Comparison, tmp_path: Path
) -> None:
    """Rows final-resume-corrupt and final-resume-foreign: one line, exit 1, nothing retrained or written."""
    results = tmp_path / "results"
    shutil.copytree(comparison.folder / "studies" / "optuna", results)
    first, second = (results / STUDY / "final" / name for name in comparison.record["folders"][:2])
    spoilt = first / "runs" / "seed-0.json"
    says = spoil(spoilt, second / "runs" / "seed-0.json")
    before = tree(results)
    result = run_module("search.final", *COMPARE, "--results-dir", str(results), cwd=comparison.folder)
    assert result.returncode == 1, result.stdout + result.stderr
    line = assert_one_line_error(result.stderr)
    assert f"error: cannot resume: {spoilt} " in line and says in line, line
    assert tree(results) == before


# --- the statistics, on constructed numbers ---------------------------------------------------------------


def test_summary_of_three_seeds_is_the_student_t_interval() -> None:
    s = summarize([0.90, 0.91, 0.92])
    assert (s.n, s.mean, s.std) == (3, pytest.approx(0.91), pytest.approx(0.01))
    # Student's t with 2 degrees of freedom has a closed form: its 97.5% quantile is sqrt(2 q^2 / (1 - q^2)), q = 0.95.
    t975 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))
    assert t975 == pytest.approx(4.302653, abs=1e-6)
    half = t975 * 0.01 / math.sqrt(3)
    assert (s.low, s.high) == (pytest.approx(0.91 - half), pytest.approx(0.91 + half))
    assert (s.low, s.high) == pytest.approx(stats.t.interval(0.95, 2, loc=0.91, scale=stats.sem([0.90, 0.91, 0.92])))


def test_paired_difference_is_the_paired_t_test() -> None:
    values, reference = [0.90, 0.91, 0.92], [0.88, 0.90, 0.90]
    d = paired_difference(values, reference)
    # Differences 0.02, 0.01, 0.02: mean 1/60, std 1/(100 sqrt 3), so t = 5 on 2 degrees of freedom,
    # whose two-sided p is 1 - t / sqrt(t^2 + 2) = 1 - 5 / sqrt(27).
    assert d.n == 3 and d.mean == pytest.approx(1 / 60)
    assert d.p_value == pytest.approx(1 - 5 / math.sqrt(27))  # 0.0377
    assert d.p_value == pytest.approx(stats.ttest_rel(values, reference).pvalue)
    assert d.within_noise is False  # p < 0.05: "differs"
    half = math.sqrt(2 * 0.95**2 / (1 - 0.95**2)) * (0.01 / math.sqrt(3)) / math.sqrt(3)
    assert (d.low, d.high) == (pytest.approx(1 / 60 - half), pytest.approx(1 / 60 + half))
    noisy = paired_difference([0.90, 0.93, 0.89], [0.91, 0.90, 0.90])
    assert noisy.p_value == pytest.approx(stats.ttest_rel([0.90, 0.93, 0.89], [0.91, 0.90, 0.90]).pvalue)
    assert noisy.p_value > 0.05 and noisy.within_noise is True


def test_one_seed_and_equal_runs_give_no_fake_figures() -> None:
    one = summarize([0.8])
    assert (one.mean, one.std, one.low, one.high) == (0.8, None, None, None)
    single = paired_difference([0.8], [0.7])
    assert single.mean == pytest.approx(0.1) and single.p_value is None and single.within_noise is None
    same = paired_difference([0.8, 0.9], [0.8, 0.9])
    assert (same.mean, same.p_value, same.within_noise) == (0.0, 1.0, True)
    with pytest.raises(ValueError, match="same seeds"):
        paired_difference([0.8, 0.9], [0.8])
    with pytest.raises(ValueError):
        summarize([])


def _result(trial: int, accuracies: list[float], preset: str | None) -> tuple[Candidate, RetrainResult]:
    config = TrainConfig(epochs=1)
    record = TrialRecord(
        number=trial,
        state=optuna.trial.TrialState.COMPLETE,
        params={"strategy": "baseline"},
        config=config.to_dict(),
        best_val_acc=0.8,
        thesis_preset=preset,
    )
    runs = [
        RetrainRun(
            seed=k,
            test_accuracy=a,
            test_loss=0.5,
            per_class_accuracy={},
            confusion_matrix=[],
            train_seconds=1.0,
            test_seconds=1.0,
        )
        for k, a in enumerate(accuracies)
    ]
    result = RetrainResult(
        study="s",
        storage="sqlite:///s.db",
        trial=trial,
        strategy="baseline",
        thesis_preset=preset,
        validation_accuracy=0.8,
        config=config.to_dict(),
        budget=RetrainBudget(train_size=300, epochs=1, seeds=len(accuracies), trial_epochs=1),
        runs=runs,
        device="cpu",
        versions={},
    )
    return Candidate(record, config), result


def test_the_reference_is_the_thesis_baseline_wherever_it_stands() -> None:
    pairs = [_result(4, [0.85, 0.86], None), _result(0, [0.80, 0.82], "baseline"), _result(1, [0.81, 0.80], "sgd")]
    rows, reference = compare([c for c, _ in pairs], [r for _, r in pairs])
    assert reference == 1 and rows[1].difference is None
    assert rows[0].difference.mean == pytest.approx(0.045)
    assert rows[0].label == "trial 4 (baseline)" and rows[1].label == "thesis baseline (trial 0)"
    without = [_result(4, [0.85, 0.86], None), _result(5, [0.80, 0.82], None)]
    rows, reference = compare([c for c, _ in without], [r for _, r in without])
    assert reference == 0 and rows[0].difference is None and rows[1].difference is not None


@pytest.mark.slow
def test_on_a_terminal_the_bar_shows_the_epoch_of_the_seed_in_training(
    inspection_study: InspectionStudy, tmp_path: Path
) -> None:
    """A long seed is not silent: on a terminal the bar names the seed, its epoch of the total and its time."""
    (tmp_path / "studies").mkdir()
    shutil.copy(inspection_study.bare_folder / "studies" / "optuna.db", tmp_path / "studies" / "optuna.db")
    master, terminal = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, and tqdm fits its line to the width: give it a real one.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    proc = subprocess.Popen(
        python_module("search.final", "--seeds", "1", "--train-size", "300", "--epochs", "2"),
        cwd=tmp_path,
        env=command_env(),
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert proc.wait(timeout=300) == 0, shown.decode(errors="replace")
    text = shown.decode(errors="replace")
    assert re.search(r"seed 0: epoch 1/2, train acc \d+\.\d%, \d+ s", text), text
    assert "seed 0: epoch 2/2" in text, text


def test_the_confirmation_pair_is_the_best_of_each_kind_by_test_mean() -> None:
    pairs = [
        _result(7, [0.85, 0.84], None),
        _result(9, [0.86, 0.87], None),  # lower in validation order, higher in test
        _result(0, [0.80, 0.82], "baseline"),
        _result(5, [0.83, 0.83], "adam_plateau"),
        _result(1, [0.83, 0.83], "dropout"),  # a tie with trial 5: the earlier row stays
    ]
    candidates, results = [c for c, _ in pairs], [r for _, r in pairs]
    b, a = confirmation_pair(candidates, results)
    assert (b.record.number, a.record.number) == (5, 9)
    with pytest.raises(UserError, match=r"needs a thesis recipe \(--thesis\) and a searched configuration"):
        confirmation_pair(candidates[:2], results[:2])
    with pytest.raises(UserError, match=r"needs a thesis recipe \(--thesis\) and a searched configuration"):
        confirmation_pair(candidates[2:], results[2:])


def test_a_confirmation_splits_the_seeds_and_pairs_each_range() -> None:
    _, b = _result(5, [0.80, 0.81, 0.80, 0.82, 0.81], "adam_plateau")
    _, a = _result(9, [0.83, 0.85, 0.820, 0.841, 0.829], None)
    c = confirm(("B", b), ("A", a), first_seeds=2)
    assert c.ranges == ("seeds 0-1", "seeds 2-4", "seeds 0-4")
    assert c.searched.first.mean == pytest.approx(0.84) and c.searched.confirming.mean == pytest.approx(0.83)
    assert c.thesis.all.mean == pytest.approx(0.808)
    assert c.confirming_difference.mean == pytest.approx(statistics.fmean([0.02, 0.021, 0.019]))
    assert c.confirming_difference.p_value == pytest.approx(stats.ttest_rel(a.accuracies[2:], b.accuracies[2:]).pvalue)
    assert c.all_difference.p_value == pytest.approx(stats.ttest_rel(a.accuracies, b.accuracies).pvalue)
    assert c.verdict.startswith("confirmed: A leads B over seeds 2-4, which did not choose them (paired p = 0.0")
    table = "\n".join(confirmation_lines(c))
    assert "seeds 0-1 (chose A and B)" in table and "seeds 2-4 (confirming)" in table and c.verdict in table
    assert c.to_dict()["A"]["accuracies"] == a.accuracies
    with pytest.raises(ValueError, match="same seeds beyond the first"):
        confirm(("B", b), ("A", a), first_seeds=5)


@pytest.mark.parametrize(
    ("a", "b", "says"),
    [
        (
            [0.80, 0.80, 0.80],
            [0.81, 0.79, 0.79],
            "nothing to confirm: A did not lead B over seeds 0-1; over seed 2: A - B = +1.00 points",
        ),
        (
            [0.82, 0.79, 0.78],
            [0.80, 0.80, 0.80],
            "not confirmed: A does not lead B over seed 2, which did not choose them",
        ),
        ([0.82, 0.81, 0.81], [0.80, 0.80, 0.80], "A leads B over seed 2 too; one seed gives no test"),
    ],
)
def test_the_verdict_says_what_the_confirming_seeds_show(a: list[float], b: list[float], says: str) -> None:
    c = confirm(("B", _result(5, b, "sgd")[1]), ("A", _result(9, a, None)[1]), first_seeds=2)
    assert c.verdict.startswith(says), c.verdict
    noisy = confirm(
        ("B", _result(5, [0.80] * 6, "sgd")[1]), ("A", _result(9, [0.82, 0.81, 0.83, 0.79, 0.82, 0.80], None)[1]), 3
    )
    assert noisy.verdict.startswith("A leads B over seeds 3-5 too, but within seed noise (paired p = ")


EARLIER = {
    "file": "confirmation-5-9-abc.json",
    "comparison": "comparison-1.json",
    "first_seeds": 3,
    "confirming_seeds": 3,
    "verdict": "not confirmed: A does not lead B over seeds 3-5",
}


def test_a_confirmation_asked_after_another_of_the_same_pair_says_it_looked_before() -> None:
    assert earlier_look([], 6) is None
    look = earlier_look([EARLIER], 6)
    assert look == (
        "--confirm 3 (confirmation-5-9-abc.json: seeds 3-5, not confirmed: A does not lead B over seeds 3-5) "
        "had been read before this --confirm 6 was asked: not a blind verdict"
    )
    lost = {k: v for k, v in EARLIER.items() if k not in ("first_seeds", "confirming_seeds")}  # an old attribute
    assert earlier_look([EARLIER, lost], 6).startswith(  # type: ignore[union-attr]
        "--confirm 3 (confirmation-5-9-abc.json: seeds 3-5, not confirmed: A does not lead B over seeds 3-5); "
        "a confirmation (confirmation-5-9-abc.json: its seeds, not confirmed"
    )
    _, b = _result(5, [0.80] * 9, "sgd")
    _, a = _result(9, [0.81] * 9, None)
    c = confirm(("B", b), ("A", a), first_seeds=3, looked_before=look)
    assert confirmation_lines(c)[-1] == f"looked before: {look}" and c.to_dict()["looked_before"] == look


def test_a_tta_override_gets_its_own_comparison_file() -> None:
    """--tta joins the file name's key, so a comparison under it never overwrites one without it."""
    headline = [33, 34, 51, 0, 1, 2, 4, 5, 6, 7]  # docs/data/headline/final, written before the key had tta
    own = comparison_name(headline, 3, 60_000, 30)
    assert own == "comparison-10configs-3seeds-8c8c6db6.json"
    assert comparison_name(sorted(headline), 3, 60_000, 30) == own
    names = {own, *(comparison_name(headline, 3, 60_000, 30, tta) for tta in ("none", "flip"))}
    assert len(names) == 3
