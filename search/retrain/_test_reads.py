"""How often a configuration's test accuracy was read before a retrain: test-set discipline made visible.

Every seed of a retrain reads the test set once, and leaves one run file (``runs/seed-K.json``)
in its folder.  When a retrain folder is first used, the run files of the same trial in the
study's other folders (another budget, test-time augmentation) are counted and the count is
kept in ``test-reads.json``: a figure chosen after its configuration's test accuracy
had been read is then visible as such, in ``result.json`` and in the comparison table.  A resume,
or a later run adding seeds to the same folder, keeps the first count; later folders count this
one's reads.

Folders can be lost (a machine given back, a results folder deleted) while the study, which is
what travels between machines, stays.  So every read is also logged in the study
(:class:`StudyReadLog`, user attribute ``test_reads``: trial, folder, seeds), and the count takes,
folder by folder, the larger of what is on disk and what the log holds.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna

from search.store import write_json

RECORD = "test-reads.json"
LOG_ATTR = "test_reads"  # the study's user attribute: {"<trial>": {"<folder>": [seeds read there]}}


class StudyReadLog:
    """The test reads logged in a study: which seeds of which trial each retrain folder read.

    Two ``search.final`` commands writing the same study at once could each drop the other's newest
    entry (a user attribute is written whole); the folders still hold those reads.
    """

    def __init__(self, study: optuna.Study) -> None:
        self.study = study

    def _log(self) -> dict[str, Any]:
        log = self.study.user_attrs.get(LOG_ATTR)
        return dict(log) if isinstance(log, dict) else {}

    def reads(self, trial: int) -> dict[str, int]:
        """The reads of ``trial`` the log holds, by folder name."""
        folders = self._log().get(str(trial))
        if not isinstance(folders, dict):
            return {}
        return {name: len(seeds) for name, seeds in folders.items() if isinstance(seeds, list)}

    def record(self, trial: int, folder: str, seed: int) -> None:
        """Log that ``folder`` read ``trial``'s test accuracy for ``seed`` (again: no change)."""
        log = self._log()
        folders = dict(log.get(str(trial)) or {})
        seeds = set(folders.get(folder) or [])
        if seed in seeds:
            return
        folders[folder] = sorted(seeds | {seed})
        log[str(trial)] = folders
        self.study.set_user_attr(LOG_ATTR, log)


def reads_in(folder: Path) -> int:
    """The test reads a retrain folder holds: one per recorded seed."""
    return sum(1 for _ in (folder / "runs").glob("seed-*.json"))


def count_before(folder: Path, trial: int, logged: Mapping[str, int] | None = None) -> dict[str, object]:
    """The test reads of ``trial`` in the other retrain folders beside ``folder``, by folder; with
    ``logged`` (:meth:`StudyReadLog.reads`) the larger of each folder's files and log entry, and the
    reads the log holds for ``folder`` itself."""
    others = {
        other.name: reads_in(other)
        for other in sorted(folder.parent.glob(f"trial-{trial}-*"))
        if other.is_dir() and other.name != folder.name
    }
    # The log may name this very folder: reads made by an earlier copy of it that was lost (counting
    # happens only before this folder's first read), so the same networks are being read again.
    for name, n in (logged or {}).items():
        others[name] = max(others.get(name, 0), n)
    others = dict(sorted(others.items()))
    return {
        "before": sum(others.values()),
        "folders": {name: n for name, n in others.items() if n},
        "counted": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def prior_test_reads(folder: Path, trial: int, logged: Mapping[str, int] | None = None) -> int | None:
    """The count kept for ``folder``; counted (and kept) now when the folder has none yet.

    None for a folder whose seeds were read before counts were kept: what they had seen is unknown.
    """
    path = folder / RECORD
    try:
        kept = json.loads(path.read_text())
        if isinstance(kept, dict) and isinstance(kept.get("before"), int):
            return int(kept["before"])
    except (OSError, ValueError):
        pass
    if reads_in(folder):
        return None
    counted = count_before(folder, trial, logged)
    write_json(path, counted)
    return int(counted["before"])  # type: ignore[call-overload]
