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
    python -m search.final --top 3 --thesis --seeds 3 --confirm 3   # then 3 unseen seeds for the winning pair

Epochs (unless --epochs): the trial's own epoch count when its learning rate follows a
schedule (the schedule was tuned over that length), the epoch of its best validation
accuracy when the rate is constant.  With --epochs N the schedule stretches to N epochs
(docs/strategies.md).  Each finished (configuration, seed) is written at once under
<results>/<study>/final/trial-N-<epochs>ep-<images>img/ (with --tta flip: ...img-tta-flip/), with its
weights (model.pt for seed 0, runs/seed-K.pt); rerunning the same command after a stop skips what finished,
and --tta flip reads again the networks the same retrain without it kept.  With --reuse FOLDER a
seed that an earlier retrain in FOLDER recorded for the same network (configuration, seed, images,
epochs, device, software) is read from its record, not trained and tested again: the thesis
recipes are the same networks in every study (docs/retrain.md#reusing-earlier-retrains---reuse-folder).

With --confirm K, after the comparison, the searched configuration with the highest test mean
(A) and the thesis recipe with the highest (B) train K further seeds in the same folders: seeds
that did not choose them.  A second table sets the first seeds beside these, with A - B paired
over each (docs/retrain.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from search import inspection, retrain, store, training, tuning
from search.cli import (
    add_compile_flag,
    add_runtime_flags,
    add_storage_flags,
    image_count,
    make_parser,
    positive_int,
    quiet_optuna,
)
from search.errors import command


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser("search.final", __doc__)
    add_storage_flags(parser, best=True, results=True)
    group = parser.add_argument_group("what to retrain (default: the study's best trial)")
    group.add_argument(
        "--top",
        type=positive_int,
        default=None,
        metavar="K",
        help="the K best complete trials with distinct configurations (with --thesis: the K "
        "best searched ones, beside the thesis recipes)",
    )
    group.add_argument("--thesis", action="store_true", help="the study's thesis recipes (its enqueued trials)")
    group.add_argument(
        "--trial", type=int, action="append", default=None, metavar="N", help="trial number N (repeat for several)"
    )
    group.add_argument("--force", action="store_true", help="retrain a pruned or failed --trial anyway")
    group = parser.add_argument_group("protocol")
    group.add_argument(
        "--seeds",
        type=positive_int,
        default=1,
        help="seeds 0..N-1 for every configuration, paired (default 1: no interval)",
    )
    group.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="epochs of every retrain (default: the epoch rule above); schedules stretch to it",
    )
    group.add_argument(
        "--confirm",
        type=positive_int,
        default=None,
        metavar="K",
        help="then K further seeds for the searched configuration and the thesis recipe with the highest "
        "test means over --seeds, never read before (needs --thesis and --top or --trial)",
    )
    group.add_argument(
        "--train-size",
        type=image_count(training.EXPECTED_SIZE["train"], "training set"),
        default=None,
        help="retrain on a stratified subset (a reduced retrain, for tests; default all 60,000)",
    )
    group.add_argument(
        "--tta",
        choices=training.TEST_TIME_AUGMENTATIONS,
        default=None,
        help="test-time augmentation of the test set: flip averages each image's class scores with "
        "its mirror image's, and also records the accuracy without it (default: the trial's "
        "own, none)",
    )
    group.add_argument(
        "--reuse",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="read the seeds an earlier retrain of the same network recorded in FOLDER (another study's "
        "final/ folder, or docs/data/headline/final) instead of training and testing them again: same "
        "configuration, seed, images, epochs, device and software only",
    )
    add_runtime_flags(parser)
    add_compile_flag(parser)
    return parser.parse_args(argv)


def retrain_request(args: argparse.Namespace) -> retrain.RetrainRequest:
    return retrain.RetrainRequest(
        top=args.top,
        thesis=args.thesis,
        trials=tuple(args.trial or ()),
        force=args.force,
        seeds=args.seeds,
        epochs=args.epochs,
        train_size=args.train_size,
        tta=args.tta,
        compile=args.compile,
        precision=None if args.precision == "auto" else args.precision,
        confirm=args.confirm,
    )


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    request = retrain_request(args)
    quiet_optuna()
    device = training.resolve_device(args.device)
    training.apply_neuron_backend(args.neuron_backend, device)
    storage = store.open_storage(args.storage, create=False, writable=True)  # the result goes into the study too
    study, why = tuning.pick_study(storage, args.study, args.storage)
    if why:
        print(why)
    candidates = request.candidates(study)
    precision = training.choose_precision(args.precision, device, candidates[0].config.precision, "the trial's")
    if precision.slow_warning:
        print(precision.slow_warning, file=sys.stderr)
    root = store.results_root(args.storage, args.results_dir)
    final_dir = store.study_dir(root, study.study_name) / "final"
    store.check_folder_writable(final_dir, "the retrain's results")
    earlier = retrain.earlier_retrains(args.reuse) if args.reuse is not None else None
    train_set = training.load_full_train(args.data_dir, download=args.download, train_size=args.train_size).to(device)
    test_set = training.load_test_set(args.data_dir, download=args.download).to(device)

    def versions(candidate: retrain.Candidate) -> dict[str, str]:
        return {**tuning.versions(), "neuron_kernel": training.neuron_backend_in_use(device, candidate.config.compile)}

    def retrain_these(
        asked: retrain.RetrainRequest, chosen: list[retrain.Candidate], progress: retrain.RetrainProgress
    ) -> list[retrain.Retrained]:
        return retrain.retrain_all(
            asked,
            chosen,
            study_name=study.study_name,
            storage=store.mask_url(args.storage),
            final_dir=final_dir,
            train_set=train_set,
            test_set=test_set,
            device=device,
            versions=versions,
            on_run=progress.run_done,
            on_epoch=progress.epoch,
            earlier=earlier,
            read_log=retrain.StudyReadLog(study),
        )

    def to_train(asked: retrain.RetrainRequest, chosen: list[retrain.Candidate]) -> int:
        return retrain.runs_to_train(
            asked,
            chosen,
            study_name=study.study_name,
            final_dir=final_dir,
            train_size=len(train_set),
            device=device,
            versions=versions,
            earlier=earlier,
        )

    runs, training_runs = len(candidates) * args.seeds, to_train(request, candidates)
    print(
        f"study {study.study_name!r} in {store.mask_url(args.storage)}: retraining {len(candidates)} "
        f"configuration(s) x {args.seeds} seed(s) on {len(train_set):,} images on {device}"
        f"{retrain.runs_left_text(runs, training_runs)}; {precision.describe()}; results in {final_dir}/"
    )
    with retrain.RetrainProgress(runs, to_train=training_runs) as progress:
        retrained = retrain_these(request, candidates, progress)
    results = [r.result for r in retrained]
    rows, reference = retrain.compare(candidates, results)
    print(
        "\n".join(
            retrain.report_lines(
                rows,
                results,
                retrain.budget_text(retrained, len(train_set), args.seeds),
                at_thesis_budget=all(r.budget.at_thesis_budget for r in retrained),
                two_objectives=len(study.directions) > 1,
            )
        )
    )
    if len(retrained) == 1:
        folder = retrain.record_retrain(study, retrained[0], rows, len(train_set), args.seeds)
        print(inspection.publish_retrain(study, results[0], final_dir / folder, store.artifacts_dir(root)))
        return 0
    record, path = retrain.record_comparison(study, retrained, rows, reference, request, len(train_set), final_dir)
    print(f"wrote {path}")
    print(inspection.publish_comparison(study, record, path, store.artifacts_dir(root)))
    if request.confirm:
        pair = retrain.confirmation_pair(candidates, results)
        print(retrain.confirmation_intro(pair, args.seeds, request.confirm))
        look = retrain.confirmation_look(study, path, pair, request, len(train_set))
        if look:
            print(f"looked before: {look}")
        more = dataclasses.replace(request, seeds=args.seeds + request.confirm)
        with retrain.RetrainProgress(2 * more.seeds, to_train=to_train(more, list(pair))) as progress:
            confirmation, confirmed = retrain.retrain_confirmation(
                request, pair, lambda asked, chosen: retrain_these(asked, chosen, progress), looked_before=look
            )
        print("\n".join(retrain.confirmation_lines(confirmation)))
        print(f"wrote {retrain.record_confirmation(study, confirmation, confirmed, path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
