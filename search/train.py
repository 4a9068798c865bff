"""python -m search.train: train one recipe and print its per-epoch table.

python -m search.train --strategy lr_annealing --epochs 5
python -m search.train --strategy sgd --thesis          # the thesis's own settings
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tqdm import tqdm

from search import training
from search.cli import add_config_flags, add_runtime_flags, config_from_flags, image_count, make_parser
from search.errors import command
from search.formatting import format_table, percent, without_tta


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser("search.train", __doc__)
    parser.add_argument(
        "--thesis",
        action="store_true",
        help="start from the strategy's thesis preset (30 epochs, batch 64, thesis rates)",
    )
    parser.add_argument(
        "--train-size",
        type=image_count(training.SEARCH_TRAIN_SIZE, "search's training part"),
        default=None,
        help="train on a stratified subset of this many images (default all 50,000)",
    )
    add_runtime_flags(parser)
    add_config_flags(parser, argv, thesis_flag=True)
    return parser.parse_args(argv)


def epoch_row(s: Any) -> list[object]:
    """One row of the per-epoch table, from an ``EpochStats``."""
    rates = " ".join(f"{v:.3f}" for v in s.firing_rates.values())
    return [
        s.epoch,
        f"{s.train_loss:.4f}",
        percent(s.train_acc),
        "-" if s.val_loss is None else f"{s.val_loss:.4f}",
        percent(s.val_acc),
        f"{s.lr:.2e}",
        f"{s.images_per_s:,.0f}",
        f"{s.elapsed_s:.1f}",
        rates,
    ]


EPOCH_HEADERS = ["epoch", "train loss", "train acc", "val loss", "val acc", "lr", "img/s", "time s", "firing"]


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    config = config_from_flags(args, thesis=args.thesis)
    device = training.resolve_device(args.device)
    training.apply_neuron_backend(args.neuron_backend, device)
    precision = training.choose_precision(args.precision, device)
    if precision.slow_warning:
        print(precision.slow_warning, file=sys.stderr)
    config = config.replace(precision=precision.precision)
    data = training.load_train_val(args.data_dir, download=args.download, train_size=args.train_size).to(device)
    print(f"config: {config.to_json()}")
    print(
        f"data: {len(data.train):,} train / {len(data.val):,} validation images from {data.source}; device {device}, "
        f"LIF kernel {training.neuron_backend_in_use(device, config.compile)} "
        f"(--neuron-backend {args.neuron_backend}); {precision.describe()}"
    )
    bar = tqdm(total=config.epochs * len(data.train), unit="img", unit_scale=True, disable=None)
    try:
        result = training.train(
            config,
            data.train,
            data.val,
            device,
            on_epoch=lambda s: bar.write(
                f"epoch {s.epoch}: val acc {percent(s.val_acc)}" + without_tta(s.val_acc_plain)
            ),
            progress=bar.update,
        )
    finally:
        bar.close()
    print(format_table(EPOCH_HEADERS, [epoch_row(s) for s in result.history]))
    if result.status == "diverged":
        print(f"diverged: {result.reason}")
        return 1
    last = result.history[-1] if result.history else None
    print(
        f"final validation accuracy: {percent(result.final_val_acc)}"
        f"{without_tta(last.val_acc_plain if last else None)} "
        f"(best {percent(result.best_val_acc)} at epoch {result.best_epoch}); {result.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
