"""The HTML report of a study (``python -m search.report``): header, search figures, comparison, final result.

:func:`build_report` returns the page; it reads the study and the results folder beside
its storage and writes nothing.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from search.errors import UserError
from search.formatting import distinct_decimals, percent
from search.inspection import _figures as figures
from search.inspection._energy_figures import accuracy_energy_figure, validation_size
from search.inspection._fidelity import fidelity, fidelity_section
from search.inspection._report_html import Section, facts_table, grid_table, render_page
from search.retrain import RetrainRequest, RetrainResult, seed_range
from search.store import TrialRecord, mask_url
from search.training import PRECISION_NAMES, THESIS_BASELINE_TEST, THESIS_BEST_TEST, THESIS_EPOCHS
from search.tuning import FINISHED, epochs_saved, final_command, study_settings


@dataclass(frozen=True)
class FinalResult:
    """The latest retrain of a study: its result.json, or only the headline the study keeps."""

    headline: dict[str, Any]
    result: RetrainResult | None
    source: str

    @property
    def detailed(self) -> bool:
        return self.result is not None


def load_final_result(study: optuna.Study, folder: Path) -> FinalResult | None:
    """The retrain the study's ``final_result`` names, read from its folder under ``folder``/final/."""
    headline = study.user_attrs.get("final_result")
    if not isinstance(headline, dict) or "test_accuracy_mean" not in headline:
        return None
    name = headline.get("folder")
    if isinstance(name, str) and "/" not in name and ".." not in name:
        path = folder / "final" / name / "result.json"
        result = RetrainResult.load(path)
        if result is not None and result.study == study.study_name:
            return FinalResult(headline, result, str(path))
    return FinalResult(headline, None, "the study's user attribute final_result")


def _final_record(study: optuna.Study, folder: Path, attr_name: str, keys: set[str]) -> dict[str, Any] | None:
    """The JSON file under ``folder``/final/ that the study's user attribute ``attr_name`` names, if it is
    here, belongs to this study and holds ``keys``."""
    attr = study.user_attrs.get(attr_name)
    name = attr.get("file") if isinstance(attr, dict) else None
    if not isinstance(name, str) or "/" in name or ".." in name:
        return None
    try:
        record = json.loads((folder / "final" / name).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("study") != study.study_name or not keys <= record.keys():
        return None
    return record


def load_comparison(study: optuna.Study, folder: Path) -> dict[str, Any] | None:
    """The latest comparison the study's ``final_comparison`` names, if its file is here."""
    return _final_record(study, folder, "final_comparison", {"rows"})


def load_confirmation(study: optuna.Study, folder: Path) -> dict[str, Any] | None:
    """The latest confirmation (``search.final --confirm``) the study's ``final_confirmation`` names."""
    return _final_record(study, folder, "final_confirmation", {"A", "B", "difference_A_minus_B", "verdict"})


def _precision_text(precision: str) -> str:
    """A study's precision as the report shows it (docs/performance.md#precision)."""
    if precision == "bf16":
        return "bfloat16 autocast of convolutions and matrix products (neurons, loss, optimiser float32)"
    return PRECISION_NAMES.get(precision, precision)


def _count(n: object, noun: str) -> str:
    if not isinstance(n, int):
        return f"? {noun}s"
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _value(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def header(study: optuna.Study, storage_url: str, final: FinalResult | None) -> str:
    trials = study.get_trials(deepcopy=False)
    counts = [(state.name.lower(), sum(t.state == state for t in trials)) for state in optuna.trial.TrialState]
    by_state = ", ".join(f"{n} {name}" for name, n in counts if n) or "none yet"
    rows = [("study", study.study_name), ("storage", mask_url(storage_url)), ("trials", f"{len(trials)}: {by_state}")]
    settings = study_settings(study)
    if settings is not None:
        budget = settings.space.epochs
        finished = sum(t.state in FINISHED for t in trials)
        saved = epochs_saved(study)
        share = ""
        if finished:
            total = finished * budget
            share = f" ({100 * saved / total:.0f}% of the {total} epochs of the finished trials)"
        data = study.user_attrs.get("data", {})
        images = (
            f" on {data['train_size']:,} training images, validated on {data['val_size']:,}"
            if {"train_size", "val_size"} <= set(data)
            else ""
        )
        seed = f" (seed {settings.seed})" if settings.seed is not None else ""
        if settings.multi_objective:  # Optuna prunes no trial of a two-objective study
            rows += [
                ("budget", f"{_count(budget, 'epoch')} per trial{images}"),
                ("pruner, sampler", f"none (two objectives: Optuna prunes no trial), {settings.sampler}{seed}"),
            ]
        else:
            rows += [
                ("budget", f"{_count(budget, 'epoch')} per trial{images}"),
                ("pruner, sampler", f"{settings.pruner_text}, {settings.sampler}{seed}"),
                ("epochs saved by pruning", f"{_count(saved, 'epoch')}{share}"),
            ]
        rows.append(("precision", _precision_text(settings.precision)))
    best_html = "<p>No complete trial yet: no best configuration.</p>"
    complete = study.get_trials(deepcopy=False, states=(figures.COMPLETE,))
    retrain = _retrain_command(study, storage_url)
    if len(study.directions) > 1:
        front = sorted(study.best_trials, key=lambda t: t.number)
        digits = distinct_decimals([TrialRecord.of(t).energy_uj for t in front])
        rows.append(
            (
                "Pareto front",
                ", ".join(
                    f"#{t.number} ({percent(t.values[0])}, {TrialRecord.of(t).energy_uj:.{digits}f} uJ)" for t in front
                )
                or "none yet",
            )
        )
        best_html = (
            "<p>Two objectives: no single best configuration. The Pareto front is listed above and drawn "
            'in <a href="#accuracy-energy">Accuracy against energy</a>.</p>'
        )
        complete = []
    if complete:
        best = study.best_trial
        record = TrialRecord.of(best)
        preset = record.thesis_preset
        rows.append(
            (
                "best trial",
                f"#{best.number}, {record.strategy}"
                f"{f' (the thesis recipe {preset!r})' if preset else ''}: validation accuracy "
                f"{percent(best.value)} at epoch {record.best_epoch or '?'}",
            )
        )
        best_html = f"<h3>Best configuration (trial {best.number})</h3>" + grid_table(
            ["parameter", "value"], [(k, _value(v)) for k, v in best.params.items()]
        )
    if final is None:
        rows.append(("final result", _no_final_text(study, retrain)))
    else:
        rows.append(("final result", final_line(final.headline)))
    return facts_table(rows) + best_html


def _front_command(study: optuna.Study, storage_url: str) -> str:
    """How to retrain a two-objective study: its front's most accurate trial, or its K most accurate."""
    front = sorted(study.best_trials, key=lambda t: t.values[0], reverse=True)
    if not front:
        return "no trial on the Pareto front yet"
    one = final_command(study.study_name, storage_url, "--trial", str(front[0].number))
    return f"{one} (a trial of the Pareto front; --top K retrains the front's K most accurate)"


def final_line(h: dict[str, Any]) -> str:
    """The headline of a retrain with its budget; the thesis's figures only beside a full retrain."""
    std = h.get("test_accuracy_std")
    spread = "n/a (1 seed)" if std is None or h.get("seeds") == 1 else f"{100 * std:.2f}"
    text = (
        f"test accuracy {percent(h['test_accuracy_mean'])}, std {spread}; trial {h.get('trial')} retrained on "
        f"{_count(h.get('train_size'), 'training image')} for {_count(h.get('epochs'), 'epoch')}, "
        f"{_count(h.get('seeds'), 'seed')}"
    )
    if h.get("reduced"):
        return text + " (a reduced retrain: not comparable with the thesis's figures)"
    if not h.get("at_thesis_budget"):
        return (
            text + f" (not at the thesis's budget of {THESIS_EPOCHS} epochs: its printed figures are not set beside it)"
        )
    return text + f" (thesis, printed: {percent(THESIS_BASELINE_TEST)} baseline, {percent(THESIS_BEST_TEST)} best)"


def _section(anchor: str, title: str, explanation: str, build: Any, *args: Any, wide: bool = False) -> Section:
    section = Section(anchor, title, explanation, wide=wide)
    try:
        section.figures.append((f"fig-{anchor}", build(*args)))
    except figures.FigureUnavailable as reason:
        section.unavailable = f"Not available: {reason}"
    return section


def search_sections(study: optuna.Study) -> list[Section]:
    trials = study.get_trials(deepcopy=False)
    settings = study_settings(study)
    strategies = settings.space.strategies if settings else ()
    return [
        _section(
            "strategy-accuracy",
            "Which strategy helps? Validation accuracy by strategy",
            "One point per finished trial. Red stars are the thesis's own recipes, queued as the first trials "
            "at this study's budget and never pruned; blue points are trials the sampler chose; grey crosses are "
            "pruned trials at their best epoch before they were stopped. Boxes show the spread where a strategy "
            f"has at least {figures.BOX_MIN_TRIALS} complete trials.",
            figures.strategy_accuracy,
            trials,
            strategies,
        ),
        _section(
            "optimization-history",
            "Optimisation history",
            "Each complete trial's validation accuracy in the order the trials ran, and the best so far.",
            figures.optimization_history,
            study,
        ),
        _section(
            "intermediate-values",
            "Intermediate values: pruning at work",
            "Validation accuracy after each epoch, one line per trial. Lines that stop early belong to "
            "trials the pruner ended; the epochs they did not train are the epochs saved.",
            figures.intermediate_values,
            study,
        ),
        _section(
            "param-importances",
            "Parameter importance",
            "How much each parameter matters for reaching high validation accuracy across complete trials, by "
            "PED-ANOVA (Optuna's default evaluator) on the most accurate trials: the evaluator and target of the "
            "dashboard's own Hyperparameter Importance chart, so the two rank the parameters alike. Few trials make "
            "it a rough guide.",
            figures.param_importances,
            study,
        ),
        _section(
            "parallel-coordinate",
            "Parallel coordinates",
            "Each line is a complete trial through the parameters every complete trial has, "
            "coloured by its validation accuracy.",
            figures.parallel_coordinate,
            study,
        ),
        _section(
            "slice",
            "Slice plots",
            "Validation accuracy against each parameter, one panel per parameter (scroll sideways). "
            "A parameter appears only in the trials whose strategy uses it.",
            figures.slice_plot,
            study,
            wide=True,
        ),
        _section(
            "timeline",
            "Timeline",
            "When each trial ran and how it ended (complete, pruned, failed, running).",
            figures.timeline,
            study,
        ),
        _section(
            "accuracy-energy",
            "Accuracy against energy",
            "Validation accuracy against the estimated compute energy per image (SpikingJelly's counters, "
            "45 nm costs; docs/energy.md) of every trial that recorded it, on a log scale where the energies span "
            "a factor of 10. Stars: the thesis's recipes; the line: the Pareto front; grey crosses: over the energy "
            "budget; grey rings: trials at chance level, never on the front. Energies within 1% of each other are "
            "equal for the estimate: the figure then says so and draws no front.",
            lambda: accuracy_energy_figure(
                trials, budget_pj=settings.max_energy_pj if settings else None, val_size=validation_size(study)
            ),
        ),
    ]


def final_sections(
    study: optuna.Study, final: FinalResult | None, folder: Path, storage_url: str, compared: bool = False
) -> list[Section]:
    """The single configuration's retrain (``search.final --study``); nothing to ask for where none was
    run but a comparison (``compared``) retrained the best configurations beside others."""
    if final is None and compared:
        return []
    if final is None:
        retrain = _retrain_command(study, storage_url)
        advice = f"Run: {retrain}  (then this report again)." if retrain.startswith("python ") else f"{retrain}."
        return [
            Section(
                "final-result",
                "Final result",
                unavailable=(
                    "No final result yet: the best configuration has not been retrained on all 60,000 training images "
                    f"and tested. {advice}"
                ),
            )
        ]
    h = final.headline
    section = Section(
        "final-result",
        "Final result: test accuracy and its budget",
        f"{final_line(h)}. Evaluated once per seed on the 10,000 test images (from {final.source}).",
    )
    sections = [section]
    if h.get("reduced"):
        section.caveat = (
            "A reduced retrain (fewer training images or epochs than the trial): not set beside the thesis's figures."
        )
    elif not h.get("at_thesis_budget"):
        section.caveat = (
            f"Not at the thesis's budget (all 60,000 training images, {THESIS_EPOCHS} epochs or more, one image per "
            "prediction): the thesis's printed figures are not set beside this retrain."
        )
    else:
        result = final.result
        budget = result.budget.describe() if result else f"{_count(h.get('seeds'), 'seed')}"
        section.figures.append(
            (
                "fig-final-vs-thesis",
                figures.final_vs_thesis(
                    h["test_accuracy_mean"],
                    h.get("test_accuracy_std"),
                    budget,
                    (THESIS_BASELINE_TEST, THESIS_BEST_TEST),
                ),
            )
        )
    if final.result is None:
        section.unavailable = (
            f"Per-class accuracy, confusion matrix and learning curves need result.json, "
            f"which is not in {folder / 'final'}/ here; the study only holds the headline."
        )
        return sections
    result = final.result
    run = result.runs[0]
    sections += [
        Section(
            "per-class-accuracy",
            f"Per-class test accuracy (seed {run.seed})",
            "The share of each class's 1,000 test images the final network labels correctly; the confusion "
            "matrix below shows what it takes them for instead.",
            figures=[("fig-per-class-accuracy", figures.per_class_accuracy(run.per_class_accuracy))],
        ),
        Section(
            "confusion-matrix",
            f"Confusion matrix (seed {run.seed})",
            "Rows: the true class; columns: the predicted class; counts of test images.",
            figures=[
                ("fig-confusion-matrix", figures.confusion_matrix(run.confusion_matrix, list(run.per_class_accuracy)))
            ],
        ),
        _section(
            "final-learning-curves",
            "Learning curves of the final retrain",
            f"Training loss and accuracy per epoch of each seed ({result.budget.describe()}; the final "
            "retrain has no validation set: the validation images are part of its training data).",
            figures.learning_curves,
            [r.to_dict() for r in result.runs],
            result.budget.describe(),
        ),
    ]
    return sections


def comparison_sections(study: optuna.Study, comparison: dict[str, Any] | None, storage_url: str) -> list[Section]:
    if comparison is None:
        flags = _comparison_flags(study)
        run = (
            f"Run: {final_command(study.study_name, storage_url, *flags)}  (then this report again)."
            if flags
            else "Nothing to compare yet: the study has no complete trial."
        )
        return [Section("comparison", "Comparison under one protocol", unavailable=f"No comparison yet. {run}")]
    thesis = figures.comparison_thesis_figures(comparison)
    text = (
        "Each configuration retrained with the same seeds, images and epoch rule; the point is the test "
        "mean over seeds, the bar its 95% interval (Student's t). Red stars: the thesis's recipes retrained "
        "here; blue circles: searched configurations"
        + ("; dotted and dashed lines: the thesis's printed figures" if thesis else "")
        + f" ({comparison['budget']})."
    )
    if comparison.get("reduced"):
        text += " A reduced retrain: the thesis's printed figures are not comparable with these points."
    elif thesis is None:
        text += (
            f" Not at the thesis's budget ({THESIS_EPOCHS} epochs or more on all 60,000 images): its printed "
            "figures are not drawn."
        )
    return [
        _section(
            "comparison",
            "Comparison under one protocol: test accuracy with intervals",
            text,
            figures.forest_plot,
            comparison["rows"],
            thesis,
            comparison["budget"],
        )
    ]


def _mean_cell(row: dict[str, Any]) -> str:
    """A confirmation row's mean over both seed ranges, with its interval where it has one."""
    low, high = row["all_ci95"]
    interval = "" if low is None or high is None else f" [{percent(low)}, {percent(high)}]"
    return percent(row["all_mean"]) + interval


def _difference(d: dict[str, Any]) -> str:
    text = f"{100 * d['mean']:+.2f}"
    low, high = d.get("ci95") or [None, None]
    if low is not None and high is not None:
        text += f" [{100 * low:+.2f}, {100 * high:+.2f}]"
    return text + ("" if d.get("p_value") is None else f", p = {d['p_value']:.3f}")


def confirmation_sections(study: optuna.Study, comparison: dict[str, Any] | None, folder: Path) -> list[Section]:
    """The confirming seeds' table (``search.final --confirm K``) after the comparison: A and B over the
    seeds that chose them, the confirming seeds and both, A - B paired over each, and the verdict."""
    if comparison is None:
        return []
    title = "Confirming seeds: the winning pair on seeds that did not choose it"
    confirmation = load_confirmation(study, folder)
    if confirmation is None:
        return [
            Section(
                "confirmation",
                title,
                unavailable="No confirming seeds yet: run the comparison's search.final command again with "
                "--confirm K (K further seeds for the best searched configuration and the best thesis recipe).",
            )
        ]
    c = confirmation
    n, k = int(c["first_seeds"]), int(c["confirming_seeds"])
    first, confirming, both = seed_range(0, n), seed_range(n, k), seed_range(0, n + k)
    rows = [
        [
            f"{key}: {c[key]['label']}",
            percent(c[key]["first_mean"]),
            percent(c[key]["confirming_mean"]),
            _mean_cell(c[key]),
        ]
        for key in ("B", "A")
    ]
    d = c["difference_A_minus_B"]
    rows.append(
        ["A - B, paired (points)", _difference(d["first"]), _difference(d["confirming"]), _difference(d["all"])]
    )
    explanation = (
        f"A is the searched configuration with the highest test mean over {first}, B the thesis recipe with the "
        f"highest; both trained {confirming} too, seeds that did not choose them. Test means, the interval over "
        f"{both} (Student's t), A - B paired over each range ({c['budget']}). Verdict: {c['verdict']}."
    )
    if c.get("looked_before"):
        explanation += f" Looked before: {c['looked_before']}."
    latest = study.user_attrs["final_comparison"]["file"]  # load_comparison found it
    if c.get("comparison") != latest:
        explanation += f" It comes from an earlier comparison ({c.get('comparison')}), not the latest ({latest})."
    section = Section("confirmation", title, explanation)
    section.table_html = grid_table(
        ["configuration", f"{first} (chose A and B)", f"{confirming} (confirming)", f"{both} (both)"], rows
    )
    return [section]


def _retrain_command(study: optuna.Study, storage_url: str) -> str:
    """The retrain to suggest; where search.final would refuse every retrain yet, why there is none."""
    if len(study.directions) > 1:
        return _front_command(study, storage_url)
    if not _selectable(study, RetrainRequest()):
        return "nothing to retrain yet: no complete trial"
    return final_command(study.study_name, storage_url)


def _no_final_text(study: optuna.Study, retrain: str) -> str:
    """The header's final-result line before a single retrain: a comparison may have retrained the best already."""
    compared = study.user_attrs.get("final_comparison")
    if isinstance(compared, dict):
        rows = compared.get("rows")
        what = f"{rows} configurations" if isinstance(rows, int) else "its configurations"
        return (
            f"no single retrain; the comparison below ({compared.get('file', 'search.final')}) retrained {what} "
            f"({compared.get('budget', 'its budget')}): see Comparison under one protocol"
        )
    return f"none yet: {retrain}"


def _selectable(study: optuna.Study, request: RetrainRequest) -> bool:
    """Whether search.final would find the configurations ``request`` asks for (it raises UserError if not)."""
    try:
        return bool(request.candidates(study))
    except UserError:
        return False


def _comparison_flags(study: optuna.Study) -> tuple[str, ...] | None:
    """Up to the 3 most accurate searched configurations (a two-objective study: of its front) beside the
    thesis recipes, as far as the study has them: each flag only where search.final can select it, so the
    command runs as printed (a --no-thesis study gets no --thesis).  None where it has nothing to compare."""
    thesis = _selectable(study, RetrainRequest(thesis=True))
    top = next((k for k in (3, 2, 1) if _selectable(study, RetrainRequest(top=k, thesis=thesis))), None)
    flags = (("--top", str(top)) if top else ()) + (("--thesis",) if thesis else ())
    return (*flags, "--seeds", "3") if flags else None


def _fidelity_sections(study: optuna.Study, folder: Path) -> list[Section]:
    """The fidelity check's section, where it can apply: a study of more than one epoch per trial (it
    can rank an early epoch against the last), or one whose retrains already rank against the search."""
    result = fidelity(study, folder)
    settings = study_settings(study)
    ranks = any(a.tau == a.tau for a in result.rows)  # one ranking with a spread (not nan)
    return [fidelity_section(result)] if ranks or (settings and settings.space.epochs > 1) else []


def build_report(study: optuna.Study, storage_url: str, folder: Path) -> tuple[str, list[Section]]:
    """The page's HTML and its sections; ``folder`` holds the study's results."""
    final = load_final_result(study, folder)
    comparison = load_comparison(study, folder)
    sections = (
        search_sections(study)
        + _fidelity_sections(study, folder)
        + comparison_sections(study, comparison, storage_url)
        + confirmation_sections(study, comparison, folder)
        + final_sections(study, final, folder, storage_url, compared="final_comparison" in study.user_attrs)
    )
    now = datetime.datetime.now(datetime.UTC)
    footer = (
        f"Written {now:%Y-%m-%d %H:%M} UTC by python -m search.report (Optuna {optuna.__version__}). "
        "Live view: python -m search.dashboard."
    )
    page = render_page(f"Study {study.study_name}: search report", header(study, storage_url, final), sections, footer)
    return page, sections
