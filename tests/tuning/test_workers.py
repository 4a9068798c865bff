"""Several workers on one study reach exactly the target, on the default local storage and on PostgreSQL."""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import pytest

from search.store import THESIS_PRESET, WORKER
from search.training import THESIS_PRESETS
from support import (
    HEARTBEAT,
    STUDY,
    TINY,
    command_env,
    finish,
    finished,
    run_module,
    start_module,
    start_script,
    trials,
    unique,
    wait_for,
)


def assert_shared_exactly(all_trials: list, target: int) -> None:
    """``target`` finished trials, none running, from two workers, each number and each queued recipe once."""
    done = finished(all_trials)
    assert len(done) == target, [(t.number, t.state.name) for t in all_trials]
    assert not [t for t in all_trials if t.state.name == "RUNNING"]
    numbers = [t.number for t in all_trials]
    assert len(numbers) == len(set(numbers))
    workers = {(t.user_attrs[WORKER]["host"], t.user_attrs[WORKER]["pid"]) for t in done}
    assert len(workers) == 2, workers
    # Each thesis recipe was queued once and run at most once (no trial popped by two workers).
    presets = [t.user_attrs[THESIS_PRESET] for t in all_trials if THESIS_PRESET in t.user_attrs]
    assert sorted(presets) == sorted(THESIS_PRESETS)


@pytest.mark.slow
def test_two_local_workers_share_the_default_storage(tmp_path: Path) -> None:
    """`--workers 2` on the default SQLite file: no "database is locked", exactly the target."""
    result = run_module("search.run", "--trials", "6", "--workers", "2", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database is locked" not in result.stderr + result.stdout
    assert "starting 2 workers" in result.stdout
    assert "[worker 0]" in result.stdout and "[worker 1]" in result.stdout
    assert (tmp_path / "studies" / "optuna.db").is_file()
    assert_shared_exactly(trials(f"sqlite:///{tmp_path}/studies/optuna.db", STUDY), 6)


@pytest.mark.slow
def test_two_machines_on_postgres_create_once_and_share(tmp_path: Path, postgres_url: str) -> None:
    """Two `search.run` processes started at once on a new PostgreSQL study, as two machines would."""
    name = unique("two-workers")
    args = ["--trials", "6", *TINY, "--storage", postgres_url, "--study", name]
    env = command_env(OMP_NUM_THREADS="1")
    procs = [start_module("search.run", *args, "--threads", "1", cwd=tmp_path, env=env) for _ in range(2)]
    results = [finish(p) for p in procs]
    for code, out, err in results:
        assert code == 0, err
        assert "optuna:optuna@" not in out + err  # the password is masked
    assert sorted("created" in out for _, out, _ in results) == [False, True]
    assert_shared_exactly(trials(postgres_url, name), 6)


RACE_SCRIPT = textwrap.dedent("""
    import sys, time, warnings
    import optuna
    from search.store import open_storage
    from search.tuning import Heartbeat, identity, run_until_target
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url, name, target, index = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    storage = open_storage(url, create=True, **Heartbeat(1, 3).storage_options())
    study = optuna.load_study(study_name=name, storage=storage)
    ran = []
    def objective(trial):
        ran.append(trial.number)
        x = trial.suggest_float("x", 0, 1)
        time.sleep(0.02)
        return x
    count = run_until_target(study, storage, objective, target=target, worker=identity(index), poll_s=0.2)
    print(" ".join(map(str, ran)))
    print(count)
""")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_many_fast_workers_stop_at_exactly_the_target(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Three processes racing with a 20 ms objective: the claim check keeps the count exact."""
    import optuna

    url = request.getfixturevalue("postgres_url") if backend == "postgres" else f"sqlite:///{tmp_path}/race.db"
    name, target = unique("race"), 30
    from search.store import open_storage

    study = optuna.create_study(study_name=name, storage=open_storage(url, create=True))
    for i in range(15):  # queued trials too, like the thesis recipes
        study.enqueue_trial({"x": i / 100})
    procs = [start_script(RACE_SCRIPT, url, name, str(target), str(i), cwd=tmp_path) for i in range(3)]
    results = [finish(p, timeout=120) for p in procs]
    for code, _, err in results:
        assert code == 0, err
    all_trials = trials(url, name)
    assert len(finished(all_trials)) == target
    assert not [t for t in all_trials if t.state.name in ("RUNNING", "FAIL")]
    assert sum(int(out.strip().splitlines()[-1]) for _, out, _ in results) == target
    ran = [int(n) for _, out, _ in results for n in out.strip().splitlines()[-2].split()]
    assert len(ran) == len(set(ran)) == target  # no trial ran in two workers (a queued one popped twice)
    queued = [t.params["x"] for t in finished(all_trials) if t.number < 15]
    assert sorted(queued) == [i / 100 for i in range(15)]


POP_SCRIPT = textwrap.dedent("""
    import os, sys, warnings
    import optuna
    from search.store import open_storage
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="queue", storage=open_storage(sys.argv[1], create=True))
    for _ in range(int(sys.argv[2])):
        trial = study.ask()
        trial.set_user_attr("pid", os.getpid())
        study.tell(trial, trial.suggest_float("x", 0, 1))  # raises if another worker finished it first
""")


@pytest.mark.slow
def test_local_sqlite_never_hands_one_queued_trial_to_two_workers(tmp_path: Path) -> None:
    """Plain SQLite lets two processes pop the same queued trial (it ignores SELECT ... FOR UPDATE);
    the storage search.run opens starts each transaction with BEGIN IMMEDIATE, which prevents it."""
    import optuna

    url = f"sqlite:///{tmp_path}/queue.db"
    study = optuna.create_study(study_name="queue", storage=url)
    for i in range(60):
        study.enqueue_trial({"x": i / 100})
    procs = [start_script(POP_SCRIPT, url, "20", cwd=tmp_path) for _ in range(3)]
    for proc in procs:
        code, _, err = finish(proc, timeout=120)
        assert code == 0, err
    done = finished(trials(url, "queue"))
    assert len(done) == 60 and len({t.params["x"] for t in done}) == 60


def test_plan_one_gpu_per_worker_and_split_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from search.tuning import _worker_processes as workers

    monkeypatch.setattr(workers, "available_cores", lambda: 16)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    plans = workers.plan_workers(4, "auto")
    assert [p.device for p in plans] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert {p.threads for p in plans} == {4}
    assert [p.device for p in workers.plan_workers(2, "cuda:3")] == ["cuda:3", "cuda:3"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert [(p.device, p.threads) for p in workers.plan_workers(3, "auto")] == [("cpu", 5)] * 3
    command = workers.worker_command(["--trials", "9", "--workers", "3"], plans[1])
    assert command[-8:] == ["--workers", "1", "--worker-index", "1", "--threads", "4", "--device", "cuda:1"]


SECRET_URL = "postgresql+psycopg://optuna:s3cret-pw@db.example:5432/optuna"


@pytest.mark.parametrize(
    "argv",
    [
        ["--trials", "9", "--storage", SECRET_URL, "--workers", "2"],
        ["--trials", "9", f"--storage={SECRET_URL}", "--workers", "2"],
    ],
    ids=["separate", "equals"],
)
def test_workers_get_the_storage_url_in_their_environment_not_their_command_line(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ps` shows every local user a command line: the URL (and its password) never stands on one."""
    from search.tuning import _worker_processes as worker_processes

    started: list[tuple[list[str], dict[str, str]]] = []

    class FakePopen:
        def __init__(self, args: list[str], *, env: dict[str, str], **kwargs: object) -> None:
            started.append((args, env))

    monkeypatch.setattr(worker_processes.subprocess, "Popen", FakePopen)
    plans = [worker_processes.WorkerPlan(index=i, device="cpu", threads=1) for i in range(2)]
    worker_processes.start_workers(argv, SECRET_URL, plans)
    assert len(started) == 2
    for (args, env), plan in zip(started, plans):
        assert args == worker_processes.worker_command(argv, plan)
        assert not [a for a in args if "s3cret" in a or "db.example" in a or a.startswith("--storage")], args
        assert args[:3] == [sys.executable, "-m", "search.run"] and "--trials" in args
        assert env[worker_processes.STORAGE_ENV] == SECRET_URL
        assert env["OMP_NUM_THREADS"] == "1"


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from Linux's /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGHUP], ids=["kill-9", "sighup"])
def test_workers_die_with_their_parent(how: signal.Signals, tmp_path: Path) -> None:
    """However the parent ends, its workers stop as if interrupted: their trials are queued again, none left RUNNING."""
    storage = f"sqlite:///{tmp_path}/orphans.db"
    args = ["--trials", "4", "--workers", "2", "--epochs", "20", "--train-size", "2000", "--no-thesis"]
    proc = start_module("search.run", *args, *HEARTBEAT, "--storage", storage, cwd=tmp_path)

    def training() -> int:
        return sum(t.state.name == "RUNNING" and "config" in t.user_attrs for t in trials(storage, STUDY))

    wait_for(lambda: training() == 2, 180, "both workers training")
    workers = _children(proc.pid)
    assert len(workers) == 2
    proc.send_signal(how)
    finish(proc)
    wait_for(lambda: not any(_alive(w) for w in workers), 60, "the workers to end after their parent")
    after = trials(storage, STUDY)
    assert not [t for t in after if t.state.name == "RUNNING"]
    failed = [t.number for t in after if t.state.name == "FAIL"]
    assert len(failed) == 2
    assert sorted(t.user_attrs.get("retry_of") for t in after if t.state.name == "WAITING") == sorted(failed)
