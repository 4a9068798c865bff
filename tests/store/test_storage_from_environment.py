"""SNN_SEARCH_STORAGE gives every command its storage URL, so a password need not stand on a command line."""

from __future__ import annotations

import shutil
from pathlib import Path

from search.store import STORAGE_URL_ENV
from support import REPO_ROOT, command_env, run_module

PRE_MOVE = REPO_ROOT / "tests" / "fixtures" / "pre-move" / "pre-move.db"


def test_the_storage_comes_from_the_environment_when_no_flag_names_one(tmp_path: Path) -> None:
    shutil.copy(PRE_MOVE, tmp_path / "s.db")
    env = command_env(**{STORAGE_URL_ENV: f"sqlite:///{tmp_path}/s.db"})
    shown = run_module("search.run", "--study", "before-the-move", "--show-space", cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"as stored in sqlite:///{tmp_path}/s.db" in shown.stdout
    assert not (tmp_path / "studies").exists()  # the default storage was not touched
    flag = run_module(
        "search.run", "--storage", f"sqlite:///{tmp_path}/other.db", "--show-space", cwd=tmp_path, env=env
    )
    assert "does not exist yet" in flag.stdout  # a --storage flag still wins
