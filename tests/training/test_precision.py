"""The precision policy (--precision): what auto chooses, what bfloat16 keeps in float32, and what a
study and a retrain record of it."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import torch

from models import SPIKING_NEURONS, NetworkConfig
from search.errors import UsageError
from search.retrain import RetrainBudget
from search.store import CONFIG
from search.training import PRECISION_NAMES, TrainConfig, TrainVal, choose_precision, native_bf16
from search.training import _benchmark as benchmark
from search.training import _precision as precision_policy
from search.training import _step as step
from search.tuning import StudyRequest, StudySettings
from search.tuning._settings import SETTINGS_ATTR, UnreadableSettings
from support import TINY, assert_one_line_error, run_module, trials

CPU = torch.device("cpu")
STEP_CONFIG = TrainConfig(epochs=1, batch_size=32).replace(time_steps=2)


def test_auto_takes_bfloat16_only_where_the_device_runs_it_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision_policy, "native_bf16", lambda device: True)
    native = choose_precision("auto", CPU)
    assert native.precision == "bf16" and native.slow_warning is None
    assert native.describe() == "precision bfloat16 (auto: this CPU runs bfloat16 natively)"
    monkeypatch.setattr(precision_policy, "native_bf16", lambda device: False)
    without = choose_precision("auto", CPU)
    assert without.precision == "fp32" and without.slow_warning is None
    assert without.describe() == "precision float32 (auto: this CPU has no native bfloat16)"


def test_bfloat16_where_the_cpu_lacks_it_is_allowed_and_warned_as_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision_policy, "native_bf16", lambda device: False)
    asked = choose_precision("bf16", CPU)
    assert asked.precision == "bf16"
    assert asked.slow_warning is not None and "emulates it" in asked.slow_warning
    assert choose_precision("fp32", CPU).slow_warning is None
    with pytest.raises(UsageError, match="unknown --precision 'fp16'"):
        choose_precision("fp16", CPU)


def test_auto_keeps_a_recorded_precision_and_an_explicit_choice_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision_policy, "native_bf16", lambda device: True)
    kept = choose_precision("auto", CPU, "fp32", "the study's")
    assert kept.precision == "fp32"
    assert kept.describe().startswith("precision float32 (the study's: auto keeps it")
    assert choose_precision("bf16", CPU, "fp32", "the study's").precision == "bf16"


def test_native_bfloat16_on_the_cpu_is_what_onednn_reports() -> None:
    assert native_bf16(CPU) is bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@pytest.mark.parametrize(
    "network",
    [
        NetworkConfig(time_steps=2),
        NetworkConfig(time_steps=2, front_end="lif", batch_norm=True, readout="rate", dropout=0.2),
        NetworkConfig(time_steps=2, neuron="plif"),
    ],
    ids=["default", "lif-front-bn-rate", "plif"],
)
def test_under_bfloat16_only_convolutions_and_products_leave_float32(
    network: NetworkConfig, small_data: TrainVal
) -> None:
    """bfloat16 autocast runs the layers' products in bfloat16; every neuron takes and keeps float32
    (search.training._precision says why), and the loss, the weights and Adam's state stay float32."""
    config = STEP_CONFIG.replace(precision="bf16", **{k: getattr(network, k) for k in vars(network)})
    net = benchmark._network(config, CPU)
    dtypes: dict[str, list[torch.dtype]] = {"neuron in": [], "neuron out": [], "classifier out": []}

    def on_neuron(module: torch.nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        dtypes["neuron in"].append(args[0].dtype)
        dtypes["neuron out"].append(out.dtype)

    for module in net.modules():
        if isinstance(module, SPIKING_NEURONS) or module is net.output:
            module.register_forward_hook(on_neuron)
    net.classifier.register_forward_hook(lambda m, a, out: dtypes["classifier out"].append(out.dtype))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    images, labels = next(benchmark.fast_batches(small_data.train, 32))
    loss, logits = step.train_step(net, net, images, labels, config, CPU, optimizer, torch.Generator().manual_seed(0))
    assert dtypes["classifier out"] == [torch.bfloat16]  # autocast ran
    assert dtypes["neuron in"] and set(dtypes["neuron in"]) == {torch.float32}
    assert set(dtypes["neuron out"]) == {torch.float32}
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert logits.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert all(s.dtype == torch.float32 for state in optimizer.state.values() for s in state.values() if s.dim())


def test_records_made_before_the_policy_read_as_float32() -> None:
    legacy = TrainConfig().to_dict()
    del legacy["precision"]
    assert TrainConfig.from_dict({**legacy, "amp": False}).precision == "fp32"
    assert TrainConfig.from_dict({**legacy, "amp": True}).precision == "bf16"
    assert TrainConfig.from_dict(legacy).precision == "fp32"
    with pytest.raises(ValueError, match="unknown precision 'fp16'; valid: fp32, bf16"):
        TrainConfig(precision="fp16")
    stored = StudyRequest().new_settings().to_dict()
    del stored["precision"]
    assert StudySettings.from_dict(stored).precision == "fp32"
    with pytest.raises(UnreadableSettings, match="precision 'fp16'"):
        StudySettings.from_dict({**stored, "precision": "fp16"})


def test_a_retrain_in_bfloat16_has_its_own_folder_and_says_so() -> None:
    old = {"train_size": 60000, "epochs": 30, "seeds": 3, "trial_epochs": 10, "tta": "none"}
    fp32 = RetrainBudget(**old)  # recorded before the policy
    assert fp32.precision == "fp32" and fp32.folder_name(4) == "trial-4-30ep-60000img"
    bf16 = RetrainBudget(**old, precision="bf16")
    assert bf16.folder_name(4) == "trial-4-30ep-60000img-bf16"
    assert "bfloat16" in bf16.describe() and "bfloat16" not in fp32.describe()


def test_a_study_keeps_its_precision_and_refuses_another() -> None:
    created = StudyRequest(device_precision="bf16").new_settings()
    assert created.precision == "bf16"
    assert StudyRequest(precision="fp32", device_precision="bf16").new_settings().precision == "fp32"
    # auto resumes in the study's precision, on whatever device the worker runs
    assert StudyRequest(device_precision="fp32").resolve("s", created).precision == "bf16"
    assert StudyRequest(precision="bf16").resolve("s", created).precision == "bf16"
    with pytest.raises(UsageError, match="study 's' was created with --precision bf16; resume it with those values"):
        StudyRequest(precision="fp32").resolve("s", created)


@pytest.mark.slow
def test_search_run_prints_records_and_holds_the_study_to_its_precision(tmp_path: Path) -> None:
    expected = choose_precision("auto", CPU).precision
    storage = f"sqlite:///{tmp_path}/p.db"
    made = run_module(
        "search.run", "--storage", storage, "--study", "p", "--trials", "1", "--no-thesis", *TINY, cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    assert f"precision {PRECISION_NAMES[expected]} (auto: this CPU" in made.stdout
    (trial,) = trials(storage, "p")
    assert trial.user_attrs[CONFIG]["precision"] == expected
    study = optuna.load_study(study_name="p", storage=storage)
    assert study.user_attrs[SETTINGS_ATTR]["precision"] == expected
    other = "fp32" if expected == "bf16" else "bf16"
    refused = run_module(
        "search.run", "--storage", storage, "--study", "p", "--trials", "2", "--precision", other, cwd=tmp_path
    )
    assert refused.returncode == 2
    line = assert_one_line_error(refused.stderr)
    assert f"study 'p' was created with --precision {expected}; resume it with those values" in line
    assert len(trials(storage, "p")) == 1
