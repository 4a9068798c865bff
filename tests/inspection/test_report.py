"""search.report's HTML, the study note, and what search.final leaves for the dashboard."""

from __future__ import annotations

import datetime
import html
import json
import re
import warnings
from pathlib import Path

import optuna
import optuna_dashboard
import plotly.offline
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from search.inspection import build_report
from search.inspection._figures import strategy_accuracy
from search.inspection._publish import FINAL_FIGURE_IDS
from search.inspection._report_html import render_section
from search.inspection._report_page import confirmation_sections, final_sections
from search.retrain import RetrainResult, confirm
from search.retrain._result import RetrainBudget, RetrainRun
from search.store import DEFAULT_STORAGE, write_json
from search.training import TrainConfig
from search.training._data import CLASSES
from search.tuning import OBJECTIVE_NAME
from search.tuning._notes import space_as_list, study_note
from search.tuning._settings import SpaceSettings, StudySettings
from support import STUDY, InspectionStudy, assert_one_line_error, run_module

SEARCH_FIGURES = [
    "strategy-accuracy",
    "optimization-history",
    "intermediate-values",
    "param-importances",
    "parallel-coordinate",
    "slice",
    "timeline",
]
# The fixture's retrain is a reduced one (500 images): no figure sets it beside the thesis's.
FINAL_FIGURES = ["per-class-accuracy", "confusion-matrix", "final-learning-curves"]
TITLES = [
    "Validation accuracy by strategy",
    "Optimisation history",
    "Intermediate values",
    "Parameter importance",
    "Parallel coordinates",
    "Slice plots",
    "Timeline",
    "Per-class test accuracy",
    "Confusion matrix",
    "Learning curves of the final retrain",
]


@pytest.fixture(scope="module")
def fx(inspection_study: InspectionStudy) -> InspectionStudy:
    return inspection_study


def _report(folder: Path, *extra: str) -> str:
    """``search.report`` with no flags but ``extra``, right after a plain search.run: the default storage
    studies/optuna.db and study fmnist-snn; the page lands beside the storage, in studies/optuna/fmnist-snn/."""
    result = run_module("search.report", *extra, cwd=folder, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = Path("studies") / "optuna" / STUDY / "report.html"
    assert f"wrote {out}" in result.stdout
    return (folder / out).read_text()


@pytest.mark.slow
def test_report_holds_every_figure(fx: InspectionStudy) -> None:
    page = _report(fx.folder)
    for name in SEARCH_FIGURES + FINAL_FIGURES:
        assert f'id="fig-{name}"' in page, name
    for title in TITLES:
        assert title in page, title
    assert "Not available" not in page and "No final result yet" not in page
    # Header: study, storage, trials by state, epochs saved, best configuration, final result and its budget.
    for fact in (
        "fmnist-snn",
        DEFAULT_STORAGE,
        "3 complete",
        "epochs saved by pruning",
        "Best configuration (trial",
        "retrained on 500 training images for 1 epoch, 1 seed",
        "a reduced retrain",
    ):
        assert fact in page, fact
    assert 'id="fig-final-vs-thesis"' not in page and "86.01% baseline" not in page
    # Self-contained: plotly.js is inline, once, and nothing else refers to another server.
    plotly_js = plotly.offline.get_plotlyjs()
    assert page.count(plotly_js) == 1
    rest = page.replace(plotly_js, "")
    assert not re.search(r"<script[^>]+src=", rest)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", rest)


def test_plain_final_and_report_follow_a_plain_search_run(fx: InspectionStudy) -> None:
    """No --storage, no --study anywhere: run, then final, then report find the same study and storage,
    and the results land beside the default storage, in studies/optuna/fmnist-snn/."""
    assert f"next: python -m search.final --study {STUDY}\n" in fx.run_stdout + "\n"
    assert f"study '{STUDY}' in {DEFAULT_STORAGE}: retraining 1 configuration" in fx.final_stdout
    assert f"results in studies/optuna/{STUDY}/final/" in fx.final_stdout
    assert fx.results == fx.folder / "studies" / "optuna" / STUDY
    retrain = optuna.load_study(study_name=STUDY, storage=fx.storage).user_attrs["final_result"]["folder"]
    assert [p.name for p in (fx.results / "final").iterdir()] == [retrain]
    assert (fx.results / "final" / retrain / "model.pt").is_file()
    assert not (fx.folder / STUDY).exists() and not (fx.folder / "studies" / STUDY).exists()


@pytest.mark.slow
def test_report_of_a_study_without_final_result_says_so(fx: InspectionStudy) -> None:
    page = _report(fx.bare_folder, "--study", "best")
    assert "No final result yet" in page
    assert "python -m search.final --study fmnist-snn" in page
    for name in SEARCH_FIGURES:
        assert f'id="fig-{name}"' in page, name
    for name in FINAL_FIGURES:
        assert f'id="fig-{name}"' not in page, name


def test_report_errors_are_one_line_and_write_nothing(tmp_path: Path, fx: InspectionStudy) -> None:
    missing = run_module("search.report", "--storage", f"sqlite:///{tmp_path}/none.db", cwd=tmp_path)
    assert missing.returncode == 1
    assert "does not exist" in assert_one_line_error(missing.stderr)
    unknown = run_module("search.report", "--storage", fx.storage, "--study", "nope", cwd=tmp_path)
    assert unknown.returncode == 1
    assert "studies there: fmnist-snn" in assert_one_line_error(unknown.stderr)
    assert list(tmp_path.iterdir()) == []


def test_study_note_and_objective_name(fx: InspectionStudy) -> None:
    study = optuna.load_study(study_name=STUDY, storage=fx.storage)
    assert study.metric_names == [OBJECTIVE_NAME]
    note = optuna_dashboard.get_note(study)
    settings = StudySettings.from_dict(study.user_attrs["settings"])
    for part in (
        "### Budget",
        "at most **1 epoch** per trial",
        "pruner: **none**",
        "sampler: **tpe**",
        "### Data split",
        "train: 500 images, validation: 1,000 images",
        "thesis_preset",
        "baseline, dropout",
        *space_as_list(settings.space),
        DEFAULT_STORAGE,
    ):
        assert part in note, part


def test_note_never_shows_a_password() -> None:
    settings = StudySettings(space=SpaceSettings(epochs=3), pruner="median", seed=7)
    note = study_note(
        "s",
        settings,
        {"train_size": 100, "val_size": 50, "source": "x", "split_seed": 1},
        storage_url="postgresql+psycopg://optuna:s3cret@db.example/optuna",
        pruner="MedianPruner",
        sampler="TPESampler",
        thesis_presets=[],
        created=datetime.datetime(2026, 1, 1),
    )
    assert "s3cret" not in note
    assert "postgresql+psycopg://optuna:***@db.example/optuna" in note
    assert "pruner: **median** (MedianPruner)" in note and "seed 7" in note
    assert "Not queued" in note


def test_final_attaches_files_and_figures(fx: InspectionStudy) -> None:
    study = optuna.load_study(study_name=STUDY, storage=fx.storage)
    headline = study.user_attrs["final_result"]
    retrain = headline["folder"]
    assert retrain == f"trial-{headline['trial']}-1ep-500img"  # trial and budget in the name
    final = json.loads((fx.results / "final" / retrain / "result.json").read_text())
    attached = study.user_attrs["final_artifacts"][retrain]
    assert attached["trial"] == final["trial"] == headline["trial"]
    metas = {m.filename: m for m in optuna.artifacts.get_all_artifact_meta(study)}
    names = {"result.json": f"{retrain}.result.json", "model.pt": f"{retrain}.model.pt"}
    assert set(names.values()) <= set(metas)
    store = optuna.artifacts.FileSystemArtifactStore(fx.artifacts)
    for file, name in names.items():
        assert metas[name].artifact_id == attached[name]
        with store.open_reader(attached[name]) as stored:
            assert stored.read() == (fx.results / "final" / retrain / file).read_bytes()
    system = study._storage.get_study_system_attrs(study._study_id)
    for graph_id in FINAL_FIGURE_IDS:
        assert any(k.startswith(f"dashboard:plot_data:{graph_id}:") for k in system), graph_id


# Small studies built with the library: the report explains what it cannot draw yet.


def _tiny_study(complete: int, pruned: int) -> optuna.Study:
    study = optuna.create_study(study_name="tiny", direction="maximize")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([OBJECTIVE_NAME])
    study.set_user_attr(
        "settings", StudySettings(space=SpaceSettings(strategies=("baseline", "sgd"), epochs=3)).to_dict()
    )
    dists = {"strategy": CategoricalDistribution(("baseline", "sgd")), "lr": FloatDistribution(1e-4, 0.5, log=True)}
    for i in range(complete):
        study.add_trial(
            optuna.trial.create_trial(
                params={"strategy": "baseline", "lr": 1e-3 * (i + 1)},
                distributions=dists,
                value=0.8 + 0.01 * i,
                intermediate_values={1: 0.7, 2: 0.75, 3: 0.8 + 0.01 * i},
                user_attrs={"epochs_run": 3, "best_epoch": 3, **({"thesis_preset": "baseline"} if i == 0 else {})},
            )
        )
    for _ in range(pruned):
        study.add_trial(
            optuna.trial.create_trial(
                state=optuna.trial.TrialState.PRUNED,
                params={"strategy": "sgd", "lr": 0.3},
                distributions=dists,
                intermediate_values={1: 0.2},
                user_attrs={"epochs_run": 1, "best_val_acc": 0.2},
            )
        )
    return study


def test_small_study_report_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    page, sections = build_report(_tiny_study(complete=1, pruned=1), "sqlite:///tiny.db", tmp_path / "tiny")
    by_anchor = {s.anchor: s for s in sections}
    importance = by_anchor["param-importances"].unavailable
    assert "needs at least 2 complete trials; the study has 1 complete trial" in importance
    assert by_anchor["final-result"].unavailable.startswith("No final result yet")
    # Where a comparison retrained the best configurations, it is the retrain: nothing more to ask for.
    assert final_sections(_tiny_study(complete=1, pruned=1), None, tmp_path, "sqlite:///tiny.db", compared=True) == []
    assert by_anchor["intermediate-values"].figures and by_anchor["timeline"].figures
    assert "2 epochs" in page and "1 complete, 1 pruned" in page  # epochs saved; trials by state


def test_only_a_retrain_at_the_thesis_budget_stands_beside_the_thesis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All 60,000 images and 30 epochs: beside the thesis's printed figures; 3 epochs or 500 images: not."""
    monkeypatch.chdir(tmp_path)
    for train_size, epochs, reduced, beside in (
        (60_000, 30, False, True),
        (60_000, 3, False, False),
        (500, 3, True, False),
    ):
        study = _tiny_study(complete=2, pruned=0)
        budget = RetrainBudget(train_size=train_size, epochs=epochs, seeds=2, trial_epochs=3)
        runs = [
            RetrainRun(
                seed=k,
                test_accuracy=0.9 + k / 100,
                test_loss=0.3,
                per_class_accuracy=dict.fromkeys(CLASSES, 0.9),
                confusion_matrix=[[100] * 10] * 10,
                train_seconds=1.0,
                test_seconds=1.0,
                history=[{"epoch": 1, "train_loss": 0.5, "train_acc": 0.8}],
            )
            for k in range(2)
        ]
        result = RetrainResult(
            study="tiny",
            storage="sqlite:///tiny.db",
            trial=1,
            strategy="baseline",
            thesis_preset=None,
            validation_accuracy=0.81,
            config=TrainConfig(epochs=3).to_dict(),
            budget=budget,
            runs=runs,
            device="cpu",
            versions={},
        )
        folder = tmp_path / f"results-{train_size}-{epochs}"
        write_json(folder / "final" / budget.folder_name(1) / "result.json", result.to_dict())
        s = result.summary
        study.set_user_attr(
            "final_result",
            {
                "trial": 1,
                "folder": budget.folder_name(1),
                "test_accuracy_mean": s.mean,
                "test_accuracy_std": s.std,
                "seeds": 2,
                "epochs": epochs,
                "train_size": train_size,
                "reduced": budget.reduced,
                "at_thesis_budget": budget.at_thesis_budget,
            },
        )
        page, sections = build_report(study, "sqlite:///tiny.db", folder)
        assert budget.reduced is reduced and budget.at_thesis_budget is beside
        assert ('id="fig-final-vs-thesis"' in page) is beside
        assert ("86.01% baseline" in page and "87.82% best" in page) is beside
        assert ("a reduced retrain" in page) is reduced
        assert ("not at the thesis's budget" in html.unescape(page).lower()) is (not reduced and not beside)
        assert f"retrained on {train_size:,} training images for {epochs} epochs, 2 seeds" in page
        assert 'id="fig-per-class-accuracy"' in page and 'id="fig-final-learning-curves"' in page


def _retrain(trial: int, accuracies: list[float], preset: str | None) -> RetrainResult:
    runs = [
        RetrainRun(
            seed=k,
            test_accuracy=a,
            test_loss=0.3,
            per_class_accuracy={},
            confusion_matrix=[],
            train_seconds=1.0,
            test_seconds=1.0,
        )
        for k, a in enumerate(accuracies)
    ]
    return RetrainResult(
        study="tiny",
        storage="sqlite:///tiny.db",
        trial=trial,
        strategy="baseline",
        thesis_preset=preset,
        validation_accuracy=0.8,
        config=TrainConfig(epochs=3).to_dict(),
        budget=RetrainBudget(train_size=60_000, epochs=30, seeds=len(accuracies), trial_epochs=3),
        runs=runs,
        device="cpu",
        versions={},
    )


def test_the_confirmation_section_shows_the_pair_the_differences_and_the_verdict(tmp_path: Path) -> None:
    """search.final --confirm's file, as the report shows it: A and B over the seeds that chose them, the
    confirming seeds and both, A - B paired over each, the verdict; stale or missing: said so."""
    study = _tiny_study(complete=2, pruned=0)
    assert confirmation_sections(study, None, tmp_path) == []  # no comparison: nothing to confirm

    comparison = {"study": "tiny", "rows": []}
    study.set_user_attr("final_comparison", {"file": "comparison-1.json"})
    [missing] = confirmation_sections(study, comparison, tmp_path)
    assert missing.unavailable and "--confirm K" in missing.unavailable and not missing.table_html

    b = _retrain(0, [0.910, 0.912, 0.905, 0.915], "baseline")
    a = _retrain(1, [0.930, 0.925, 0.921, 0.933], None)
    c = confirm(("thesis baseline (trial 0)", b), ("trial 1 (baseline)", a), first_seeds=2)
    name = "confirmation-0-1-abc.json"
    record = {"study": "tiny", "budget": "60,000 images, 30 epochs", "comparison": "comparison-1.json", **c.to_dict()}
    write_json(tmp_path / "final" / name, record)
    study.set_user_attr("final_confirmation", {"file": name, "comparison": "comparison-1.json", "A": 1, "B": 0})
    [section] = confirmation_sections(study, comparison, tmp_path)
    page = html.unescape(render_section(section))
    assert section.unavailable is None
    for text in (
        "seeds 0-1 (chose A and B)",
        "seeds 2-3 (confirming)",
        "seeds 0-3 (both)",
        "B: thesis baseline (trial 0)",
        "A: trial 1 (baseline)",
        f"{100 * c.searched.confirming.mean:.2f}%",
        f"{100 * c.confirming_difference.mean:+.2f} [{100 * c.confirming_difference.low:+.2f}, "
        f"{100 * c.confirming_difference.high:+.2f}], p = {c.confirming_difference.p_value:.3f}",
        f"Verdict: {c.verdict}.",
    ):
        assert text in page, text
    assert "earlier comparison" not in page

    study.set_user_attr("final_comparison", {"file": "comparison-2.json"})  # a newer comparison since
    [stale] = confirmation_sections(study, comparison, tmp_path)
    assert "from an earlier comparison (comparison-1.json), not the latest (comparison-2.json)" in stale.explanation

    write_json(tmp_path / "final" / name, {**record, "study": "someone-else"})  # not this study's file
    [foreign] = confirmation_sections(study, comparison, tmp_path)
    assert foreign.unavailable and not foreign.table_html


def test_empty_study_report_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    page, sections = build_report(_tiny_study(complete=0, pruned=0), "sqlite:///tiny.db", tmp_path / "tiny")
    assert all(not s.figures and s.unavailable for s in sections)
    assert "No complete trial yet" in page


def test_strategy_figure_marks_thesis_and_pruned_trials() -> None:
    study = _tiny_study(complete=3, pruned=2)
    figure = strategy_accuracy(study.get_trials(), ("baseline", "sgd"))
    names = {trace.name for trace in figure.data}
    assert {"thesis recipe (enqueued)", "searched trial", "pruned (best epoch before it stopped)"} <= names
    thesis = next(t for t in figure.data if t.name == "thesis recipe (enqueued)")
    assert list(thesis.y) == [0.8] and "thesis recipe 'baseline'" in thesis.text[0]
