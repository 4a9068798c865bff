"""Ctrl-C and SIGTERM during a search: the running trial is marked failed and queued again."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

# Set by a Ctrl-C or SIGTERM.  Python drops a KeyboardInterrupt raised while a garbage-collection
# callback runs (SQLAlchemy has some), so the run also checks this after every epoch and trial.
STOP = threading.Event()


def interrupt_on_signals(debug: bool = False) -> None:
    """Ctrl-C, SIGTERM and SIGHUP (a closed terminal) end a run: the running trial is marked failed and queued again."""

    def handler(signum: int, frame: Any) -> None:
        STOP.set()
        if not debug:
            silence_storage_cleanup()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    if hasattr(signal, "SIGHUP"):  # not on Windows
        signal.signal(signal.SIGHUP, handler)


def silence_storage_cleanup() -> None:
    """Hide SQLAlchemy's log of the cleanup that an interrupt breaks.

    A KeyboardInterrupt raised inside a query makes SQLAlchemy invalidate the connection and
    then fail to close its cursor, which it logs with a traceback ("Error closing cursor").
    With no handler configured, Python's last-resort handler would print that to stderr after
    the one "interrupted" line; the interrupt itself is what the user needs to know.  A handler
    configured on the root logger still gets them, and ``--debug`` keeps them.
    """
    logger = logging.getLogger("sqlalchemy")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def check_stop() -> None:
    """Raise the KeyboardInterrupt that a signal asked for, if Python dropped it on the way."""
    if STOP.is_set():
        raise KeyboardInterrupt
