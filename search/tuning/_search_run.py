"""What one ``search.run`` asked for, typed and checked when it is built, free of torch.

The command builds a :class:`SearchRun` from its flags before anything heavy loads, so a bad
combination of flags (too many workers, a grace period no longer than the heartbeat, an
unknown strategy, a malformed storage URL) is refused in a moment, without torch.
:func:`search.tuning._search.run_search` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from search import store
from search.errors import UsageError
from search.tuning._heartbeat import GRACE_PERIOD_S, HEARTBEAT_INTERVAL_S, Heartbeat
from search.tuning._settings import StudyRequest
from search.tuning._worker_processes import check_worker_count

if TYPE_CHECKING:
    import optuna


@dataclass(frozen=True)
class SearchRun:
    """What one ``search.run`` asked for, besides what defines the study (its :class:`StudyRequest`)."""

    study: str
    storage: str
    request: StudyRequest
    trials: int
    argv: tuple[str, ...]  # the command line, for the worker processes this run starts
    workers: int = 1
    device: str = "auto"
    precision: str = "auto"  # --precision: auto (the study's own, else the device's fast one), bf16, fp32
    neuron_backend: str = "auto"
    compile: bool | None = None
    timeout: float | None = None
    heartbeat_interval: int = HEARTBEAT_INTERVAL_S
    grace_period: int = GRACE_PERIOD_S
    storage_patience: float = store.STORAGE_PATIENCE_S  # seconds a worker retries a storage that does not answer
    data_dir: str | None = None
    download: bool = False
    worker_index: int | None = None  # set in a worker process started by a parent run
    threads: int | None = None
    debug: bool = False
    start_from: str | None = None  # --start-from: a study whose best configurations a new study queues
    start_top: int | None = None  # --start-top: how many of them (None: all)
    create_only: bool = False  # --create-only: create the study (or check the one there) and train nothing
    # Told the study after each finished trial and at the end: search.run saves the dashboard's figures.
    publish: Callable[[optuna.Study], None] | None = None

    def __post_init__(self) -> None:
        """Refuse what no storage or data is needed to see, cheapest first (the storage URL loads SQLAlchemy)."""
        if self.create_only and self.workers > 1:
            raise UsageError("--create-only trains nothing, so --workers has nothing to share: drop one of the two")
        check_worker_count(self.workers)
        self.heartbeat  # noqa: B018 - built to check the pair
        check_start_flags(self.study, self.start_from, self.start_top)
        self.request.check()
        store.parse_storage_url(self.storage)  # loads SQLAlchemy and Optuna: last

    @property
    def heartbeat(self) -> Heartbeat:
        return Heartbeat(self.heartbeat_interval, self.grace_period)

    @property
    def is_worker(self) -> bool:
        return self.worker_index is not None

    @property
    def prefix(self) -> str:
        return f"[worker {self.worker_index}] " if self.is_worker else ""


def check_start_flags(study: str, source: str | None, top: int | None) -> None:
    """``--start-from SOURCE [--start-top K]`` as flags: K needs a source, and a study cannot start from itself."""
    if source is None and top is not None:
        raise UsageError("--start-top K chooses how many configurations --start-from STUDY queues: add it")
    if source is not None and source == study:
        raise UsageError(f"--start-from {source}: a study cannot start from itself")
