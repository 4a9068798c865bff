"""python -m search.report: one self-contained HTML page that explains a study.

Writes studies/<study>/report.html: a header (study, storage, trials by state, epochs
saved by pruning, best configuration), validation accuracy by strategy with the
thesis's recipes marked, Optuna's plots (optimisation history, intermediate values,
parameter importance, parallel coordinates, slices, timeline) and, once
search.final has run, the final result beside the thesis's figures.  plotly's
JavaScript is embedded: the file opens offline.

    python -m search.report                    # the study fmnist-snn
    python -m search.report --study best       # the study with the best trial
"""

from __future__ import annotations

import argparse
import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from search import figures
from search.artifacts import ARTIFACTS_DIR
from search.cli import Parser, percent, quiet_optuna
from search.data import CLASSES
from search.errors import command
from search.final import THESIS_BASELINE_TEST, THESIS_BEST_TEST, pick_study
from search.report_html import Section, facts_table, grid_table, render_page
from search.results import write_text
from search.storage import DEFAULT_STORAGE, DEFAULT_STUDY, STUDIES_DIR, mask_url, open_storage
from search.study import FINISHED, StudySettings, epochs_saved


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = Parser(prog="python -m search.report", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", default=DEFAULT_STUDY,
                        help=f"study name, or 'best': the study whose best trial is best (default {DEFAULT_STUDY})")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"Optuna storage URL (default {DEFAULT_STORAGE})")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default studies/<study>/report.html)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser.parse_args(argv)


@dataclass(frozen=True)
class FinalResult:
    """What search.final recorded: the whole result.json, or only the headline kept in the study."""

    record: dict[str, Any]
    source: str

    @property
    def detailed(self) -> bool:
        return "per_class_accuracy" in self.record


def load_final_result(study: optuna.Study) -> FinalResult | None:
    """result.json from studies/<study>/final/, else from the artifact store, else the study's headline."""
    path = STUDIES_DIR / study.study_name / "final" / "result.json"
    candidates: list[tuple[Path, str]] = [(path, str(path))]
    artifact = study.user_attrs.get("final_artifacts", {}).get("result.json")
    if isinstance(artifact, str) and "/" not in artifact:
        candidates.append((ARTIFACTS_DIR / artifact, f"artifact {artifact} in {ARTIFACTS_DIR}/"))
    for candidate, source in candidates:
        if candidate.is_file():
            try:
                record = json.loads(candidate.read_text())
            except (OSError, ValueError):
                continue
            if record.get("study") == study.study_name and "test_accuracy_mean" in record:
                return FinalResult(record, source)
    headline = study.user_attrs.get("final_result")
    if isinstance(headline, dict) and "test_accuracy_mean" in headline:
        return FinalResult(headline, "the study's user attribute final_result")
    return None


def _count(n: object, noun: str) -> str:
    if not isinstance(n, int):
        return f"? {noun}s"
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _seed_count(record: dict[str, Any]) -> int:
    """result.json lists the seeds; the study's headline counts them."""
    seeds = record.get("seeds", 1)
    return seeds if isinstance(seeds, int) else len(seeds) or 1


def _value(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def header(study: optuna.Study, storage_url: str, final: FinalResult | None) -> str:
    trials = study.get_trials(deepcopy=False)
    counts = [(state.name.lower(), sum(t.state == state for t in trials)) for state in optuna.trial.TrialState]
    by_state = ", ".join(f"{n} {name}" for name, n in counts if n) or "none yet"
    rows = [("study", study.study_name), ("storage", mask_url(storage_url)), ("trials", f"{len(trials)}: {by_state}")]
    settings_attr = study.user_attrs.get("settings")
    if settings_attr is not None:
        settings = StudySettings.from_dict(settings_attr)
        budget = settings.space.epochs
        finished = sum(t.state in FINISHED for t in trials)
        saved = epochs_saved(study)
        share = ""
        if finished:
            total = finished * budget
            share = f" ({100 * saved / total:.0f}% of the {total} epochs of the finished trials)"
        data = study.user_attrs.get("data", {})
        images = f" on {data['train_size']:,} training images, validated on {data['val_size']:,}" \
            if {"train_size", "val_size"} <= set(data) else ""
        rows += [
            ("budget", f"{_count(budget, 'epoch')} per trial{images}"),
            ("pruner, sampler", f"{settings.pruner}, {settings.sampler}"
                                f"{f' (seed {settings.seed})' if settings.seed is not None else ''}"),
            ("epochs saved by pruning", f"{_count(saved, 'epoch')}{share}"),
        ]
    best_html = "<p>No complete trial yet: no best configuration.</p>"
    complete = study.get_trials(deepcopy=False, states=(figures.COMPLETE,))
    if complete:
        best = study.best_trial
        preset = best.user_attrs.get("thesis_preset")
        rows.append(("best trial", f"#{best.number}, {best.params.get('strategy', '?')}"
                                   f"{f' (the thesis recipe {preset!r})' if preset else ''}: validation accuracy "
                                   f"{percent(best.value)} at epoch {best.user_attrs.get('best_epoch', '?')}"))
        best_html = (f"<h3>Best configuration (trial {best.number})</h3>"
                     + grid_table(["parameter", "value"], [(k, _value(v)) for k, v in best.params.items()]))
    if final is None:
        rows.append(("final result", f"none yet: python -m search.final --study {study.study_name}"))
    else:
        r = final.record
        seeds = _seed_count(r)
        rows.append(("final result", f"test accuracy {percent(r['test_accuracy_mean'])} ± "
                                     f"{100 * r.get('test_accuracy_std', 0.0):.2f} over {seeds} seed(s), "
                                     f"trial {r.get('trial')} retrained for {_count(r.get('epochs'), 'epoch')} "
                                     f"(thesis: {percent(THESIS_BASELINE_TEST)} baseline, "
                                     f"{percent(THESIS_BEST_TEST)} best)"))
    return facts_table(rows) + best_html


def _section(anchor: str, title: str, explanation: str, build: Any, *args: Any, wide: bool = False) -> Section:
    section = Section(anchor, title, explanation, wide=wide)
    try:
        section.figures.append((f"fig-{anchor}", build(*args)))
    except figures.FigureUnavailable as reason:
        section.unavailable = f"Not available: {reason}"
    return section


def search_sections(study: optuna.Study) -> list[Section]:
    trials = study.get_trials(deepcopy=False)
    settings_attr = study.user_attrs.get("settings")
    strategies = StudySettings.from_dict(settings_attr).space.strategies if settings_attr else ()
    return [
        _section("strategy-accuracy", "Which strategy helps? Validation accuracy by strategy",
                 "One point per finished trial. Red stars are the thesis's own recipes, queued as the first trials "
                 "at this study's budget; blue points are trials the sampler chose; grey crosses are pruned trials "
                 "at their best epoch before they were stopped. Boxes show the spread where a strategy has at least "
                 f"{figures.BOX_MIN_TRIALS} complete trials.", figures.strategy_accuracy, trials, strategies),
        _section("optimization-history", "Optimisation history",
                 "Each complete trial's validation accuracy in the order the trials ran, and the best so far.",
                 figures.optimization_history, study),
        _section("intermediate-values", "Intermediate values: pruning at work",
                 "Validation accuracy after each epoch, one line per trial. Lines that stop early belong to "
                 "trials the pruner ended; the epochs they did not train are the epochs saved.",
                 figures.intermediate_values, study),
        _section("param-importances", "Parameter importance",
                 "How much each parameter explains of the variation in validation accuracy across complete "
                 "trials (Optuna's default importance evaluator). Few trials make it a rough guide.",
                 figures.param_importances, study),
        _section("parallel-coordinate", "Parallel coordinates",
                 "Each line is a complete trial through the parameters every complete trial has, "
                 "coloured by its validation accuracy.", figures.parallel_coordinate, study),
        _section("slice", "Slice plots",
                 "Validation accuracy against each parameter, one panel per parameter (scroll sideways). "
                 "A parameter appears only in the trials whose strategy uses it.", figures.slice_plot, study,
                 wide=True),
        _section("timeline", "Timeline", "When each trial ran and how it ended (complete, pruned, failed, running).",
                 figures.timeline, study),
    ]


def final_sections(study: optuna.Study, final: FinalResult | None) -> list[Section]:
    if final is None:
        return [Section("final-result", "Final result", unavailable=(
            "No final result yet: the best configuration has not been retrained on all 60,000 training images "
            f"and tested. Run: python -m search.final --study {study.study_name}  (then this report again)."))]
    r = final.record
    seeds = _seed_count(r)
    thesis = r.get("thesis", {})
    section = Section("final-result", "Final result: test accuracy beside the thesis",
                      f"Trial {r.get('trial')} retrained for {_count(r.get('epochs'), 'epoch')} on "
                      f"{_count(r.get('train_size'), 'image')} and evaluated once on the 10,000 test images "
                      f"(from {final.source}).")
    section.figures.append(("fig-final-vs-thesis", figures.final_vs_thesis(
        r["test_accuracy_mean"], r.get("test_accuracy_std", 0.0), seeds, r.get("validation_accuracy"),
        thesis.get("baseline_test", THESIS_BASELINE_TEST), thesis.get("best_test", THESIS_BEST_TEST))))
    sections = [section]
    if not final.detailed:
        section.unavailable = (f"Per-class accuracy, confusion matrix and learning curves need result.json, "
                               f"which is not in {STUDIES_DIR / study.study_name / 'final'}/ here; the study only "
                               "holds the headline.")
        return sections
    sections += [
        Section("per-class-accuracy", "Per-class test accuracy",
                "The share of each class's 1,000 test images the final network labels correctly; the confusion "
                "matrix below shows what it takes them for instead.",
                figures=[("fig-per-class-accuracy", figures.per_class_accuracy(r["per_class_accuracy"]))]),
        Section("confusion-matrix", "Confusion matrix",
                "Rows: the true class; columns: the predicted class; counts of test images.",
                figures=[("fig-confusion-matrix", figures.confusion_matrix(r["confusion_matrix"], CLASSES))]),
        _section("final-learning-curves", "Learning curves of the final retrain",
                 "Training loss and accuracy per epoch of each seed (the final retrain has no validation set: "
                 "the validation images are part of its training data).",
                 figures.learning_curves, r.get("runs", [])),
    ]
    return sections


def build_report(study: optuna.Study, storage_url: str) -> tuple[str, list[Section]]:
    """The page's HTML and its sections."""
    final = load_final_result(study)
    sections = search_sections(study) + final_sections(study, final)
    now = datetime.datetime.now(datetime.timezone.utc)
    footer = (f"Written {now:%Y-%m-%d %H:%M} UTC by python -m search.report (Optuna {optuna.__version__}). "
              "Live view: python -m search.dashboard.")
    page = render_page(f"Study {study.study_name}: search report", header(study, storage_url, final),
                       sections, footer)
    return page, sections


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    quiet_optuna(optuna.logging.ERROR)
    storage = open_storage(args.storage, create=False)
    study = pick_study(storage, args.study, args.storage)
    page, sections = build_report(study, args.storage)
    out = args.out or STUDIES_DIR / study.study_name / "report.html"
    write_text(out, page)
    drawn = sum(len(s.figures) for s in sections)
    missing = [s.title for s in sections if s.unavailable]
    print(f"wrote {out}: study {study.study_name!r}, {drawn} figures"
          + (f"; not available yet: {'; '.join(missing)}" if missing else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
