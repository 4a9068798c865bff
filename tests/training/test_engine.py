"""The training loop, for real: it learns, stops on divergence, repeats itself, reports each epoch."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from search.errors import UsageError
from search.training import EpochStats, TrainVal, evaluate, load_train_val, resolve_device, strategy_config, train
from support import head


@pytest.mark.slow
def test_one_epoch_of_baseline_learns(cpu: torch.device, fmnist_dir: Path) -> None:
    """One epoch of the baseline on 10,000 images: >= 75% validation accuracy (about 80% measured)."""
    data = load_train_val(fmnist_dir, train_size=10_000, val_size=5_000)
    result = train(strategy_config("baseline", epochs=1), data.train, data.val, cpu)
    assert result.status == "completed"
    assert len(result.history) == 1
    assert result.final_val_acc is not None and result.final_val_acc >= 0.75, result.history
    # The reported figure is the model's: evaluating the returned model agrees.
    again = evaluate(result.model, data.val, strategy_config("baseline"), cpu)
    assert again.accuracy == pytest.approx(result.final_val_acc)


@pytest.mark.parametrize("optimizer,lr", [("sgd", 1e4), ("adam", 50.0)])
def test_huge_learning_rate_diverges_without_exception(
    optimizer: str, lr: float, small_data: TrainVal, cpu: torch.device
) -> None:
    config = strategy_config("combined", optimizer=optimizer, lr=lr, epochs=3)
    seen: list[EpochStats] = []
    result = train(config, head(small_data.train, 1000), small_data.val, cpu, on_epoch=seen.append)
    assert result.status == "diverged"
    assert "epoch 1" in result.reason and f"{lr:g}" in result.reason
    assert result.history == seen  # nothing reported for the diverged epoch
    assert len(result.history) < 3


def test_sane_learning_rate_does_not_diverge(small_data: TrainVal, cpu: torch.device) -> None:
    """The divergence check does not fire on an ordinary run (so the test above can fail)."""
    config = strategy_config("sgd", lr=0.05, epochs=1)
    result = train(config, head(small_data.train, 1000), small_data.val, cpu)
    assert result.status == "completed" and result.reason == ""
    assert math.isfinite(result.history[0].train_loss)


def test_same_config_and_seed_give_the_same_result(small_data: TrainVal, cpu: torch.device) -> None:
    config = strategy_config("dropout", epochs=1, batch_size=64, seed=3)  # dropout: RNG in the loop too
    train_part, val_part = head(small_data.train, 1000), head(small_data.val, 500)
    a = train(config, train_part, val_part, cpu)
    b = train(config, train_part, val_part, cpu)
    assert a.final_val_acc == b.final_val_acc
    assert a.history[0].train_loss == b.history[0].train_loss
    assert a.history[0].val_loss == b.history[0].val_loss
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(p, q), name
    # ... and the seed matters.
    c = train(config.replace(seed=4), train_part, val_part, cpu)
    assert c.history[0].train_loss != a.history[0].train_loss


@pytest.mark.slow
def test_on_epoch_is_called_once_per_epoch_with_the_fields_filled(small_data: TrainVal, cpu: torch.device) -> None:
    # Two epochs of cosine annealing, with the LIF front end so there are several LIF layers.
    config = strategy_config("lr_annealing", epochs=2, lr=2e-3, front_end="lif", readout="rate", time_steps=2)
    calls: list[EpochStats] = []
    result = train(config, head(small_data.train, 400), head(small_data.val, 300), cpu, on_epoch=calls.append)
    assert result.status == "completed"
    assert [s.epoch for s in calls] == [1, 2]
    assert calls == result.history
    lif_names = set(result.model.lif_layers())
    assert len(lif_names) == 4 and "hidden_lif" in lif_names  # two conv LIF layers, hidden, output
    for s in calls:
        assert set(s.firing_rates) == lif_names
        assert all(0.0 <= r <= 1.0 for r in s.firing_rates.values())
        assert s.images_per_s > 0 and s.elapsed_s > 0
        assert math.isfinite(s.train_loss) and 0.0 <= s.train_acc <= 1.0
        assert s.val_loss is not None and math.isfinite(s.val_loss)
        assert s.val_acc is not None and 0.0 <= s.val_acc <= 1.0
    assert calls[1].elapsed_s > calls[0].elapsed_s
    # lr is the rate used in the epoch: cosine over 2 epochs goes 2e-3, then half of it.
    assert calls[0].lr == pytest.approx(2e-3)
    assert calls[1].lr == pytest.approx(1e-3)
    assert result.best_epoch in (1, 2) and result.best_val_acc == max(s.val_acc for s in calls)


def test_without_validation_data_only_training_is_reported(small_data: TrainVal, cpu: torch.device) -> None:
    """The final retrain's mode: no validation set; reduce-on-plateau follows the training loss."""
    config = strategy_config("adam_plateau", epochs=1)
    calls: list[EpochStats] = []
    result = train(config, head(small_data.train, 500), None, cpu, on_epoch=calls.append)
    assert result.status == "completed" and len(calls) == 1
    assert calls[0].val_acc is None and calls[0].val_loss is None and calls[0].firing_rates == {}


def test_resolve_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    for name in ("cuda", "cuda:0", "cuda:1"):
        with pytest.raises(UsageError, match="no CUDA GPU"):
            resolve_device(name)
    for name in ("bogus", "gpu", "cuda:x", "CPU", ""):
        with pytest.raises(UsageError, match="unknown device"):
            resolve_device(name)
    assert UsageError.exit_code == 2
