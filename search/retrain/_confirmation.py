"""Confirming seeds: a comparison's winner checked on seeds that did not choose it.

A comparison of searched configurations beside the thesis's recipes reads the test set once per
seed, and picking its best rows is a choice made after that look: the pick's lead over those
seeds is biased upwards (it won partly on seed luck).  ``search.final --confirm K`` names the
pair by a rule written in the code and retrains only it on K further seeds: **A**, the searched
configuration with the highest test mean over the first seeds, and **B**, the thesis recipe with
the highest.  The table sets the first seeds, the confirming ones and all of them side by side,
with the paired difference A - B over each: only the confirming seeds' difference is free of the
choice's seed luck.  (Not of the test images: A and B were chosen on the same 10,000, so a lead
that holds on new seeds may still owe something to those images.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from search.errors import UserError
from search.retrain._comparison import Candidate
from search.retrain._result import RetrainResult
from search.retrain._statistics import PairedDifference, Summary, paired_difference, summarize

NEEDS = (
    "--confirm compares the best searched configuration with the best thesis recipe: "
    "it needs a thesis recipe (--thesis) and a searched configuration (--top K or --trial N)"
)


def check_confirmable(candidates: list[Candidate]) -> None:
    """Refuse ``--confirm`` before any training when the retrain has no pair for it to name."""
    kinds = {c.record.is_thesis for c in candidates}
    if kinds != {True, False}:
        raise UserError(NEEDS)


def confirmation_pair(candidates: list[Candidate], results: list[RetrainResult]) -> tuple[Candidate, Candidate]:
    """(B, A): the thesis recipe and the searched configuration with the highest test mean in
    ``results`` (one per candidate).  A tie goes to the earlier row of the comparison (``--top``'s
    rows come in validation order)."""
    check_confirmable(candidates)

    def best(thesis: bool) -> Candidate:
        rows = [i for i, c in enumerate(candidates) if c.record.is_thesis == thesis]
        return candidates[max(rows, key=lambda i: (results[i].summary.mean, -i))]

    return best(True), best(False)


def seed_range(first: int, count: int) -> str:
    """Seeds ``first`` .. ``first + count - 1`` in words: "seed 3" or "seeds 3-5"."""
    return f"seed {first}" if count == 1 else f"seeds {first}-{first + count - 1}"


@dataclass(frozen=True)
class ConfirmationRow:
    """One configuration of the pair over the first seeds, the confirming ones and all of them."""

    label: str
    result: RetrainResult  # all seeds
    first: Summary
    confirming: Summary
    all: Summary


@dataclass(frozen=True)
class Confirmation:
    """The pair's retrain on first + confirming seeds and A - B, paired, over each range."""

    first_seeds: int
    confirming_seeds: int
    thesis: ConfirmationRow  # B
    searched: ConfirmationRow  # A
    first_difference: PairedDifference
    confirming_difference: PairedDifference
    all_difference: PairedDifference
    # Set where an earlier confirmation of the same pair, with another K, printed its verdict first.
    looked_before: str | None = None

    @property
    def ranges(self) -> tuple[str, str, str]:
        """The three seed ranges in words: first, confirming, all."""
        n, k = self.first_seeds, self.confirming_seeds
        return seed_range(0, n), seed_range(n, k), seed_range(0, n + k)

    @property
    def verdict(self) -> str:
        """Whether the confirming seeds bear out A's lead, in words."""
        d = self.confirming_difference
        first, confirming, _ = self.ranges
        over = f"over {confirming}: A - B = {100 * d.mean:+.2f} points"
        if self.first_difference.mean <= 0:
            return f"nothing to confirm: A did not lead B over {first}; {over}"
        if d.mean <= 0:
            return f"not confirmed: A does not lead B over {confirming}, which did not choose them ({over})"
        if d.within_noise is None:
            return f"A leads B over {confirming} too; one seed gives no test"
        if d.within_noise:
            return f"A leads B over {confirming} too, but within seed noise (paired p = {d.p_value:.3f})"
        return f"confirmed: A leads B over {confirming}, which did not choose them (paired p = {d.p_value:.3f})"

    def to_dict(self) -> dict[str, Any]:
        def row(r: ConfirmationRow) -> dict[str, Any]:
            return {
                "label": r.label,
                "trial": r.result.trial,
                "thesis_preset": r.result.thesis_preset,
                "first_mean": r.first.mean,
                "confirming_mean": r.confirming.mean,
                "all_mean": r.all.mean,
                "all_ci95": [r.all.low, r.all.high],
                "accuracies": r.result.accuracies,
            }

        return {
            "rule": "A: the searched configuration with the highest test mean over the first seeds; "
            "B: the thesis recipe with the highest (search.retrain._confirmation.confirmation_pair)",
            "first_seeds": self.first_seeds,
            "confirming_seeds": self.confirming_seeds,
            "B": row(self.thesis),
            "A": row(self.searched),
            "difference_A_minus_B": {
                "first": self.first_difference.to_dict(),
                "confirming": self.confirming_difference.to_dict(),
                "all": self.all_difference.to_dict(),
            },
            "verdict": self.verdict,
            "looked_before": self.looked_before,
        }


def confirm(
    thesis: tuple[str, RetrainResult],
    searched: tuple[str, RetrainResult],
    first_seeds: int,
    looked_before: str | None = None,
) -> Confirmation:
    """The confirmation of labelled results ``thesis`` (B) and ``searched`` (A), each retrained on the
    same seeds 0 .. N-1, of which the first ``first_seeds`` chose them; ``looked_before`` says which
    earlier confirmation's verdict was read before this one was asked (:func:`earlier_look`)."""
    (b_label, b), (a_label, a) = thesis, searched
    n, total = first_seeds, len(b.accuracies)
    if len(a.accuracies) != total or not 0 < n < total:
        raise ValueError(f"a confirmation needs both rows on the same seeds beyond the first {n}")

    def row(label: str, result: RetrainResult) -> ConfirmationRow:
        acc = result.accuracies
        return ConfirmationRow(label, result, summarize(acc[:n]), summarize(acc[n:]), summarize(acc))

    return Confirmation(
        first_seeds=n,
        confirming_seeds=total - n,
        thesis=row(b_label, b),
        searched=row(a_label, a),
        first_difference=paired_difference(a.accuracies[:n], b.accuracies[:n]),
        confirming_difference=paired_difference(a.accuracies[n:], b.accuracies[n:]),
        all_difference=paired_difference(a.accuracies, b.accuracies),
        looked_before=looked_before,
    )


def earlier_look(earlier: list[dict[str, Any]], confirming_seeds: int) -> str | None:
    """What other confirmations of the same pair showed before this one, with ``confirming_seeds`` K,
    was asked; None where there were none.

    ``earlier`` are their records (``confirmation-B-A-*.json``, with ``file`` added; or the study's
    ``final_confirmation`` attribute where its file is gone).  Asking for more (or fewer) seeds, or
    another budget, after a verdict on the pair was read is a further look: the new verdict is
    printed, and says so.  (A rerun of the same confirmation is not: it prints the same verdict.)"""
    if not earlier:
        return None

    def described(record: dict[str, Any]) -> str:
        first, k = record.get("first_seeds"), record.get("confirming_seeds")
        seeds = seed_range(first, k) if isinstance(first, int) and isinstance(k, int) else "its seeds"
        asked = f"--confirm {k}" if isinstance(k, int) else "a confirmation"
        return f"{asked} ({record.get('file')}: {seeds}, {record.get('verdict')})"

    return (
        f"{'; '.join(described(r) for r in earlier)} had been read before this --confirm {confirming_seeds} "
        "was asked: not a blind verdict"
    )
