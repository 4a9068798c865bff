"""python -m search.bench: training and evaluation speed of one config on one device.

Prints images per second (training step and evaluation), the floating-point
operations of one training step per image (torch's FLOP counter), the achieved
GFLOP/s, and this machine's fp32 matrix-multiply GFLOP/s measured in the same
run, so the ratio to what the hardware does is visible.

    python -m search.bench                      # default network: relu front end, T = 4, batch 128
    python -m search.bench --naive              # also float32 and bfloat16 side by side, and the naive pipeline
    python -m search.bench --precision fp32     # the step in float32 (default auto: bfloat16 where native)
    python -m search.bench --no-broadcast       # the same network repeating its input T times
    python -m search.bench --augment crop_flip  # with per-image crop and flip on each training batch
    python -m search.bench --compile            # torch.compile the network (compile time shown apart)
    python -m search.bench --front-end lif --profile   # torch.profiler's top operators of a training step
    python -m search.bench --sweep              # one table: batch size x T, batch norm, LIF front end

The naive pipeline is the way SpikingJelly's tutorials feed the network: a
torchvision-style dataset that converts each image on its own (PIL, ToTensor)
through a DataLoader, the image repeated T times in front of every layer, NCHW.
It is timed first, with the C library's default allocator settings, as a tutorial's
script runs; the project's own training keeps freed CPU memory for the next step
(search/training/_cpu_memory.py, docs/performance.md).
"""

from __future__ import annotations

import argparse
import sys

from search import training
from search.cli import add_config_flags, add_runtime_flags, config_from_flags, make_parser, positive_int
from search.errors import command

# Settings that change what a run learns, not what a step costs: no flags here.
NOT_SPEED = frozenset(
    {
        "epochs",
        "lr",
        "momentum",
        "weight_decay",
        "schedule",
        "min_lr",
        "step_size",
        "gamma",
        "restart_period",
        "restart_mult",
        "plateau_patience",
        "plateau_factor",
        "seed",
        "tta",
    }
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser("search.bench", __doc__)
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help="timed training batches (default 60; 20 per cell with --sweep, 10 with --profile)",
    )
    parser.add_argument(
        "--no-broadcast",
        dest="broadcast",
        action="store_false",
        help="repeat a static input T times instead of broadcasting the front layers",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--naive",
        action="store_true",
        help="also time the step in float32 and in bfloat16, and the naive pipeline (per-image loading, input "
        "repeated T times, NCHW, float32), with the ratios",
    )
    mode.add_argument("--sweep", action="store_true", help="one table of training images/s across the space")
    mode.add_argument("--profile", action="store_true", help="torch.profiler's top operators of a training step")
    add_runtime_flags(parser)
    add_config_flags(parser, argv, skip=NOT_SPEED)
    args = parser.parse_args(argv)
    if args.strategy is None:  # a speed test: every switch free, TrainConfig's defaults
        args.strategy = "combined"
    if args.steps is None:
        args.steps = 20 if args.sweep else 10 if args.profile else 60
    return args


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    device = training.resolve_device(args.device)
    training.apply_neuron_backend(args.neuron_backend, device)
    precision = training.choose_precision(args.precision, device)
    if precision.slow_warning:
        print(precision.slow_warning, file=sys.stderr)
    config = config_from_flags(args).replace(precision=precision.precision)
    data = training.load_train_val(args.data_dir, download=args.download, train_size=10_000, val_size=5_000).to(device)
    options = training.BenchOptions(
        steps=args.steps, broadcast=args.broadcast, naive=args.naive, neuron_backend=args.neuron_backend
    )
    measure = training.bench_sweep if args.sweep else training.bench_profile if args.profile else training.bench_one
    print(measure(options, config, data, device))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
