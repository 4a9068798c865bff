"""scripts/load_test.py in small: the real claim loop in 4 worker processes on PostgreSQL, 80 trials, two of them
killed with SIGKILL and (as root, with Debian's cluster) the database restarted, ends with exactly the
target, no duplicate, nothing lost or left RUNNING.  docs/distributed.md holds the runs at 32 and 64."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from support import REPO_ROOT, command_env


@pytest.mark.slow
def test_the_load_test_holds_the_target_through_kills_and_a_restart(postgres_url):
    POSTGRES = postgres_url  # noqa: N806 (the URL, as in the other PostgreSQL tests)
    restart = os.geteuid() == 0 and shutil.which("pg_ctlcluster") is not None and "127.0.0.1:5432" in POSTGRES
    # Long enough (about 30 s) that the kills find workers past their start-up, mid-trial.
    args = ["--workers", "4", "--trials", "80", "--kills", "2", "--epoch-s", "0.2", *(["--restart-db"] * restart)]
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "load_test.py"), *args],
        env=command_env(LOAD_TEST_STORAGE=POSTGRES),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = dict(re.findall(r"^\s*([a-z0-9/ ,()-]+): (\S+)$", result.stdout, re.MULTILINE))
    assert figures["finished"] == "80" and figures["duplicates"] == "0"
    assert figures["lost"] == "0" and figures["running"] == "0"
    assert result.stdout.count("kill -9 worker") == 2
    assert ("PostgreSQL restarted" in result.stdout) == restart
    assert "optuna:optuna@" not in result.stdout + result.stderr  # the password is masked
