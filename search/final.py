"""python -m search.final: retrain searched configurations on all 60,000 training images, test once.

Without --top, --thesis or --trial it retrains the study's best trial.  With them it
retrains several configurations side by side under one protocol: the same seeds
(0 .. N-1, paired), the same images, the same epoch rule, and prints one table with each
configuration's test mean, std, 95% interval and its paired difference to a reference
(the thesis's baseline recipe when it is among them, else the first row).

    python -m search.final                                   # best trial of the study fmnist-snn
    python -m search.final --study best                      # best trial among like-budget studies
    python -m search.final --top 3 --thesis --seeds 3        # the comparison of docs/results.md
    python -m search.final --trial 12 --trial 40 --seeds 3

Epochs (unless --epochs): the trial's own epoch count when its learning rate follows a
schedule (the schedule was tuned over that length), the epoch of its best validation
accuracy when the rate is constant.  With --epochs N the schedule stretches to N epochs
(docs/strategies.md).  Each finished (configuration, seed) is written at once under
<results>/<study>/final/trial-N-<epochs>ep-<images>img/ (with --tta flip: ...img-tta-flip/), with its
weights (model.pt for seed 0, runs/seed-K.pt); rerunning the same command after a stop skips what finished,
and --tta flip reads again the networks the same retrain without it kept.
"""

from __future__ import annotations

import argparse
from functools import partial

from search.cli import add_compile_flag, add_runtime_flags, add_storage_flags, make_parser, positive_int, without_tta
from search.config import TEST_TIME_AUGMENTATIONS
from search.errors import command


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser("search.final", __doc__)
    add_storage_flags(parser, best=True, results=True)
    group = parser.add_argument_group("what to retrain (default: the study's best trial)")
    group.add_argument("--top", type=positive_int, default=None, metavar="K",
                       help="the K best complete trials with distinct configurations (with --thesis: the K "
                            "best searched ones, beside the thesis recipes)")
    group.add_argument("--thesis", action="store_true", help="the study's thesis recipes (its enqueued trials)")
    group.add_argument("--trial", type=int, action="append", default=None, metavar="N",
                       help="trial number N (repeat for several)")
    group.add_argument("--force", action="store_true", help="retrain a pruned or failed --trial anyway")
    group = parser.add_argument_group("protocol")
    group.add_argument("--seeds", type=positive_int, default=1,
                       help="seeds 0..N-1 for every configuration, paired (default 1: no interval)")
    group.add_argument("--epochs", type=positive_int, default=None,
                       help="epochs of every retrain (default: the epoch rule above); schedules stretch to it")
    group.add_argument("--train-size", type=positive_int, default=None,
                       help="retrain on a stratified subset (a reduced retrain, for tests; default all 60,000)")
    group.add_argument("--tta", choices=TEST_TIME_AUGMENTATIONS, default=None,
                       help="test-time augmentation of the test set: flip averages each image's class scores with "
                            "its mirror image's, and also records the accuracy without it (default: the trial's "
                            "own, none)")
    add_runtime_flags(parser)
    add_compile_flag(parser)
    return parser.parse_args(argv)


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # torch and SpikingJelly load only once the flags are fine: --help and flag errors answer at once.
    from tqdm import tqdm

    from search.cli import quiet_optuna
    from search.comparison import budget_for, compare, comparison_name, retrain_candidate, select_candidates
    from search.data import load_full_train, load_test_set
    from search.device import resolve_device
    from search.kernels import apply_neuron_backend, neuron_backend_in_use
    from search.objective import versions
    from search.paths import artifacts_dir, results_root, study_dir
    from search.publish import publish_comparison, publish_retrain
    from search.results import write_json
    from search.storage import check_folder_writable, mask_url, open_storage
    from search.strategies import THESIS_BASELINE_TEST, THESIS_BEST_TEST, stretch_schedule
    from search.study import pick_study
    from search.trial_record import ENERGY_FIELD

    quiet_optuna()
    device = resolve_device(args.device)
    apply_neuron_backend(args.neuron_backend, device)
    storage = open_storage(args.storage, create=False, writable=True)  # the result goes into the study too
    study, why = pick_study(storage, args.study, args.storage)
    if why:
        print(why)
    candidates = select_candidates(study, top=args.top, thesis=args.thesis, trials=args.trial, force=args.force)
    if args.compile is not None:
        candidates = [c.with_config(c.config.replace(compile=args.compile)) for c in candidates]
    if args.tta is not None:
        candidates = [c.with_config(c.config.replace(tta=args.tta)) for c in candidates]
    root = results_root(args.storage, args.results_dir)
    final_dir = study_dir(root, study.study_name) / "final"
    check_folder_writable(final_dir, "the retrain's results")
    train_set = load_full_train(args.data_dir, download=args.download, train_size=args.train_size).to(device)
    test_set = load_test_set(args.data_dir, download=args.download).to(device)
    budgets = [budget_for(c, train_size=len(train_set), epochs=args.epochs, seeds=args.seeds) for c in candidates]
    print(f"study {study.study_name!r} in {mask_url(args.storage)}: retraining {len(candidates)} "
          f"configuration(s) x {args.seeds} seed(s) on {len(train_set):,} images on {device}; "
          f"results in {final_dir}/")
    bar = tqdm(total=len(candidates) * args.seeds, unit="run", disable=None)

    def on_run(candidate, run, resumed) -> None:  # type: ignore[no-untyped-def]
        bar.update(1)
        bar.write(f"  {candidate.label}, seed {run.seed}: test accuracy {100 * run.test_accuracy:.2f}%"
                  f"{without_tta(run.test_accuracy_plain)}"
                  + (f" (the network {run.weights_from}/ trained, read again)" if run.weights_from and not resumed
                     else "")
                  + (" (recorded earlier, not rerun)" if resumed else ""))

    def on_epoch(candidate, seed, stats, *, epochs: int) -> None:  # type: ignore[no-untyped-def]
        # On a terminal the bar says where a long seed is; in a log (no bar) nothing is added.
        bar.set_postfix_str(f"{candidate.label}, seed {seed}: epoch {stats.epoch}/{epochs}, "
                            f"train acc {100 * stats.train_acc:.1f}%, {stats.elapsed_s:.0f} s")

    results = []
    for candidate, budget in zip(candidates, budgets, strict=True):
        folder = final_dir / budget.folder_name(candidate.record.number)
        results.append(retrain_candidate(
            candidate, budget, study_name=study.study_name, storage=mask_url(args.storage), folder=folder,
            train_set=train_set, test_set=test_set, device=device,
            versions={**versions(), "neuron_kernel": neuron_backend_in_use(device, candidate.config.compile)},
            stretch=stretch_schedule, on_run=on_run,
            on_epoch=partial(on_epoch, epochs=budget.epochs)))
    bar.close()
    rows, reference = compare(candidates, results)
    print(results_table(rows, reference))
    last = results[-1] if len(results) == 1 else None
    if last is not None:
        print(per_class_table(last))
    for result in results:
        if result.tta_gain is not None:
            print(tta_line(result))
        energy = result.runs[0].energy
        if energy:
            print(f"trial {result.trial}, seed {result.runs[0].seed}: compute energy "
                  f"{energy[ENERGY_FIELD] / 1e6:.2f} uJ per test image "
                  f"({energy['macs_per_image']:,.0f} MACs, {energy['synops_per_image']:,.0f} synaptic ops; "
                  "docs/energy.md)")
    reduced = any(b.reduced for b in budgets)
    budget_text = budgets[0].describe() if len({b.epochs for b in budgets}) == 1 else \
        f"{len(train_set):,} training images, {args.seeds} seed(s), epochs per row" + \
        (" (reduced retrain)" if reduced else "")
    if reduced:
        print(f"{budget_text}: not comparable with the thesis's printed figures, which are not shown")
    else:
        print(f"thesis, printed (test): baseline {100 * THESIS_BASELINE_TEST:.2f}%, "
              f"best (cosine annealing) {100 * THESIS_BEST_TEST:.2f}%")
    headline = {"trial": results[0].trial, "folder": budgets[0].folder_name(results[0].trial),
                "test_accuracy_mean": rows[0].summary.mean, "test_accuracy_std": rows[0].summary.std,
                "seeds": args.seeds, "epochs": budgets[0].epochs, "train_size": len(train_set), "reduced": reduced}
    if len(results) == 1:
        study.set_user_attr("final_result", headline)
        print(publish_retrain(study, results[0], final_dir / headline["folder"], artifacts_dir(root)))
        return 0
    record = {"study": study.study_name, "budget": budget_text, "reduced": reduced, "reference": reference,
              "rows": [r.to_dict() for r in rows],
              "thesis": {"baseline_test": THESIS_BASELINE_TEST, "best_test": THESIS_BEST_TEST},
              "folders": [b.folder_name(r.trial) for b, r in zip(budgets, results, strict=True)]}
    path = final_dir / comparison_name([r.trial for r in results], args.seeds, len(train_set), args.epochs)
    write_json(path, record)
    study.set_user_attr("final_comparison", {"file": path.name, "budget": budget_text, "rows": len(rows)})
    print(f"wrote {path}")
    print(publish_comparison(study, record, path, artifacts_dir(root)))
    return 0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.2f}"


def results_table(rows: list, reference: int) -> str:  # type: ignore[type-arg]
    """One row per configuration: search validation, test mean, std, 95% interval, paired difference."""
    from search.cli import format_table

    lines = []
    for i, row in enumerate(rows):
        s, d = row.summary, row.difference
        interval = "n/a" if s.low is None else f"[{_pct(s.low)}, {_pct(s.high)}]"
        if d is None:
            diff, p, verdict = "reference", "", ""
        else:
            diff = _points(d.mean) + ("" if d.low is None else f" [{_points(d.low)}, {_points(d.high)}]")
            p = "n/a" if d.p_value is None else f"{d.p_value:.3f}"
            verdict = {None: "n/a (1 seed)", True: "within seed noise", False: "differs"}[d.within_noise]
        lines.append([row.label, row.settings, _pct(row.result.validation_accuracy), row.result.budget.epochs,
                      _pct(s.mean), "n/a" if s.std is None else f"{100 * s.std:.2f}", interval, diff, p, verdict])
    return format_table(["configuration", "settings", "val (search)", "epochs", "test mean", "std",
                         "95% interval", "vs reference (points)", "paired p", ""], lines)


def tta_line(result) -> str:  # type: ignore[no-untyped-def]
    """What test-time augmentation bought, paired by seed on the same networks (a result that used it)."""
    d, plain = result.tta_gain, result.plain_accuracies
    p = "" if d.p_value is None else f", p = {d.p_value:.2g}"
    return (f"trial {result.trial} without test-time augmentation: {_pct(sum(plain) / len(plain))}; "
            f"test-time {result.budget.tta} adds {_points(d.mean)} points (paired by seed, 95% interval "
            f"[{_points(d.low)}, {_points(d.high)}]{p})")


def per_class_table(result) -> str:  # type: ignore[no-untyped-def]
    from search.cli import format_table

    run = result.runs[0]
    return format_table([f"class (seed {run.seed})", "test accuracy"],
                        [[c, _pct(a)] for c, a in run.per_class_accuracy.items()])


if __name__ == "__main__":
    raise SystemExit(main())
