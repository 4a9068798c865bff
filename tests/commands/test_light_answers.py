"""Every command's ``--help``, and a refused flag, answer without importing torch, torchvision or SpikingJelly.

Each case runs ``python -X importtime -m <command> ...`` as a user would and reads, from the
interpreter's own import log, every module the command loaded: the check is on what loaded,
not on a clock.  The flag errors are ones the command refuses before it needs a storage or data
(a mistyped flag, a value out of range, a device or kernel that does not exist, too many
workers, a grace period no longer than the heartbeat, --start-top without --start-from, an unknown
strategy).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from support import REPO_ROOT, command_env

HEAVY = ("torch", "torchvision", "spikingjelly")
COMMANDS = ("run", "final", "train", "report", "bench", "fidelity", "dashboard", "pruners")

# One refused flag per command at least; search.run's checks after the parser are here too.
FLAG_ERRORS = [
    ("search.run", ["--trial", "6"], "unrecognized arguments: --trial 6; --trial: did you mean --trials?"),
    ("search.final", ["--trials", "3"], "--trials: did you mean --trial?"),
    ("search.run", ["--val-size", "5"], "argument --val-size"),
    ("search.run", ["--max-energy", "20mJ"], "in uJ, µJ, nJ or pJ (a bare number is pJ), e.g. 20uJ; got '20mJ'"),
    ("search.run", ["--device", "tpu"], "argument --device: unknown device 'tpu'"),
    ("search.run", ["--workers", "100000"], "--workers 100000: this machine has"),
    ("search.run", ["--heartbeat-interval", "5", "--grace-period", "1"], "must be longer than --heartbeat-interval"),
    ("search.run", ["--strategies", "baseline,warp"], "unknown strategy warp"),
    ("search.run", ["--start-top", "3"], "--start-top K chooses how many configurations --start-from STUDY queues"),
    ("search.final", ["--top", "0"], "argument --top"),
    ("search.final", ["--neuron-backend", "cupy"], "argument --neuron-backend: unknown kernel 'cupy'"),
    ("search.train", ["--train-size", "5"], "argument --train-size"),
    ("search.train", ["--device", "gpu"], "argument --device: unknown device 'gpu'; valid: auto, cpu, cuda, cuda:N"),
    ("search.report", ["--studdy", "x"], "--studdy: did you mean --study?"),
    ("search.bench", ["--device", "tpu"], "argument --device: unknown device 'tpu'"),
    ("search.fidelity", ["--study", ""], "argument --study"),
    ("search.dashboard", ["--port", "0"], "argument --port"),
    ("search.pruners", ["--bogus"], "unrecognized arguments: --bogus"),
]


def imported_modules(import_log: str) -> set[str]:
    """The top-level packages named in a ``-X importtime`` log (``import time: self | cumulative | name``)."""
    names = set()
    for line in import_log.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name.split(".")[0])
    return names


def run_logged(module: str, *args: str, cwd) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", module, *args],
        cwd=cwd,
        env=command_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, imported_modules(result.stderr)


def test_the_import_log_is_read() -> None:
    """The reader finds a heavy package in a real log, so an empty answer below means 'not loaded'."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import json.decoder"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert "json" in imported_modules(result.stderr)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_loads_no_torch(command: str, tmp_path) -> None:
    result, loaded = run_logged(f"search.{command}", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert f"python -m search.{command}" in result.stdout
    assert "search" in loaded  # the log was read
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize(
    ("module", "args", "says"), FLAG_ERRORS, ids=[f"{m}{' '.join(['', *a])}" for m, a, _ in FLAG_ERRORS]
)
def test_a_refused_flag_loads_no_torch(module: str, args: list[str], says: str, tmp_path) -> None:
    result, loaded = run_logged(module, *args, cwd=tmp_path)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert result.returncode == 2
    assert len(errors) == 1 and "error:" in errors[0] and says in errors[0], errors
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert list(tmp_path.iterdir()) == []
