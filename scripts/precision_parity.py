"""Accuracy parity of bfloat16 against float32: retrains of the same configurations, paired by seed.

    A=docs/data/default-rung7/final B=studies/optuna/fmnist-snn/final    # float32 records, bfloat16 retrains
    python scripts/precision_parity.py \\
        --pair $A/trial-25-30ep-60000img $B/trial-25-30ep-60000img-bf16 \\
        --pair $A/trial-3-30ep-60000img $B/trial-3-30ep-60000img-bf16

Each ``--pair FP32_FOLDER BF16_FOLDER`` names two retrain folders of one configuration (``search.final``
writes a ``result.json`` in each; ``--precision bf16`` gives its folder the ``-bf16`` suffix). Seeds
are paired by number. It prints each configuration's per-seed differences (bfloat16 - float32, in
points of test accuracy), then all pairs pooled: the mean difference, its 95% interval and the
paired t-test (search.retrain's statistics), and the verdict of the rule fixed before any
bfloat16 retrain was read (docs/performance.md#precision): parity when the pooled mean lies within
PARITY_POINTS of zero and the paired test finds no difference at 5%. Exit 0 for parity, 1 for none,
2 for folders that do not pair (missing, another configuration or budget, no common seed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from search.retrain import RetrainResult, paired_difference

PARITY_POINTS = 0.15


def _load(folder: Path) -> RetrainResult:
    result = RetrainResult.load(folder / "result.json")
    if result is None:
        raise SystemExit(f"error: {folder}/result.json is missing or not a retrain result")
    return result


def _paired(fp32: RetrainResult, bf16: RetrainResult, name: str) -> tuple[list[float], list[float]]:
    """The two retrains' test accuracies over their common seeds, in seed order."""
    if fp32.budget.precision != "fp32" or bf16.budget.precision != "bf16":
        raise SystemExit(f"error: {name}: expected a float32 folder, then a bfloat16 one")
    if (fp32.study, fp32.trial, fp32.budget.epochs, fp32.budget.train_size) != (
        bf16.study,
        bf16.trial,
        bf16.budget.epochs,
        bf16.budget.train_size,
    ):
        raise SystemExit(f"error: {name}: the two folders retrain another study, trial, epochs or images")
    a = {r.seed: r.test_accuracy for r in fp32.runs}
    b = {r.seed: r.test_accuracy for r in bf16.runs}
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise SystemExit(f"error: {name}: no seed in common")
    return [a[s] for s in seeds], [b[s] for s in seeds]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", nargs=2, action="append", required=True, metavar=("FP32_FOLDER", "BF16_FOLDER"))
    args = parser.parse_args(argv)
    pooled_fp32: list[float] = []
    pooled_bf16: list[float] = []
    try:
        for fp32_folder, bf16_folder in args.pair:
            fp32, bf16 = _load(Path(fp32_folder)), _load(Path(bf16_folder))
            a, b = _paired(fp32, bf16, f"trial {fp32.trial}")
            diffs = " ".join(f"{100 * (y - x):+.2f}" for x, y in zip(a, b))
            print(f"trial {fp32.trial}: bfloat16 - float32 per seed (points): {diffs}")
            pooled_fp32 += a
            pooled_bf16 += b
    except SystemExit as error:
        print(error, file=sys.stderr)
        return 2
    d = paired_difference(pooled_bf16, pooled_fp32)
    interval = "n/a" if d.low is None else f"[{100 * d.low:+.2f}, {100 * d.high:+.2f}]"  # type: ignore[operator]
    p = "n/a" if d.p_value is None else f"{d.p_value:.3f}"
    print(f"pooled over {d.n} pairs: {100 * d.mean:+.2f} points, 95% interval {interval}, paired t-test p = {p}")
    parity = abs(100 * d.mean) <= PARITY_POINTS and d.within_noise is True
    print(
        f"verdict: {'parity' if parity else 'no parity'} (rule: mean within {PARITY_POINTS} points and "
        "not significant at 5%)"
    )
    return 0 if parity else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
