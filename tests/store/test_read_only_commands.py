"""Commands that only read a storage never create Optuna's tables in, or otherwise change, one they did not make."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from support import assert_one_line_error, fork_run

READERS = [
    ("search.final", "--study", "s"),
    ("search.report", "--study", "s"),
    ("search.pruners", "--study", "s"),
    ("search.fidelity", "--study", "s"),
    ("search.dashboard", "--port", "1"),
]


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as connection:  # another program's database, with a table named like Optuna's
        connection.execute("CREATE TABLE studies (id INTEGER PRIMARY KEY, title TEXT)")
        connection.execute("INSERT INTO studies (title) VALUES ('not an Optuna study')")
    connection.close()


@pytest.mark.parametrize("make", [_empty, _foreign], ids=["0-byte file", "another program's database"])
@pytest.mark.parametrize("command", READERS, ids=[c[0] for c in READERS])
def test_a_reader_refuses_a_database_it_did_not_make_and_leaves_it_as_it_was(
    make, command: tuple[str, ...], tmp_path: Path
) -> None:
    path = tmp_path / "foreign.db"
    make(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    module, *args = command
    result = fork_run(module, "--storage", f"sqlite:///{path}", *args, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    line = assert_one_line_error(result.stderr)
    assert "not an Optuna storage" in line and "nothing was changed" in line
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.db"]
