"""The claim loop at cluster scale: many worker processes, one PostgreSQL, workers killed, the database restarted.

    python scripts/load_test.py --storage postgresql+psycopg://optuna:optuna@127.0.0.1:5432/optuna_test \\
        --workers 32 --trials 1000 --kills 8 --restart-db

Every worker is a process of its own that runs search.run's real claim loop
(``search.tuning.run_until_target``) with Optuna's heartbeats, the retry of a dead worker's trial
and the patient storage that rides out an outage (``search.store.open_storage``).  Only the
objective is synthetic: a learning curve drawn from a random process seeded by the trial's
number, one value reported per "epoch", with a sleep per epoch instead of training.  The
sampler is random and nothing is pruned, so what is measured is the claim loop and the storage.

While it runs, the parent kills ``--kills`` random workers with SIGKILL (spread over the run, each
replaced by a new process, as a cluster's scheduler would) and, with ``--restart-db``, restarts
Debian's local PostgreSQL cluster once (``pg_ctlcluster VERSION main restart``, as root).
At the end it reads the study and prints: finished trials (the target exactly), duplicates (two
finished trials with the same drawn value: one claim counted twice; 0), trials lost (a killed
trial that was not queued again; 0) or left RUNNING (0), trials given back to the queue when
the target was met (WAITING, not counted), claims per second
(trials created, retries included, over the wall time) and the claim latency's p50 and p99 (from a
worker's previous trial ending to its next trial's objective starting: counting, claiming,
heartbeat and attributes).  Exit 1 when any of the first three is off.  The study is left in
the storage under its printed name (``load-...``).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import optuna

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from search.store import mask_url, open_storage  # noqa: E402
from search.tuning import Heartbeat, identity, run_until_target  # noqa: E402

CLAIM_ATTR = "claim_s"
EPOCHS = 5
KILL_SPACING_S = 3.0  # kills at least this far apart, so each finds workers mid-trial
WARM_S = 10.0  # only workers started this long ago are killed


def synthetic_objective(epoch_s: float):  # noqa: ANN201 (a closure Optuna calls)
    def objective(trial: optuna.Trial) -> float:
        rng = random.Random(trial.number)
        x = trial.suggest_float("x", 0.0, 1.0)
        ceiling, rate = 0.80 + 0.15 * rng.random() * (1 - abs(x - 0.6)), 0.3 + rng.random()
        value = 0.0
        for epoch in range(1, EPOCHS + 1):
            time.sleep(epoch_s * rng.uniform(0.5, 1.5))
            value = ceiling * (1 - math.exp(-rate * epoch)) + rng.gauss(0, 0.005)
            trial.report(value, epoch)
        return value

    return objective


def run_worker(url: str, study_name: str, target: int, index: int, epoch_s: float, patience: float) -> int:
    heartbeat = Heartbeat(interval=1, grace=8)
    storage = open_storage(url, create=False, patience_s=patience, **heartbeat.storage_options())
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=optuna.samplers.RandomSampler())
    objective = synthetic_objective(epoch_s)
    last_end = [time.monotonic()]

    def timed(trial: optuna.Trial) -> float:
        trial.set_user_attr(CLAIM_ATTR, round(time.monotonic() - last_end[0], 4))
        return objective(trial)

    def on_trial(_study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        last_end[0] = time.monotonic()

    run_until_target(study, storage, timed, target=target, worker=identity(index), on_trial=on_trial)
    return 0


def _cluster() -> list[str] | None:
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None or not os.path.isdir("/usr/lib/postgresql"):
        return None
    versions = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()])
    return ["pg_ctlcluster", versions[-1], "main"] if versions else None


def _max_connections(storage: optuna.storages.RDBStorage) -> int | None:
    try:
        with storage.engine.connect() as connection:
            return int(connection.exec_driver_sql("SHOW max_connections").scalar())
    except Exception:  # not PostgreSQL, or no right to ask
        return None


def _start(args: argparse.Namespace, study: str, index: int, logs: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LOAD_TEST_STORAGE": args.storage}  # the URL never on a command line
    command = [sys.executable, __file__, "--worker-index", str(index), "--study", study]
    command += ["--trials", str(args.trials), "--epoch-s", str(args.epoch_s), "--storage-patience", str(args.patience)]
    with open(logs / f"worker-{index}.err", "wb") as stderr:  # a file: a full pipe would stall the worker
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else float("nan")


def summarise(study: optuna.Study, target: int, wall_s: float) -> tuple[dict[str, float], bool]:
    trials = study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state.is_finished() and t.state != optuna.trial.TrialState.FAIL]
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    # Every trial draws its own x: two finished trials with the same x ran one claim twice.
    xs = [t.params.get("x") for t in finished]
    duplicates = len(xs) - len(set(xs))
    retried = {t.system_attrs.get("failed_trial") for t in trials if "failed_trial" in t.system_attrs}
    # A failed first attempt with no retry queued is lost; a retry killed again is not retried (max_retry=1).
    lost = sum(1 for t in failed if "failed_trial" not in t.system_attrs and t.number not in retried)
    twice = sum(1 for t in failed if "failed_trial" in t.system_attrs)
    running = sum(1 for t in trials if t.state == optuna.trial.TrialState.RUNNING)
    waiting = sum(1 for t in trials if t.state == optuna.trial.TrialState.WAITING)
    latencies = [float(t.user_attrs[CLAIM_ATTR]) for t in trials if CLAIM_ATTR in t.user_attrs]
    figures = {
        "finished": len(finished),
        "duplicates": duplicates,
        "lost": lost,
        "running": running,
        "failed (killed)": len(failed) - twice,
        "retried": len(retried),
        "retries killed again": twice,
        "given back (waiting)": waiting,
        "claims": len(trials),
        "claims/s": len(trials) / wall_s,
        "claim p50 s": _percentile(latencies, 0.5),
        "claim p99 s": _percentile(latencies, 0.99),
        "wall s": wall_s,
    }
    ok = len(finished) == target and duplicates == 0 and lost == 0 and running == 0
    return figures, ok


def run_parent(args: argparse.Namespace) -> int:
    cluster = _cluster() if args.restart_db else None
    if args.restart_db and cluster is None:
        print("error: --restart-db needs root and Debian's local PostgreSQL cluster (pg_ctlcluster)", file=sys.stderr)
        return 2
    storage = open_storage(args.storage, create=True)
    allowed = _max_connections(storage)
    if allowed is not None and allowed - 3 < 2 * args.workers + 2:
        print(
            f"error: PostgreSQL allows {allowed} connections and {args.workers} workers need about "
            f"{2 * args.workers + 2}: raise max_connections (make postgres sets 200)",
            file=sys.stderr,
        )
        return 2
    name = f"load-{args.workers}w-{args.trials}t-{uuid.uuid4().hex[:6]}"
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    print(
        f"study {name!r} in {mask_url(args.storage)}: {args.trials} trials of {EPOCHS} epochs x ~{args.epoch_s} s, "
        f"{args.workers} workers, {args.kills} kill -9, database restart: {'yes' if cluster else 'no'}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="load-test-") as folder:
        return _drive(args, name, study, storage, cluster, Path(folder))


def _drive(
    args: argparse.Namespace,
    name: str,
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    cluster: list[str] | None,
    logs: Path,
) -> int:
    start = time.monotonic()
    workers = {i: _start(args, name, i, logs) for i in range(args.workers)}
    started = dict.fromkeys(workers, start)
    next_index = args.workers
    kill_at = sorted(random.Random(0).uniform(0.1, 0.8) for _ in range(args.kills))
    restart_at = 0.4 if cluster else None
    events = []
    rng = random.Random(1)
    last_kill = 0.0
    while any(p.poll() is None for p in workers.values()):
        time.sleep(0.5)
        done = sum(1 for t in study.get_trials(deepcopy=False) if t.state.is_finished()) / args.trials
        now = time.monotonic()
        if kill_at and done >= kill_at[0] and now - last_kill >= KILL_SPACING_S:
            kill_at.pop(0)
            # A worker that has had time to start and claim: killing one still importing kills no trial.
            alive = [i for i, p in workers.items() if p.poll() is None and now - started[i] > WARM_S]
            if alive:
                victim = rng.choice(alive)
                workers[victim].send_signal(signal.SIGKILL)
                last_kill = now
                workers[next_index] = _start(args, name, next_index, logs)
                started[next_index] = now
                events.append(f"{time.monotonic() - start:6.1f} s  kill -9 worker {victim}, started {next_index}")
                next_index += 1
        if restart_at is not None and done >= restart_at:
            restart_at = None
            assert cluster is not None
            subprocess.run([*cluster, "restart"], check=True, timeout=120)
            events.append(f"{time.monotonic() - start:6.1f} s  PostgreSQL restarted")
    wall = time.monotonic() - start
    failures = {i: p.returncode for i, p in workers.items() if p.returncode not in (0, -signal.SIGKILL)}
    for index, code in failures.items():
        tail = (logs / f"worker-{index}.err").read_text(errors="replace").strip().splitlines()[-12:]
        print(f"worker {index} exited with code {code}:", *tail, sep="\n  ", file=sys.stderr)
    outages = sum("does not answer" in p.read_text(errors="replace") for p in logs.glob("worker-*.err"))
    if outages:
        events.append(f"{outages} worker(s) waited for the storage and went on")
    for event in events:
        print(event)
    figures, ok = summarise(optuna.load_study(study_name=name, storage=storage), args.trials, wall)
    for key, value in figures.items():
        print(f"{key:>26}: {value:.3f}" if isinstance(value, float) else f"{key:>26}: {value}")
    return 0 if ok and not failures else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/load_test.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", default=os.environ.get("LOAD_TEST_STORAGE"), help="a PostgreSQL URL")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=8, help="workers killed with SIGKILL during the run")
    parser.add_argument("--restart-db", action="store_true", help="restart the local PostgreSQL cluster once")
    parser.add_argument("--epoch-s", type=float, default=0.2, help="seconds per synthetic epoch (5 per trial)")
    parser.add_argument("--storage-patience", dest="patience", type=float, default=120.0)
    parser.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--study", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.storage:
        parser.error("--storage URL is required (or LOAD_TEST_STORAGE)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.worker_index is not None:
        return run_worker(args.storage, args.study, args.trials, args.worker_index, args.epoch_s, args.patience)
    return run_parent(args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
