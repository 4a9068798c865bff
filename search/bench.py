"""python -m search.bench: training and evaluation speed of one config on one device.

Prints images per second (training step and evaluation), the floating-point
operations of one training step per image (torch's FLOP counter), the achieved
GFLOP/s, and this machine's fp32 matrix-multiply GFLOP/s measured in the same
run, so the ratio to what the hardware does is visible.

    python -m search.bench                      # default network: relu front end, T = 4, batch 128
    python -m search.bench --no-broadcast       # the same network repeating its input T times
    python -m search.bench --augment crop_flip  # with per-image crop and flip on each training batch
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch.utils.flop_counter import FlopCounterMode

from models import SpikingCNN, build_network
from search.augment import augment_batch
from search.cli import add_runtime_flags, format_table, make_parser, positive_int
from search.config import TrainConfig
from search.config_flags import add_config_flags, config_from_flags
from search.data import ImageSet, batches, load_train_val
from search.device import resolve_device
from search.errors import command
from search.optimizers import build_optimizer


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(device: torch.device, n: int = 2048, seconds: float = 2.0) -> float:
    """fp32 n x n matrix-multiply throughput: the machine's practical arithmetic limit."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b
    _sync(device)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        runs += 1
    _sync(device)
    return 2 * n**3 * runs / (time.perf_counter() - start) / 1e9


def train_step_flops(net: SpikingCNN, config: TrainConfig, images: torch.Tensor, labels: torch.Tensor,
                     broadcast: bool) -> float:
    """Counted FLOPs of one forward and backward pass, per image."""
    with FlopCounterMode(display=False) as counter:
        loss = F.cross_entropy(net(images, broadcast=broadcast), labels)
        loss.backward()
    functional.reset_net(net)
    net.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(labels)


def time_training(net: SpikingCNN, config: TrainConfig, data: ImageSet, device: torch.device,
                  steps: int, broadcast: bool) -> float:
    """Training images per second over ``steps`` batches after a warm-up."""
    optimizer = build_optimizer(config, net.parameters())
    generator = torch.Generator().manual_seed(0)
    net.train()

    def run(n: int) -> int:
        seen = 0
        while seen < n * config.batch_size:
            for images, labels in batches(data, config.batch_size, generator):
                images = augment_batch(images, config.augment, generator)
                loss = F.cross_entropy(net(images, broadcast=broadcast), labels,
                                       label_smoothing=config.label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                functional.reset_net(net)
                seen += len(labels)
                if seen >= n * config.batch_size:
                    break
        return seen

    run(5)
    _sync(device)
    start = time.perf_counter()
    seen = run(steps)
    _sync(device)
    return seen / (time.perf_counter() - start)


def time_augmentation(config: TrainConfig, data: ImageSet, device: torch.device, runs: int = 200) -> float:
    """Seconds that ``augment_batch`` takes per training batch (0 for ``augment="none"``)."""
    generator = torch.Generator().manual_seed(0)
    images, _ = next(batches(data, config.batch_size, generator))
    augment_batch(images, config.augment, generator)
    _sync(device)
    start = time.perf_counter()
    for _ in range(runs):
        augment_batch(images, config.augment, generator)
    _sync(device)
    return (time.perf_counter() - start) / runs


@torch.no_grad()
def time_evaluation(net: SpikingCNN, data: ImageSet, device: torch.device, broadcast: bool) -> float:
    net.eval()

    def run() -> int:
        seen = 0
        for images, _ in batches(data, 1000):
            net(images, broadcast=broadcast)
            functional.reset_net(net)
            seen += len(images)
        return seen

    run()
    _sync(device)
    start = time.perf_counter()
    seen = run()
    _sync(device)
    return seen / (time.perf_counter() - start)


# Settings that do not change the speed of a training step.
NOT_TIMED = frozenset({"epochs", "lr", "schedule", "min_lr", "step_size", "gamma", "restart_period",
                       "restart_mult", "plateau_patience", "plateau_factor", "seed"})


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser("search.bench", __doc__)
    parser.add_argument("--steps", type=positive_int, default=60, help="timed training batches (default 60)")
    parser.add_argument("--no-broadcast", dest="broadcast", action="store_false",
                        help="repeat a static input T times instead of broadcasting the front layers")
    add_runtime_flags(parser)
    add_config_flags(parser, argv, skip=NOT_TIMED)
    return parser.parse_args(argv)


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    config = config_from_flags(args)
    device = resolve_device(args.device)
    data = load_train_val(args.data_dir, download=args.download, train_size=10_000, val_size=5_000).to(device)
    torch.manual_seed(config.seed)
    net = build_network(config.network).to(device=device, memory_format=torch.channels_last)
    images, labels = next(batches(data.train, config.batch_size, torch.Generator().manual_seed(0)))
    flops = train_step_flops(net, config, images, labels, args.broadcast)
    train_ips = time_training(net, config, data.train, device, args.steps, args.broadcast)
    eval_ips = time_evaluation(net, data.val, device, args.broadcast)
    augment_s = time_augmentation(config, data.train, device)
    peak = matmul_gflops(device)
    achieved = flops * train_ips / 1e9
    broadcast = "broadcast" if args.broadcast and config.network.static_front else "repeated over T"
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; "
          f"front end {config.network.front_end}, encoding {config.network.encoding}, "
          f"T = {config.network.time_steps}, batch {config.batch_size}, {config.optimizer}; input {broadcast}; "
          f"augment {config.augment}")
    print(format_table(
        ["measure", "value"],
        [
            ["training images/s", f"{train_ips:,.0f}"],
            ["evaluation images/s", f"{eval_ips:,.0f}"],
            ["MFLOP per training image", f"{flops / 1e6:.1f}"],
            ["achieved GFLOP/s (training)", f"{achieved:.1f}"],
            ["matmul GFLOP/s (fp32, this machine)", f"{peak:.1f}"],
            ["achieved / matmul", f"{achieved / peak:.0%}"],
            [f"augmentation ({config.augment}) ms per batch", f"{augment_s * 1e3:.2f}"],
            ["augmentation / training step", f"{augment_s * train_ips / config.batch_size:.1%}"],
        ],
    ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
