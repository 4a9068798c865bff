"""cluster/slurm/snn-search.sbatch on a real one-node SLURM cluster that the fixture starts (slurmctld and
slurmd on localhost, Debian's slurm-wlm and munge, which `make slurm` installs): one sbatch runs the
study, its worker array and, after the last worker, the retrain and report; a worker cancelled
mid-trial loses nothing.  Skipped, with the reason, where the cluster cannot start (not root, no
slurm-wlm, ports taken)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import optuna
import pytest

from search.store import RETRY_OF, WORKER
from support import FINISHED, REPO_ROOT, command_env, wait_for

pytestmark = pytest.mark.slow

SCRIPT = REPO_ROOT / "cluster" / "slurm" / "snn-search.sbatch"
PORTS = (16817, 16818)  # slurmctld, slurmd: not SLURM's defaults, so a real cluster on this machine is left alone
TINY_RUN = "--train-size 300 --val-size 200 --no-thesis"


def _slurm_conf(folder: Path) -> Path:
    conf = folder / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=snntest",
                "SlurmctldHost=localhost",
                "SlurmUser=root",
                "SlurmdUser=root",
                "AuthType=auth/munge",
                f"StateSaveLocation={folder}/state",
                f"SlurmdSpoolDir={folder}/spool",
                f"SlurmctldPidFile={folder}/slurmctld.pid",
                f"SlurmdPidFile={folder}/slurmd.pid",
                f"SlurmctldPort={PORTS[0]}",
                f"SlurmdPort={PORTS[1]}",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SchedulerType=sched/backfill",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "ReturnToService=2",
                "MpiDefault=none",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "MinJobAge=3600",  # finished jobs stay visible to scontrol for the checks below
                f"SlurmctldLogFile={folder}/slurmctld.log",
                f"SlurmdLogFile={folder}/slurmd.log",
                f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory=1000 State=UNKNOWN",
                "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )
    )
    (folder / "state").mkdir()
    (folder / "spool").mkdir()
    return conf


def _munge_works() -> bool:
    encoded = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
    if encoded.returncode != 0:
        return False
    return subprocess.run(["unmunge"], input=encoded.stdout, capture_output=True, timeout=10).returncode == 0


def _start_munge() -> str | None:
    """None when munge answers (started here if it was not running), else why not."""
    if _munge_works():
        return None
    Path("/run/munge").mkdir(parents=True, exist_ok=True)
    shutil.chown("/run/munge", "munge", "munge")
    subprocess.run(["su", "-s", "/bin/sh", "munge", "-c", "munged"], capture_output=True, timeout=30)
    for _ in range(20):
        if _munge_works():
            return None
        time.sleep(0.5)
    return "munged did not start"


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the one-node SLURM cluster runs its daemons as root"
    missing = [b for b in ("slurmctld", "slurmd", "sbatch", "munged") if shutil.which(b) is None]
    if missing:
        return f"{', '.join(missing)} not installed: run `make slurm` (Debian's slurm-wlm and munge)"
    taken = [p for p in PORTS if _port_taken(p)]
    if taken:
        return f"port {taken[0]} is taken: another SLURM cluster runs here"
    return None


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A running one-node cluster; the environment its clients need (SLURM_CONF)."""
    reason = _skip_reason() or _start_munge()
    if reason:
        pytest.skip(reason)
    conf = _slurm_conf(tmp_path_factory.mktemp("slurm"))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    subprocess.run(["slurmctld", "-f", str(conf)], env=env, check=True, timeout=30)
    subprocess.run(["slurmd", "-f", str(conf), "-N", "localhost"], env=env, check=True, timeout=30)

    def idle() -> bool:
        out = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() == "idle"

    try:
        wait_for(idle, 60, "the SLURM node to be idle", every=1)
        yield {"SLURM_CONF": str(conf)}
    finally:
        subprocess.run(["scontrol", "shutdown"], env=env, capture_output=True, timeout=30)
        for daemon in ("slurmd", "slurmctld"):
            pid_file = conf.parent / f"{daemon}.pid"
            if pid_file.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid_file.read_text()), 9)


def _submit(folder: Path, slurm: dict[str, str], **settings: str) -> tuple[dict[str, str], list[str]]:
    """sbatch the script from ``folder`` (as a user submits it); the environment, and the jobs it started."""
    (folder / "studies").mkdir(exist_ok=True)
    env = {**command_env(), **slurm, "SNN_PYTHON": sys.executable, "SNN_EPOCHS": "1", **settings}
    launched = subprocess.run(
        ["sbatch", "--parsable", str(SCRIPT)], cwd=folder, env=env, capture_output=True, text=True, timeout=60
    )
    assert launched.returncode == 0, launched.stderr
    launcher = launched.stdout.strip()
    log = folder / "studies" / f"slurm-{launcher}.out"
    wait_for(lambda: _done(env, [launcher]), 300, "the launching job")
    started = re.findall(r"job array (\d+)|job (\d+), after", log.read_text())
    return env, [launcher] + [array or final for array, final in started]


def _job_states(env: dict[str, str], job: str) -> list[dict[str, str]]:
    """Every job record of ``job`` (an array: one per task) as scontrol shows it."""
    out = subprocess.run(["scontrol", "-o", "show", "job", job], env=env, capture_output=True, text=True, timeout=30)
    return [dict(kv.split("=", 1) for kv in line.split() if "=" in kv) for line in out.stdout.splitlines()]


def _done(env: dict[str, str], jobs: list[str]) -> bool:
    states = [r["JobState"] for job in jobs for r in _job_states(env, job)]
    return bool(states) and all(s not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING") for s in states)


def _time(record: dict[str, str], key: str) -> datetime:
    return datetime.fromisoformat(record[key])


def test_one_sbatch_runs_the_study_its_workers_then_the_retrain_and_report(
    slurm: dict[str, str], tmp_path: Path
) -> None:
    env, (launcher, array, final) = _submit(
        tmp_path,
        slurm,
        SNN_STUDY="sl",
        SNN_TRIALS="5",
        SNN_WORKERS="3",
        SNN_RUN_FLAGS=TINY_RUN,
        SNN_FINAL_FLAGS="--train-size 300 --epochs 1",
    )
    wait_for(lambda: _done(env, [array, final]), 600, "the workers and the retrain")
    storage = "sqlite:///" + str(tmp_path / "studies" / "optuna.db")
    trials = optuna.load_study(study_name="sl", storage=storage).get_trials()
    assert len([t for t in trials if t.state in FINISHED]) == 5
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    workers = _job_states(env, array)
    assert len(workers) == 3 and {w["JobState"] for w in workers} == {"COMPLETED"}
    (retrain,) = _job_states(env, final)
    assert retrain["JobState"] == "COMPLETED", (tmp_path / "studies" / f"slurm-{final}.out").read_text()
    assert all(_time(w, "EndTime") <= _time(retrain, "StartTime") for w in workers)
    assert (tmp_path / "studies" / "optuna" / "sl" / "report.html").is_file()
    assert "retraining 1 configuration(s)" in (tmp_path / "studies" / f"slurm-{final}.out").read_text()


def test_a_worker_cancelled_mid_trial_has_its_trial_run_again_once(slurm: dict[str, str], tmp_path: Path) -> None:
    env, (launcher, array) = _submit(
        tmp_path,
        slurm,
        SNN_STUDY="cancel",
        SNN_TRIALS="3",
        SNN_WORKERS="2",
        SNN_EPOCHS="2",
        SNN_RUN_FLAGS="--train-size 2000 --val-size 200 --no-thesis --pruner none",
        SNN_FINAL_FLAGS="none",
    )
    storage = "sqlite:///" + str(tmp_path / "studies" / "optuna.db")
    log = tmp_path / "studies" / f"slurm-{array}_0.out"
    pid = int(wait_for(lambda: log.exists() and re.search(r"pid (\d+)", log.read_text()), 120, "task 0").group(1))

    def task_0_trial() -> optuna.trial.FrozenTrial | None:  # the trial, not its number: trial 0 is falsy
        study = optuna.load_study(study_name="cancel", storage=storage)
        running = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
        mine = [t for t in running if t.user_attrs.get(WORKER, {}).get("pid") == pid and t.user_attrs.get("history")]
        return mine[0] if mine else None

    cancelled = wait_for(task_0_trial, 300, "task 0 to be inside a trial", every=0.5).number
    subprocess.run(["scancel", f"{array}_0"], env=env, check=True, timeout=30)
    wait_for(lambda: _done(env, [array]), 600, "the workers")
    trials = optuna.load_study(study_name="cancel", storage=storage).get_trials()
    assert len([t for t in trials if t.state in FINISHED]) == 3
    assert [t.number for t in trials if t.state == optuna.trial.TrialState.FAIL] == [cancelled]
    retries = [t for t in trials if t.user_attrs.get(RETRY_OF) == cancelled]
    assert len(retries) == 1 and retries[0].state in FINISHED
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    assert "interrupted" in log.read_text() or "CANCELLED" in log.read_text()
