"""One training step: the engine trains with it and search.bench times it, nothing else."""

from __future__ import annotations

import contextlib

import pytest
import torch

from models import SPIKING_NEURONS
from search.training import TrainConfig, TrainVal
from search.training import _benchmark as benchmark
from search.training import _engine as engine
from search.training import _step as step
from support import head

CONFIG = TrainConfig(epochs=1, batch_size=32, augment="flip", label_smoothing=0.1).replace(time_steps=2)


def _counting(monkeypatch: pytest.MonkeyPatch, module: object) -> list[int]:
    """Replace ``module``'s ``train_step`` with one that counts its batches and runs the real step."""
    calls: list[int] = []
    real = step.train_step

    def counted(net, model, images, labels, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(labels))
        return real(net, model, images, labels, *args, **kwargs)

    monkeypatch.setattr(module, "train_step", counted)  # raises if the module has no such name
    return calls


def test_the_engine_trains_every_batch_with_the_one_step(
    small_data: TrainVal, cpu: torch.device, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting(monkeypatch, engine)
    result = engine.train(CONFIG, head(small_data.train, 100), head(small_data.val, 50), cpu)
    assert result.status == "completed"
    assert calls == [32, 32, 32, 4]


def test_the_benchmark_times_the_engines_step(
    small_data: TrainVal, cpu: torch.device, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting(monkeypatch, benchmark)
    net = benchmark._network(CONFIG, cpu)
    images_per_s, _ = benchmark.time_training(
        net, net, CONFIG, benchmark.fast_batches(small_data.train, 32), cpu, steps=3
    )
    assert images_per_s > 0
    assert calls == [32] * (min(benchmark.WARMUP_STEPS, 3) + 3)  # the warm-up, then the timed steps


def test_the_step_autocasts_in_bfloat16_only_under_that_precision() -> None:
    # --precision bf16: bfloat16 autocast on CUDA and on the CPU (what search.bench times too); nothing in float32.
    for device in (torch.device("cuda"), torch.device("cpu")):
        assert isinstance(step.autocast("bf16", device), torch.autocast)
        assert isinstance(step.autocast("fp32", device), contextlib.nullcontext)


def test_one_step_changes_the_weights_and_resets_the_neurons(small_data: TrainVal, cpu: torch.device) -> None:
    net = benchmark._network(CONFIG, cpu)
    before = [p.detach().clone() for p in net.parameters()]
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    images, labels = next(benchmark.fast_batches(small_data.train, 32))
    loss, logits = step.train_step(net, net, images, labels, CONFIG, cpu, optimizer, torch.Generator().manual_seed(0))
    assert logits.shape == (32, 10) and not logits.requires_grad and not loss.requires_grad
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    neurons = [m for m in net.modules() if isinstance(m, SPIKING_NEURONS)]
    assert neurons and all(not isinstance(m.v, torch.Tensor) for m in neurons)  # reset to v_reset after the step
