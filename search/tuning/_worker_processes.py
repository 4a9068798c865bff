"""Local worker processes of ``search.run --workers K``: plan, command line, start, wait, exit.

The parent plans one worker per share of the CPU cores (one GPU each when there are
several), starts each as ``python -m search.run`` with its share, waits for them and
passes a Ctrl-C on once; a worker whose parent is gone, however it ended, stops like one
interrupted (:func:`die_with_parent`).  The storage URL reaches the workers through the environment
variable ``SNN_SEARCH_WORKER_STORAGE``, never on a command line, where every local user
could read a password in ``ps``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from search.errors import UsageError

STORAGE_ENV = "SNN_SEARCH_WORKER_STORAGE"
PARENT_ENV = "SNN_SEARCH_WORKER_PARENT"  # the parent's pid, which a worker watches
PARENT_POLL_S = 1.0


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask, where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def check_worker_count(workers: int) -> None:
    cores = available_cores()
    if workers > cores:
        raise UsageError(f"--workers {workers}: this machine has {cores} CPU core(s); use at most {cores}")


@dataclass(frozen=True)
class WorkerPlan:
    """One local worker: its index, device and CPU threads."""

    index: int
    device: str
    threads: int


def plan_workers(count: int, device: str) -> list[WorkerPlan]:
    """``count`` workers sharing the CPU threads; one GPU each (round robin) when there are several.

    With ``--device auto`` or ``cuda`` and more than one GPU, worker i gets ``cuda:(i mod GPUs)``;
    otherwise every worker uses ``device`` (``auto`` resolved here).
    """
    threads = max(1, available_cores() // count)
    import torch  # only the parent of several workers plans devices

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "auto":
        device = "cuda" if gpus else "cpu"
    plans = []
    for i in range(count):
        worker_device = f"cuda:{i % gpus}" if device == "cuda" and gpus > 1 else device
        plans.append(WorkerPlan(index=i, device=worker_device, threads=threads))
    return plans


def without_storage(argv: Sequence[str]) -> list[str]:
    """``argv`` without its ``--storage URL`` / ``--storage=URL``: the URL goes through the environment."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--storage":
            skip = True
            continue
        if arg.startswith("--storage="):
            continue
        out.append(arg)
    return out


def worker_command(argv: Sequence[str], plan: WorkerPlan) -> list[str]:
    """The parent's command line without the storage URL, run as worker ``plan.index``.

    Later flags override earlier ones; the hidden ``--worker-index`` and ``--threads`` are
    the parent's to set.
    """
    return [
        sys.executable,
        "-m",
        "search.run",
        *without_storage(argv),
        "--workers",
        "1",
        "--worker-index",
        str(plan.index),
        "--threads",
        str(plan.threads),
        "--device",
        plan.device,
    ]


def start_workers(argv: Sequence[str], storage_url: str, plans: Sequence[WorkerPlan]) -> list[subprocess.Popen[bytes]]:
    """Start the workers, each in its own session: a Ctrl-C reaches them once, through the parent."""
    procs = []
    for plan in plans:
        env = {
            **os.environ,
            "OMP_NUM_THREADS": str(plan.threads),
            "MKL_NUM_THREADS": str(plan.threads),
            STORAGE_ENV: storage_url,
            PARENT_ENV: str(os.getpid()),
        }
        procs.append(subprocess.Popen(worker_command(argv, plan), env=env, start_new_session=True))
    return procs


def wait_for_workers(procs: Sequence[subprocess.Popen[bytes]]) -> tuple[list[int], bool]:
    """Wait for every worker; (their exit codes, whether the parent was interrupted).

    A Ctrl-C or SIGTERM of the parent is passed on once to every worker as SIGTERM, which
    a worker treats like Ctrl-C: its trial is marked failed and queued again.  (SIGTERM, not
    SIGINT: a worker still starting up ends quietly instead of printing a traceback.)
    The parent then waits for them.
    """
    interrupted = False
    while True:
        try:
            return [p.wait() for p in procs], interrupted
        except KeyboardInterrupt:
            if interrupted:
                continue  # already passed on; keep waiting for the workers to finish cleanly
            interrupted = True
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def die_with_parent(poll_s: float = PARENT_POLL_S) -> None:
    """In a worker: end as if interrupted (SIGTERM) once the parent that started it is gone.

    However the parent ends (Ctrl-C, SIGTERM, SIGHUP, ``kill -9``, a crash), its workers are
    re-parented; a daemon thread notices within ``poll_s`` seconds and sends this process
    SIGTERM, which the claim loop treats like Ctrl-C: the running trial is marked failed and
    queued again, and the worker exits.  Does nothing in a process no parent started.
    """
    parent = os.environ.get(PARENT_ENV)
    if parent is None:
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
