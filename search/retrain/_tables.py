"""What ``search.final`` prints: the comparison table, per-class accuracy, test-time augmentation's
paired gain, energy per test image, and whether the thesis's printed figures are comparable."""

from __future__ import annotations

from search.formatting import format_table
from search.retrain._comparison import Candidate, ComparisonRow
from search.retrain._confirmation import Confirmation, seed_range
from search.retrain._result import RetrainResult
from search.retrain._statistics import PairedDifference, Summary
from search.store import ENERGY_FIELD
from search.training import THESIS_BASELINE_TEST, THESIS_BEST_TEST, THESIS_EPOCHS


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _microjoules(picojoules: float | None) -> str:
    return "n/a" if picojoules is None else f"{picojoules / 1e6:.2f} uJ"


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.2f}"


def results_table(rows: list[ComparisonRow], two_objectives: bool = False) -> str:
    """One row per configuration: search validation, test mean, std, 95% interval, paired difference;
    then each configuration's settings, one line each (in the table they made it too wide to read).

    For a two-objective (Pareto) study each row also names its second objective as the search
    measured it: compute energy per image, in microjoules.
    """
    lines = []
    for row in rows:
        s, d = row.summary, row.difference
        interval = "n/a" if s.low is None else f"[{_pct(s.low)}, {_pct(s.high)}]"
        if d is None:
            diff, p, verdict = "reference", "", ""
        else:
            diff = _points(d.mean) + ("" if d.low is None else f" [{_points(d.low)}, {_points(d.high)}]")
            p = "n/a" if d.p_value is None else f"{d.p_value:.3f}"
            verdict = {None: "n/a (1 seed)", True: "within seed noise", False: "differs"}[d.within_noise]
        energy = [] if not two_objectives else [_microjoules(row.search_energy_pj)]
        lines.append(
            [
                row.label,
                _pct(row.result.validation_accuracy),
                *energy,
                row.result.budget.epochs,
                "n/a" if row.result.test_reads_before is None else row.result.test_reads_before,
                _pct(s.mean),
                "n/a" if s.std is None else f"{100 * s.std:.2f}",
                interval,
                diff,
                p,
                verdict,
            ]
        )
    table = format_table(
        [
            "configuration",
            "val (search)",
            *(["energy (search)"] if two_objectives else []),
            "epochs",
            "test reads before",
            "test mean",
            "std",
            "95% interval",
            "vs reference (points)",
            "paired p",
            "",
        ],
        lines,
    )
    width = max(len(row.label) for row in rows)
    legend = [f"  {row.label:>{width}}: {row.settings}" for row in rows]
    reread = [row.label for row in rows if row.result.test_reads_before]
    note = (
        [
            f"read before: {', '.join(reread)}: their test accuracy had been read in other retrains of the study "
            "(or of the study a reused seed came from) before these seeds, so a choice made after that look is "
            "not an unseen test (docs/retrain.md)"
        ]
        if reread
        else []
    )
    reused = _reused_lines(rows)
    return "\n".join([table, "settings:", *legend, *note, *reused])


def _reused_lines(rows: list[ComparisonRow]) -> list[str]:
    """Which rows' seeds were read from earlier retrains (``--reuse``), and from where."""
    lines = []
    for row in rows:
        by_folder: dict[str, list[int]] = {}
        for run in row.result.runs:
            if run.reused_from:
                by_folder.setdefault(run.reused_from, []).append(run.seed)
        lines += [
            f"  {row.label}: seed(s) {', '.join(map(str, seeds))} from {folder}/" for folder, seeds in by_folder.items()
        ]
    if not lines:
        return []
    return [
        "reused (--reuse): these seeds are the same networks an earlier retrain trained and tested; "
        "their records were read, neither trained nor tested again here:",
        *lines,
    ]


def confirmation_intro(pair: tuple[Candidate, Candidate], first_seeds: int, confirming_seeds: int) -> str:
    """What the confirmation is about to train, and why these two."""
    (b, a), first = pair, seed_range(0, first_seeds)
    return (
        f"confirming on {seed_range(first_seeds, confirming_seeds)}: A = {a.label} and B = {b.label}, the searched "
        f"configuration and the thesis recipe with the highest test means over {first}"
    )


def confirmation_lines(confirmation: Confirmation) -> list[str]:
    """The pair's table over the first, the confirming and all seeds, A - B paired over each, the verdict."""
    c = confirmation
    first, confirming, every = c.ranges

    def mean(s: Summary) -> str:
        return _pct(s.mean) + ("" if s.low is None else f" [{_pct(s.low)}, {_pct(s.high)}]")

    def diff(d: PairedDifference) -> str:
        interval = "" if d.low is None else f" [{_points(d.low)}, {_points(d.high)}]"
        return _points(d.mean) + interval + ("" if d.p_value is None else f", p = {d.p_value:.3f}")

    rows = [
        [f"B: {c.thesis.label}", *(mean(s) for s in (c.thesis.first, c.thesis.confirming, c.thesis.all))],
        [f"A: {c.searched.label}", *(mean(s) for s in (c.searched.first, c.searched.confirming, c.searched.all))],
        ["A - B, paired (points)", *(diff(d) for d in (c.first_difference, c.confirming_difference, c.all_difference))],
    ]
    return [
        f"confirming {confirming}: A, the searched configuration with the highest test mean over {first}, "
        f"and B, the thesis recipe with the highest, on seeds that did not choose them",
        format_table(
            ["configuration", f"{first} (chose A and B)", f"{confirming} (confirming)", f"{every} (both)"], rows
        ),
        c.verdict,
        *([f"looked before: {c.looked_before}"] if c.looked_before else []),
    ]


def tta_line(result: RetrainResult) -> str | None:
    """What test-time augmentation bought, paired by seed on the same networks; None for a result without it."""
    d, plain = result.tta_gain, result.plain_accuracies
    if d is None or not plain:
        return None
    p = "" if d.p_value is None else f", p = {d.p_value:.2g}"
    return (
        f"trial {result.trial} without test-time augmentation: {_pct(sum(plain) / len(plain))}; "
        f"test-time {result.budget.tta} adds {_points(d.mean)} points (paired by seed, 95% interval "
        f"[{_points(d.low)}, {_points(d.high)}]{p})"
    )


def per_class_table(result: RetrainResult) -> str:
    run = result.runs[0]
    return format_table(
        [f"class (seed {run.seed})", "test accuracy"], [[c, _pct(a)] for c, a in run.per_class_accuracy.items()]
    )


def energy_line(result: RetrainResult) -> str | None:
    """The compute energy per test image of the first seed's network, where it was measured."""
    run = result.runs[0]
    energy = run.energy
    if not energy:
        return None
    return (
        f"trial {result.trial}, seed {run.seed}: compute energy {energy[ENERGY_FIELD] / 1e6:.2f} uJ per test image "
        f"({energy['macs_per_image']:,.0f} MACs, {energy['synops_per_image']:,.0f} synaptic ops; docs/energy.md)"
    )


def thesis_line(budget_text: str, at_thesis_budget: bool) -> str:
    """The thesis's printed test figures, only beside retrains at its budget (60,000 images, 30 epochs or more)."""
    if not at_thesis_budget:
        return (
            f"{budget_text}: not at the thesis's budget (all 60,000 images, {THESIS_EPOCHS} epochs or more, one image "
            "per prediction), so its printed figures are not shown"
        )
    return (
        f"thesis, printed (test; its own code, {THESIS_EPOCHS} epochs): baseline {100 * THESIS_BASELINE_TEST:.2f}%, "
        f"best (cosine annealing) {100 * THESIS_BEST_TEST:.2f}%"
    )


def report_lines(
    rows: list[ComparisonRow],
    results: list[RetrainResult],
    budget_text: str,
    at_thesis_budget: bool,
    two_objectives: bool,
) -> list[str]:
    """Everything ``search.final`` prints after the retrains, in order."""
    lines = [results_table(rows, two_objectives)]
    if len(results) == 1:
        lines.append(per_class_table(results[0]))
    for result in results:
        lines += [line for line in (tta_line(result), energy_line(result)) if line is not None]
    lines.append(thesis_line(budget_text, at_thesis_budget))
    return lines
