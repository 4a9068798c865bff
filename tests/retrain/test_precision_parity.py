"""scripts/precision_parity.py: bfloat16 retrains against float32 ones of the same configurations, by seed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from support import REPO_ROOT, command_env

RECORDED = REPO_ROOT / "docs" / "data" / "default-rung7" / "final"


def _bf16_copy(source: Path, target: Path, shifts: list[float]) -> Path:
    """A bfloat16 retrain folder whose seeds score the float32 record's plus ``shifts`` (fractions)."""
    data = json.loads((source / "result.json").read_text())
    data["budget"]["precision"] = "bf16"
    for run, shift in zip(data["runs"], shifts, strict=True):
        run["test_accuracy"] += shift
    target.mkdir(parents=True)
    (target / "result.json").write_text(json.dumps(data))
    return target


def _parity(tmp_path: Path, *pairs: tuple[Path, Path]) -> subprocess.CompletedProcess[str]:
    args = [arg for pair in pairs for arg in ("--pair", str(pair[0]), str(pair[1]))]
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "precision_parity.py"), *args],
        cwd=tmp_path,
        env=command_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_parity_and_its_absence_by_the_rule_fixed_before_reading(tmp_path: Path) -> None:
    a, b = RECORDED / "trial-25-30ep-60000img", RECORDED / "trial-3-30ep-60000img"
    close = [
        _bf16_copy(a, tmp_path / "a-close", [0.0004, -0.0003, 0.0001]),
        _bf16_copy(b, tmp_path / "b-close", [-0.0002, 0.0005, -0.0004]),
    ]
    same = _parity(tmp_path, (a, close[0]), (b, close[1]))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "trial 25: bfloat16 - float32 per seed (points): +0.04 -0.03 +0.01" in same.stdout
    assert "pooled over 6 pairs: +0.00 points" in same.stdout and "verdict: parity" in same.stdout
    worse = [
        _bf16_copy(a, tmp_path / "a-worse", [-0.004, -0.005, -0.003]),
        _bf16_copy(b, tmp_path / "b-worse", [-0.004, -0.006, -0.002]),
    ]
    lost = _parity(tmp_path, (a, worse[0]), (b, worse[1]))
    assert lost.returncode == 1 and "verdict: no parity" in lost.stdout


def test_folders_that_do_not_pair_are_refused(tmp_path: Path) -> None:
    a, b = RECORDED / "trial-25-30ep-60000img", RECORDED / "trial-3-30ep-60000img"
    other = _bf16_copy(b, tmp_path / "other", [0.0, 0.0, 0.0])
    refused = _parity(tmp_path, (a, other))
    assert refused.returncode == 2 and "another study, trial, epochs or images" in refused.stderr
    swapped = _parity(tmp_path, (other, a))
    assert swapped.returncode == 2 and "expected a float32 folder, then a bfloat16 one" in swapped.stderr
    shutil.rmtree(other)
    assert _parity(tmp_path, (a, other)).returncode == 2
