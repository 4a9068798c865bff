"""Speed measurements of one config (``python -m search.bench``): training and evaluation images/s.

The timed training step is the engine's own :func:`search.training._step.train_step`
(augmentation, bfloat16 autocast under ``--precision bf16``, label smoothing, a compiled forward for full batches),
without evaluation or divergence checks; the naive pipeline is the way
SpikingJelly's tutorials feed the network: a torchvision-style dataset that converts each
image on its own (PIL, ToTensor) through a DataLoader, the image repeated T times in front
of every layer, NCHW.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from spikingjelly.activation_based import functional
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode
from torchvision.transforms import ToTensor

from models import SpikingCNN, build_network
from search.formatting import format_table
from search.training._augment import augment_batch
from search.training._compilation import compile_network
from search.training._config import TrainConfig
from search.training._cpu_memory import retain_freed_memory
from search.training._data import ImageSet, TrainVal, batches
from search.training._kernels import neuron_backend_in_use
from search.training._optimizers import build_optimizer
from search.training._precision import NAMES, autocast, native_bf16
from search.training._step import train_step


@dataclass(frozen=True)
class BenchOptions:
    """How to measure: timed steps, broadcast or repeated input, the naive pipeline too, the kernel asked for."""

    steps: int = 60
    broadcast: bool = True
    naive: bool = False
    neuron_backend: str = "auto"


SWEEP_BATCHES = (32, 64, 128, 256)
SWEEP_TIME_STEPS = (1, 4, 8)
WARMUP_STEPS = 5
PROFILE_ROWS = 15

Batches = Iterator[tuple[torch.Tensor, torch.Tensor]]


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


def train_step_flops(net: SpikingCNN, images: torch.Tensor, labels: torch.Tensor, broadcast: bool) -> float:
    """Counted FLOPs of one forward and backward pass, per image."""
    with FlopCounterMode(display=False) as counter:
        loss = F.cross_entropy(net(images, broadcast=broadcast), labels)
        loss.backward()
    functional.reset_net(net)
    net.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(labels)


def _endless(make: Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]]) -> Batches:
    while True:
        yield from make()


class _PerImageDataset(Dataset):
    """What torchvision's FashionMNIST does per item: a PIL image, then ToTensor (no normalisation:
    the network normalises its input itself)."""

    def __init__(self, data: ImageSet) -> None:
        self.images, self.labels = data.images.cpu(), data.labels.cpu()
        self.transform = ToTensor()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = Image.fromarray(np.asarray(self.images[i]), mode="L")
        return self.transform(image), int(self.labels[i])


def naive_batches(data: ImageSet, batch_size: int, device: torch.device) -> Batches:
    loader = DataLoader(
        _PerImageDataset(data), batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    for images, labels in _endless(lambda: loader):
        yield images.to(device), labels.to(device)


def fast_batches(data: ImageSet, batch_size: int) -> Batches:
    generator = torch.Generator().manual_seed(0)
    return _endless(lambda: batches(data, batch_size, generator))


def time_training(
    net: SpikingCNN,
    model: nn.Module,
    config: TrainConfig,
    source: Batches,
    device: torch.device,
    steps: int,
    broadcast: bool = True,
    profiler: torch.profiler.profile | None = None,
) -> tuple[float, float]:
    """(training images per second over ``steps`` batches, seconds of the warm-up steps).

    ``model`` runs the forward pass (``net`` or ``net`` compiled); the warm-up includes any compiling.
    """
    optimizer = build_optimizer(config, net.parameters())
    generator = torch.Generator().manual_seed(0)
    net.train()

    def run(n: int) -> int:
        seen = 0
        for _ in range(n):
            images, labels = next(source)
            train_step(net, model, images, labels, config, device, optimizer, generator, broadcast)
            seen += len(labels)
            if profiler is not None:
                profiler.step()
        return seen

    start = time.perf_counter()
    run(min(WARMUP_STEPS, steps))
    _sync(device)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    seen = run(steps)
    _sync(device)
    return seen / (time.perf_counter() - start), warmup


@torch.no_grad()
def time_evaluation(
    net: SpikingCNN, data: ImageSet, device: torch.device, broadcast: bool = True, precision: str = "fp32"
) -> float:
    net.eval()

    def run() -> int:
        seen = 0
        for images, _ in batches(data, 1000):
            with autocast(precision, device):
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


def _network(config: TrainConfig, device: torch.device, channels_last: bool = True) -> SpikingCNN:
    """The network as the engine's ``train`` builds it (channels-last, freed memory kept); NCHW for the naive one."""
    if device.type == "cpu" and channels_last:
        retain_freed_memory()  # as search.training._engine.train does; not for the naive pipeline
    torch.manual_seed(config.seed)
    net = build_network(config.network).to(device)
    return net.to(memory_format=torch.channels_last) if channels_last else net


def _model(net: SpikingCNN, config: TrainConfig, device: torch.device) -> nn.Module:
    return compile_network(net, device) if config.compile else net


def describe(config: TrainConfig, device: torch.device, neuron_backend: str, broadcast: bool) -> str:
    input_path = "broadcast" if broadcast and config.network.static_front else "repeated over T"
    return (
        f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
        f"LIF kernel {neuron_backend_in_use(device, config.compile)} (--neuron-backend {neuron_backend}); "
        f"front end {config.network.front_end}, encoding {config.network.encoding}, "
        f"T = {config.network.time_steps}, batch {config.batch_size}, {config.optimizer}, "
        f"batch norm {'on' if config.network.batch_norm else 'off'}, "
        f"compile {'on' if config.compile else 'off'}, precision {NAMES[config.precision]}; input {input_path}"
    )


def time_naive(config: TrainConfig, data: TrainVal, device: torch.device, steps: int) -> float:
    """Training images/s of the naive pipeline: NCHW, the input repeated T times, a per-image DataLoader.

    Run it before any network of ours in the process: like a tutorial's script, it runs
    with the C library's default allocator settings (search/training/_cpu_memory.py).
    """
    naive_net = _network(config, device, channels_last=False)
    ips, _ = time_training(
        naive_net,
        naive_net,
        config,
        naive_batches(data.train, config.batch_size, device),
        device,
        max(steps // 3, 5),
        broadcast=False,
    )
    return ips


def _training_ips(config: TrainConfig, data: TrainVal, device: torch.device, steps: int, broadcast: bool) -> float:
    """Training images/s of ``config`` on a fresh network, as :func:`bench_one` times it."""
    net = _network(config, device)
    ips, _ = time_training(
        net, _model(net, config, device), config, fast_batches(data.train, config.batch_size), device, steps, broadcast
    )
    return ips


def _precision_rows(
    config: TrainConfig, train_ips: float, naive_ips: float, data: TrainVal, device: torch.device, options: BenchOptions
) -> list[list[str]]:
    """``--naive``'s side-by-side rows: the step in float32 and in bfloat16, the naive pipeline, the ratios.

    The precision not in use is timed on a fresh network of the same config; where the device only
    emulates bfloat16 (search.training._precision) it gets a third of the steps, as the naive pipeline does.
    """
    other = "bf16" if config.precision == "fp32" else "fp32"
    emulated = not native_bf16(device)
    steps = max(options.steps // 3, 5) if other == "bf16" and emulated else options.steps
    ips = {
        config.precision: train_ips,
        other: _training_ips(config.replace(precision=other), data, device, steps, options.broadcast),
    }
    bf16_label = "bfloat16" + (" (emulated: no native bfloat16 here)" if emulated else "")
    return [
        ["training images/s, float32", f"{ips['fp32']:,.0f}"],
        [f"training images/s, {bf16_label}", f"{ips['bf16']:,.0f}"],
        ["bfloat16 / float32", f"{ips['bf16'] / ips['fp32']:.2f}x"],
        ["naive pipeline training images/s (float32)", f"{naive_ips:,.0f}"],
        ["float32 / naive pipeline", f"{ips['fp32'] / naive_ips:.2f}x"],
        ["bfloat16 / naive pipeline", f"{ips['bf16'] / naive_ips:.2f}x"],
    ]


def bench_one(options: BenchOptions, config: TrainConfig, data: TrainVal, device: torch.device) -> str:
    naive_ips = time_naive(config.replace(precision="fp32"), data, device, options.steps) if options.naive else None
    net = _network(config, device)
    model = _model(net, config, device)
    images, labels = next(batches(data.train, config.batch_size, torch.Generator().manual_seed(0)))
    flops = train_step_flops(net, images, labels, options.broadcast)
    train_ips, warmup = time_training(
        net, model, config, fast_batches(data.train, config.batch_size), device, options.steps, options.broadcast
    )
    eval_ips = time_evaluation(net, data.val, device, options.broadcast, config.precision)
    augment_s = time_augmentation(config, data.train, device)
    rows = [
        ["training images/s", f"{train_ips:,.0f}"],
        [
            f"warm-up ({min(WARMUP_STEPS, options.steps)} steps{', with compiling' if config.compile else ''}) s",
            f"{warmup:.1f}",
        ],
        ["evaluation images/s", f"{eval_ips:,.0f}"],
    ]
    if config.augment != "none":
        rows += [
            [f"augmentation ({config.augment}) ms per batch", f"{augment_s * 1e3:.2f}"],
            ["augmentation / training step", f"{augment_s * train_ips / config.batch_size:.1%}"],
        ]
    if config.network.batch_norm:
        net.fold_batch_norm(False)
        rows.append(
            [
                "evaluation images/s, batch norm not folded",
                f"{time_evaluation(net, data.val, device, precision=config.precision):,.0f}",
            ]
        )
        net.fold_batch_norm(True)
    if naive_ips is not None:
        rows += _precision_rows(config, train_ips, naive_ips, data, device, options)
    peak = matmul_gflops(device)
    achieved = flops * train_ips / 1e9
    rows += [
        ["MFLOP per training image", f"{flops / 1e6:.1f}"],
        ["achieved GFLOP/s (training)", f"{achieved:.1f}"],
        ["matmul GFLOP/s (fp32, this machine)", f"{peak:.1f}"],
        ["achieved / matmul", f"{achieved / peak:.0%}"],
    ]
    return (
        describe(config, device, options.neuron_backend, options.broadcast)
        + "\n"
        + format_table(["measure", "value"], rows)
    )


def bench_profile(options: BenchOptions, config: TrainConfig, data: TrainVal, device: torch.device) -> str:
    """torch.profiler over ``--steps`` training steps after the warm-up; the top operators by self time."""
    net = _network(config, device)
    model = _model(net, config, device)
    source = fast_batches(data.train, config.batch_size)
    time_training(net, model, config, source, device, 1, options.broadcast)  # warm-up (and compiling)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as profiler:
        train_ips, _ = time_training(net, model, config, source, device, options.steps, options.broadcast)
    sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    warmup = min(WARMUP_STEPS, options.steps)
    return "\n".join(
        [
            describe(config, device, options.neuron_backend, options.broadcast),
            f"{options.steps + warmup} profiled training steps (the first {warmup} as warm-up); "
            f"{train_ips:,.0f} images/s under the profiler",
            profiler.key_averages().table(sort_by=sort, row_limit=PROFILE_ROWS),
        ]
    )


def sweep_configs(config: TrainConfig) -> list[tuple[str, TrainConfig]]:
    """The sweep's cells: batch x T for ``config``'s network, then batch norm and the LIF front end."""
    cells = [("as given", config.replace(batch_size=b, time_steps=t)) for t in SWEEP_TIME_STEPS for b in SWEEP_BATCHES]
    for label, changes in (
        ("batch norm", {"batch_norm": True}),
        ("LIF front end", {"front_end": "lif"}),
        ("LIF front end + batch norm", {"front_end": "lif", "batch_norm": True}),
    ):
        for t in (1, 4):
            cells.append((label, config.replace(batch_size=128, time_steps=t, **changes)))
    return cells


def bench_sweep(options: BenchOptions, config: TrainConfig, data: TrainVal, device: torch.device) -> str:
    rows = []
    for label, cell in sweep_configs(config):
        ips = _training_ips(cell, data, device, options.steps, options.broadcast)
        rows.append(
            [
                label,
                NAMES[cell.precision],
                cell.network.front_end,
                "on" if cell.network.batch_norm else "off",
                cell.batch_size,
                cell.network.time_steps,
                f"{ips:,.0f}",
                f"{1000 * cell.batch_size / ips:.1f}",
            ]
        )
    return (
        describe(config, device, options.neuron_backend, options.broadcast).split(";")[0]
        + f"; {options.steps} timed steps per cell after {WARMUP_STEPS} warm-up steps\n"
        + format_table(
            ["network", "precision", "front end", "batch norm", "batch", "T", "training images/s", "ms per step"], rows
        )
    )
