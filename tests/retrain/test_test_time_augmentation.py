"""Test-time augmentation (TrainConfig.tta): the flip's class scores, what it leaves alone, its cost, final --tta."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional

from models import build_network
from search.errors import UserError
from search.retrain import RetrainResult
from search.retrain._comparison import _plain_retrain
from search.retrain._result import RetrainBudget, RetrainRun
from search.retrain._retrain import RunStore
from search.store import write_json
from search.training import (
    TrainConfig,
    TrainVal,
    energy_sample,
    evaluate,
    measure_energy,
    measure_prediction_energy,
    train,
)
from search.training._data import batches
from search.training._engine import EVAL_BATCH
from support import STUDY, InspectionStudy, head, run_module

TINY_NET = {"time_steps": 2, "batch_norm": True}


def test_unknown_tta_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown test-time augmentation 'rotate'; valid: none, flip"):
        TrainConfig(tta="rotate")
    assert TrainConfig.from_dict({k: v for k, v in TrainConfig().to_dict().items() if k != "tta"}).tta == "none"


def test_flip_scores_are_the_mean_of_the_image_and_its_mirror(small_data: TrainVal, cpu: torch.device) -> None:
    config = TrainConfig(tta="flip", epochs=1, batch_size=64).replace(**TINY_NET)
    net = train(config.replace(tta="none"), head(small_data.train, 300), None, cpu).model
    assert net is not None
    net.eval()
    data = head(small_data.val, 300)
    flipped = evaluate(net, data, config, cpu)
    plain = evaluate(net, data, config.replace(tta="none"), cpu)

    scores = []
    with torch.no_grad():
        for images, _ in batches(data, EVAL_BATCH):
            own = net(images)
            functional.reset_net(net)
            mirror = net(images.flip(-1))
            functional.reset_net(net)
            scores.append((own + mirror) / 2)
    mean = torch.cat(scores)
    assert torch.equal(flipped.predictions, mean.argmax(1))
    assert flipped.loss == pytest.approx(float(F.cross_entropy(mean, data.labels)), rel=1e-5)
    assert flipped.plain_accuracy == plain.accuracy  # the unflipped view alone is the plain evaluation
    assert plain.plain_accuracy is None
    assert flipped.predictions.ne(plain.predictions).any(), "the mirror image changed no prediction"
    assert flipped.firing_rates.keys() == plain.firing_rates.keys()


def test_it_leaves_training_alone_and_records_validation_without_it(small_data: TrainVal, cpu: torch.device) -> None:
    """The same seed trains the same network with and without it; each epoch keeps both accuracies."""
    config = TrainConfig(epochs=2, batch_size=64).replace(**TINY_NET)
    train_set, val = head(small_data.train, 200), head(small_data.val, 200)
    plain = train(config, train_set, val, cpu)
    flipped = train(config.replace(tta="flip"), train_set, val, cpu)
    for a, b in zip(plain.history, flipped.history, strict=True):
        assert a.train_loss == b.train_loss
        assert a.val_acc_plain is None and b.val_acc_plain == a.val_acc
    assert all(
        p.equal(q)
        for p, q in zip(
            plain.model.state_dict().values(),  # type: ignore[union-attr]
            flipped.model.state_dict().values(),
            strict=True,
        )
    )


def test_a_flipped_prediction_costs_both_passes(small_data: TrainVal) -> None:
    torch.manual_seed(0)
    net = build_network(TrainConfig().replace(**TINY_NET).network)
    images = energy_sample(small_data.val, 16)
    own, mirror = measure_energy(net, images), measure_energy(net, images.flip(-1))
    cost = measure_prediction_energy(net, images, "flip")
    assert cost.macs_per_image == pytest.approx(own.macs_per_image + mirror.macs_per_image)
    assert cost.compute_energy_pj_per_image == pytest.approx(
        own.compute_energy_pj_per_image + mirror.compute_energy_pj_per_image
    )
    assert cost.parameter_count == own.parameter_count and cost.time_steps == own.time_steps
    assert measure_prediction_energy(net, images, "none") == own


def test_the_retrain_folder_and_budget_name_it_and_old_records_still_load() -> None:
    budget = RetrainBudget(train_size=60_000, epochs=50, seeds=3, trial_epochs=10, tta="flip")
    assert budget.folder_name(7) == "trial-7-50ep-60000img-tta-flip"
    assert "test-time flip" in budget.describe()
    old = RetrainBudget(**{"train_size": 60_000, "epochs": 50, "seeds": 3, "trial_epochs": 10})
    assert old.folder_name(7) == "trial-7-50ep-60000img" and "test-time" not in old.describe()
    run = {
        "seed": 0,
        "test_accuracy": 0.9,
        "test_loss": 0.3,
        "per_class_accuracy": {},
        "confusion_matrix": [],
        "train_seconds": 1.0,
        "test_seconds": 1.0,
    }
    assert RetrainRun.from_dict(run).test_accuracy_plain is None


@pytest.mark.slow
def test_final_tta_flip_tests_the_same_networks_both_ways(inspection_study: InspectionStudy, tmp_path: Path) -> None:
    (tmp_path / "studies").mkdir()
    shutil.copy(inspection_study.bare_folder / "studies" / "optuna.db", tmp_path / "studies" / "optuna.db")
    budget = ["--seeds", "2", "--train-size", "300", "--epochs", "1"]
    flipped = run_module("search.final", *budget, "--tta", "flip", cwd=tmp_path)
    assert flipped.returncode == 0, flipped.stdout + flipped.stderr
    plain = run_module("search.final", *budget, cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    final = tmp_path / "studies" / "optuna" / STUDY / "final"
    [with_flip] = final.glob("*-tta-flip/result.json")
    [without] = [p for p in final.glob("*/result.json") if p != with_flip]
    a, b = json.loads(with_flip.read_text()), json.loads(without.read_text())
    assert a["config"]["tta"] == "flip" and b["config"]["tta"] == "none"
    # The same seeds train the same networks: the plain figures are the retrain without --tta.
    assert [r["test_accuracy_plain"] for r in a["runs"]] == [r["test_accuracy"] for r in b["runs"]]
    assert all(r["test_accuracy_plain"] is None for r in b["runs"])
    ratio = a["runs"][0]["energy"]["macs_per_image"] / b["runs"][0]["energy"]["macs_per_image"]
    assert 1.9 < ratio < 2.1
    assert flipped.stdout.count("without test-time augmentation)") == 2
    assert re.search(r"test-time flip adds [+-]\d+\.\d\d points \(paired by seed, 95% interval", flipped.stdout)
    assert "without test-time augmentation" not in plain.stdout
    assert "test-time flip" in flipped.stdout.split("---")[-1]  # the table's settings name it


def test_a_retrain_recorded_before_tta_existed_still_resumes(tmp_path: Path) -> None:
    """A seed file whose config lacks a setting added since compares it at its default."""
    store, run = _recorded_seed(tmp_path, 0)
    record = json.loads(store.path(0).read_text())
    del record["fingerprint"]["config"]["tta"]
    store.path(0).write_text(json.dumps(record))
    assert store.load(0) == run
    record["fingerprint"]["config"]["lr"] = 0.5  # another configuration is still refused
    store.path(0).write_text(json.dumps(record))
    with pytest.raises(UserError, match="belongs to another retrain"):
        store.load(0)


@pytest.mark.slow
def test_final_tta_reads_the_plain_retrains_networks_again(inspection_study: InspectionStudy, tmp_path: Path) -> None:
    """Every seed's weights are kept; --tta flip after a plain retrain loads them instead of training."""
    (tmp_path / "studies").mkdir()
    shutil.copy(inspection_study.bare_folder / "studies" / "optuna.db", tmp_path / "studies" / "optuna.db")
    budget = ["--seeds", "2", "--train-size", "300", "--epochs", "1"]
    plain = run_module("search.final", *budget, cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    final = tmp_path / "studies" / "optuna" / STUDY / "final"
    [folder] = final.glob("trial-*")
    assert (folder / "model.pt").is_file() and (folder / "runs" / "seed-1.pt").is_file()
    # Seed 1's weights are removed: that seed trains again, seed 0's network is read again.
    (folder / "runs" / "seed-1.pt").unlink()
    flipped = run_module("search.final", *budget, "--tta", "flip", cwd=tmp_path)
    assert flipped.returncode == 0, flipped.stdout + flipped.stderr
    assert flipped.stdout.count(f"(the network {folder.name}/ trained, read again)") == 1
    a = json.loads((final / f"{folder.name}-tta-flip" / "result.json").read_text())
    b = json.loads((folder / "result.json").read_text())
    assert [r["weights_from"] for r in a["runs"]] == [folder.name, None]
    # Read again or trained again, each is the plain retrain's network: the same plain figures.
    assert [r["test_accuracy_plain"] for r in a["runs"]] == [r["test_accuracy"] for r in b["runs"]]
    assert a["runs"][0]["history"] == b["runs"][0]["history"]
    assert a["runs"][0]["train_seconds"] == b["runs"][0]["train_seconds"]
    # Seed 0's weights are copied (the study's artifact); seed 1 trained here, so its weights are here.
    assert (final / f"{folder.name}-tta-flip" / "model.pt").is_file()
    assert (final / f"{folder.name}-tta-flip" / "runs" / "seed-1.pt").is_file()
    again = run_module("search.final", *budget, "--tta", "flip", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("(recorded earlier, not rerun)") == 2 and "read again" not in again.stdout
    assert json.loads((final / f"{folder.name}-tta-flip" / "result.json").read_text())["runs"] == a["runs"]


def test_weights_of_another_retrain_are_not_reused(tmp_path: Path) -> None:
    """A folder whose record is of another configuration, or has no weights, offers nothing to read again."""
    store, run = _recorded_seed(tmp_path, 1)
    config, cpu = TrainConfig(), torch.device("cpu")
    assert store.trained(1, config.network, cpu) is None  # recorded without weights
    net = build_network(config.network)
    store.save(run, net)
    trained = store.trained(1, config.network, cpu)
    assert trained is not None and trained[0] == run and trained[2] == tmp_path.name
    assert trained[1].state_dict().keys() == net.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(trained[1].state_dict().values(), net.state_dict().values()))
    other = RunStore(tmp_path, {**store.fingerprint, "config": TrainConfig(lr=0.5).to_dict()})
    assert other.trained(1, config.network, cpu) is None
    wider = TrainConfig(network=replace(config.network, width=2.0)).network  # weights that do not fit
    assert store.trained(1, wider, cpu) is None


@pytest.mark.parametrize(
    "case", ["trained here", "no tta", "poisson", "another device", "another kernel", "unfinished"]
)
def test_which_plain_retrains_are_read_again(tmp_path: Path, case: str) -> None:
    """Only a finished retrain without tta, on the same device and kernel, of directly encoded images."""
    config = TrainConfig(
        tta="none" if case == "no tta" else "flip",
        network=replace(TrainConfig().network, encoding="poisson" if case == "poisson" else "direct"),
    )
    budget = RetrainBudget(train_size=300, epochs=1, seeds=1, trial_epochs=1, tta=config.tta)
    plain_folder = tmp_path / replace(budget, tta="none").folder_name(1)
    kernel = {"neuron_kernel": "torch-reference"}
    if case != "unfinished":
        write_json(
            plain_folder / "result.json",
            RetrainResult(
                study="s",
                storage="sqlite://",
                trial=1,
                strategy="combined",
                thesis_preset=None,
                validation_accuracy=None,
                config=config.to_dict(),
                budget=replace(budget, tta="none"),
                runs=[
                    RetrainRun(
                        seed=0,
                        test_accuracy=0.9,
                        test_loss=0.3,
                        per_class_accuracy={},
                        confusion_matrix=[],
                        train_seconds=1.0,
                        test_seconds=1.0,
                    )
                ],
                device="cuda:0" if case == "another device" else "cpu",
                versions={"neuron_kernel": "fused"} if case == "another kernel" else kernel,
            ).to_dict(),
        )
    fingerprint = {"study": "s", "trial": 1, "config": config.replace(seed=0).to_dict(), "epochs": 1, "train_size": 300}
    plain = _plain_retrain(
        tmp_path / budget.folder_name(1), budget, 1, fingerprint, config, torch.device("cpu"), kernel
    )
    if case == "trained here":
        assert plain is not None and plain.folder == plain_folder
        assert plain.fingerprint["config"] == config.replace(seed=0, tta="none").to_dict()
    else:
        assert plain is None


def _recorded_seed(folder: Path, seed: int) -> tuple[RunStore, RetrainRun]:
    """A retrain's store in ``folder`` with one seed recorded (no weights)."""
    fingerprint = {"study": "s", "trial": 1, "config": TrainConfig().to_dict(), "epochs": 1, "train_size": 300}
    store = RunStore(folder, fingerprint)
    run = RetrainRun(
        seed=seed,
        test_accuracy=0.9,
        test_loss=0.3,
        per_class_accuracy={},
        confusion_matrix=[],
        train_seconds=1.0,
        test_seconds=1.0,
    )
    store.save(run)
    return store, run
