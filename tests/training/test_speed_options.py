"""--neuron-backend, --compile, search.bench --sweep and scripts/gpu-check.sh (its CPU path).

Behaviour only: speed itself is measured by ``python -m search.bench``, not asserted here.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional

from models import NetworkConfig, build_network, compile_support
from search import bench
from search.errors import UsageError
from search.training import TrainConfig
from search.training import _benchmark as benchmark
from search.training import _compilation as compilation
from search.training import _kernels as kernels
from support import REPO_ROOT, assert_one_line_error, run_module

CPU = torch.device("cpu")
GPU = torch.device("cuda", 0)  # a device object only: nothing runs on it


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("cuda", "error: --neuron-backend cuda needs a CUDA GPU"),
        ("triton", "error: --neuron-backend triton needs a CUDA GPU"),
        (
            "cupy",
            "python -m search.train: error: argument --neuron-backend: unknown kernel 'cupy'; "
            "valid: auto, cuda, triton, torch, fused (see --help)",
        ),
    ],
)
def test_bad_neuron_backend_is_one_line_exit_2(flag: str, message: str, tmp_path) -> None:
    result = run_module("search.train", "--neuron-backend", flag, "--device", "cpu", cwd=tmp_path)
    assert result.returncode == 2
    assert assert_one_line_error(result.stderr, starts_with=message.partition(":")[0]).startswith(message)


def test_triton_without_triton_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "triton_available", lambda: False)
    with pytest.raises(UsageError, match="Triton is not installed"):
        kernels.check_neuron_backend("triton", GPU)
    assert kernels.check_neuron_backend("cuda", GPU) == "cuda"  # the GPU checks pass for a GPU device


def test_kernel_that_cannot_run_on_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """SpikingJelly's own refusal (e.g. native kernels not built for this GPU) becomes one line."""

    def refuse(device: torch.device, compiled: bool = False) -> str:
        raise RuntimeError("No available sj_lif CUDA implementation. cuda: no kernel image for sm_90")

    monkeypatch.setattr(kernels, "neuron_backend_in_use", refuse)
    for variable in kernels.NEURON_FAMILIES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delitem(sys.modules, "spikingjelly._ops.lif", raising=False)
    monkeypatch.delitem(sys.modules, "spikingjelly._ops.plif", raising=False)
    with pytest.raises(UsageError, match="--neuron-backend cuda cannot run on cuda:0: No available sj_lif"):
        kernels.apply_neuron_backend("cuda", GPU)


@pytest.mark.parametrize(
    ("choice", "spikingjelly", "in_use"),
    [
        ("auto", "auto", "fused (LIF front end), torch-reference (others)"),
        ("torch", "torch", "torch-reference"),
        ("fused", "auto", "fused"),
    ],
)
def test_choice_reaches_spikingjelly(
    choice: str, spikingjelly: str, in_use: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set in the environment (for packages not loaded yet and for worker processes) and in the
    LIF selector SpikingJelly has already loaded; on the CPU SpikingJelly runs its torch reference,
    and the fused recurrence runs where the choice says."""
    import spikingjelly._ops.lif as lif_ops

    if compile_support.compile_unavailable("cpu") is not None:
        pytest.skip("torch.compile cannot run here")
    for variable in kernels.NEURON_FAMILIES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(lif_ops._selection, "_requested", "auto")
    kernels.apply_neuron_backend(choice, CPU)
    assert all(os.environ[v] == spikingjelly for v in kernels.NEURON_FAMILIES.values())
    assert lif_ops._selection._requested == spikingjelly
    assert kernels.neuron_backend_in_use(CPU) == in_use
    assert kernels.neuron_backend_in_use(CPU, compiled=True) == "torch-reference"


@pytest.mark.slow
def test_environment_is_read_when_spikingjelly_loads_its_lif_operators() -> None:
    """SpikingJelly reads SJ_LIF_CUDA_IMPLEMENTATION at import of spikingjelly._ops.lif (lazily, at
    the first LIF call), so a value set by apply_neuron_backend before then is the one it holds."""
    code = (
        "import sys, torch; from search.training._kernels import apply_neuron_backend;"
        "import spikingjelly.activation_based.neuron;"
        "assert 'spikingjelly._ops.lif' not in sys.modules;"
        "apply_neuron_backend('torch', torch.device('cpu'));"
        "import spikingjelly._ops.lif as ops; print(ops._selection._requested)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SJ_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "torch"


def test_compile_falls_back_to_eager_with_one_warning(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    compilation.compile_unavailable.cache_clear()
    compilation._warn_once.cache_clear()
    monkeypatch.setattr(compile_support.shutil, "which", lambda name: None)
    net = build_network(NetworkConfig())
    assert compilation.compile_network(net, CPU) is net
    assert compilation.compile_network(net, CPU) is net
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: --compile ignored, training runs eager: no C++ compiler")
    compilation.compile_unavailable.cache_clear()
    compilation._warn_once.cache_clear()


@pytest.mark.slow
@pytest.mark.skipif(compilation.compile_unavailable("cpu") is not None, reason="torch.compile cannot run here")
def test_compiled_training_step_equals_eager() -> None:
    """One forward and backward pass on 8 images at T = 2: logits and gradients as in eager mode.

    Compiling takes tens of seconds on two cores; the network is the smallest case that runs
    every layer (LIF front end, batch norm)."""
    torch.manual_seed(0)
    config = NetworkConfig(time_steps=2, front_end="lif", batch_norm=True)
    net = build_network(config).to(memory_format=torch.channels_last)
    images = torch.rand(8, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    labels = torch.arange(8) % 10

    def step(model) -> tuple[torch.Tensor, list[torch.Tensor]]:
        net.zero_grad(set_to_none=True)
        logits = model(images)
        F.cross_entropy(logits, labels).backward()
        functional.reset_net(net)
        return logits.detach(), [p.grad.clone() for p in net.parameters()]

    eager_logits, eager_grads = step(net)
    compiled_logits, compiled_grads = step(compilation.compile_network(net, CPU))
    assert torch.allclose(compiled_logits, eager_logits, rtol=1e-4, atol=1e-5)
    for got, want in zip(compiled_grads, eager_grads):
        assert torch.allclose(got, want, rtol=1e-3, atol=1e-5)


@pytest.mark.slow
def test_sweep_prints_one_table(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setattr(benchmark, "SWEEP_BATCHES", (4, 8))
    monkeypatch.setattr(benchmark, "SWEEP_TIME_STEPS", (1, 2))
    assert bench.main(["--sweep", "--steps", "1", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "training images/s" in lines[1] and set(lines[2]) <= {"-", " "}
    rows = lines[3:]
    assert len(rows) == len(benchmark.sweep_configs(TrainConfig()))
    assert sum("LIF front end" in r for r in rows) == 4


def test_bench_has_no_flags_that_do_not_change_speed(tmp_path) -> None:
    result = run_module("search.bench", "--epochs", "3", cwd=tmp_path)
    assert result.returncode == 2
    assert "unrecognized arguments: --epochs 3" in assert_one_line_error(result.stderr, "python -m search.bench")


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU path of the script")
def test_gpu_check_cpu_path(tmp_path) -> None:
    """Without CUDA the GPU rows say why they were skipped; the CPU rows, a 2-trial search and
    its retrain run at tiny sizes; exit 0.  It runs in a scratch folder (its studies/ and the
    retrain's artifacts land there) with this checkout's packages on PYTHONPATH."""
    if (REPO_ROOT / "data").is_dir():
        (tmp_path / "data").symlink_to(REPO_ROOT / "data")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "PYTHONPATH": str(REPO_ROOT),
        "GPU_CHECK_STEPS": "1",
        "GPU_CHECK_TRIALS": "2",
        "GPU_CHECK_TRAIN_SIZE": "300",
        "GPU_CHECK_VAL_SIZE": "200",
        "GPU_CHECK_EPOCHS": "1",
        "GPU_CHECK_FINAL_EPOCHS": "1",
        "GPU_CHECK_FINAL_TRAIN_SIZE": "300",
        "GPU_CHECK_STUDY": "gpu-check-test",
    }
    env.pop("FMNIST_DIR", None)
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "gpu-check.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout
    assert "skipped: no CUDA GPU here" in table
    assert sum("bench cpu" in line for line in table.splitlines()) == 23
    assert "bench cpu cuda fp32 --no-compile" in table
    for line in table.splitlines():
        if line.startswith(("bench cpu auto fp32 --no-compile", "search:", "final retrain")):
            assert "| ok," in line, line
        if line.startswith("bench cpu auto fp32 --no-compile"):
            assert line.split("|")[1].strip().replace(",", "").isdigit(), line  # training images/s parsed
    assert (tmp_path / "studies" / "gpu-check-test" / "table.txt").is_file()


def test_freed_cpu_memory_is_kept_where_glibc_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    """search.training._cpu_memory sets glibc's thresholds (once per process); elsewhere it does nothing."""
    import platform

    from search.training import _cpu_memory as cpu_memory

    cpu_memory.retain_freed_memory.cache_clear()
    monkeypatch.setattr(cpu_memory.ctypes.util, "find_library", lambda name: None)
    assert cpu_memory.retain_freed_memory() is False
    monkeypatch.undo()
    cpu_memory.retain_freed_memory.cache_clear()
    assert cpu_memory.retain_freed_memory() is (platform.libc_ver()[0] == "glibc")
