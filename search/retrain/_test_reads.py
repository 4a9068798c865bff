"""How often a configuration's test accuracy was read before a retrain: test-set discipline made visible.

Every seed of a retrain reads the test set once, and leaves one run file (``runs/seed-K.json``)
in its folder.  When a retrain folder is first used, the run files of the same trial in the
study's other folders (another budget, test-time augmentation) are counted and the count is
kept in ``test-reads.json``: a figure chosen after its configuration's test accuracy
had been read is then visible as such, in ``result.json`` and in the comparison table.  A resume,
or a later run adding seeds to the same folder, keeps the first count; later folders count this
one's reads.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from search.store import write_json

RECORD = "test-reads.json"


def reads_in(folder: Path) -> int:
    """The test reads a retrain folder holds: one per recorded seed."""
    return sum(1 for _ in (folder / "runs").glob("seed-*.json"))


def count_before(folder: Path, trial: int) -> dict[str, object]:
    """The test reads of ``trial`` in the other retrain folders beside ``folder``, by folder."""
    others = {
        other.name: reads_in(other)
        for other in sorted(folder.parent.glob(f"trial-{trial}-*"))
        if other.is_dir() and other.name != folder.name
    }
    return {
        "before": sum(others.values()),
        "folders": {name: n for name, n in others.items() if n},
        "counted": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def prior_test_reads(folder: Path, trial: int) -> int | None:
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
    counted = count_before(folder, trial)
    write_json(path, counted)
    return int(counted["before"])  # type: ignore[call-overload]
