"""``python -m search.train``: the single-run command, as a user runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from search import train as train_command
from search.training import STRATEGY_NAMES, TrainConfig
from support import assert_one_line_error, run_module

TABLE_HEADER = re.compile(r"^\s*epoch\s+train loss\s+train acc\s+val loss\s+val acc\s+lr\s+img/s")
ROW = re.compile(r"^\s*(\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)%\s+(\d+\.\d+)\s+(\d+\.\d+)%\s+(\S+)\s")


def _config_line(stdout: str) -> TrainConfig:
    line = next(line for line in stdout.splitlines() if line.startswith("config: "))
    return TrainConfig.from_json(line.removeprefix("config: "))


def _table_rows(stdout: str) -> list[re.Match[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if TABLE_HEADER.match(line))
    return [m for line in lines[start + 2 :] if (m := ROW.match(line))]


@pytest.mark.slow
def test_lr_annealing_two_epochs(tmp_path: Path) -> None:
    done = run_module(
        "search.train",
        "--strategy",
        "lr_annealing",
        "--epochs",
        "2",
        "--train-size",
        "1000",
        "--device",
        "cpu",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    config = _config_line(done.stdout)
    assert (config.strategy, config.optimizer, config.schedule, config.epochs) == ("lr_annealing", "adam", "cosine", 2)
    assert "1,000 train / 10,000 validation images" in done.stdout
    rows = _table_rows(done.stdout)
    assert [int(m.group(1)) for m in rows] == [1, 2]
    rates = [float(m.group(6)) for m in rows]
    assert rates[0] == pytest.approx(1e-3) and rates[1] == pytest.approx(5e-4)  # cosine over 2 epochs
    final = re.search(r"final validation accuracy: (\d+\.\d+)% \(best (\d+\.\d+)% at epoch (\d)\)", done.stdout)
    assert final, done.stdout
    assert float(final.group(1)) == float(rows[-1].group(5))
    assert float(final.group(1)) > 30.0  # it learned something on 1,000 images (chance is 10%)


@pytest.mark.slow
def test_thesis_sgd_preset(tmp_path: Path) -> None:
    done = run_module(
        "search.train",
        "--thesis",
        "--epochs",
        "1",
        "--train-size",
        "500",
        "--strategy",
        "sgd",
        "--device",
        "cpu",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    config = _config_line(done.stdout)
    assert (config.optimizer, config.lr, config.momentum, config.batch_size, config.epochs) == ("sgd", 0.1, 0.0, 64, 1)
    assert len(_table_rows(done.stdout)) == 1
    assert "final validation accuracy" in done.stdout


def test_bad_flag_is_a_one_line_error(tmp_path: Path) -> None:
    done = run_module("search.train", "--epochs", "1", "--no-such-flag", cwd=tmp_path)
    assert done.returncode == 2
    line = assert_one_line_error(done.stderr, starts_with="python -m search.train: error:")
    assert "--no-such-flag" in line
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--strategy", "nope"], "invalid choice: 'nope'"),
        (["--epochs", "two"], "--epochs"),
        (["--train-size", "0"], "must be at least 1"),
        (["--optimizer", "lbfgs", "--strategy", "combined"], "invalid choice: 'lbfgs'"),
    ],
)
def test_bad_values_exit_2_at_parse_time(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        train_command.main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0] and expected in lines[0], err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--strategy", "baseline", "--optimizer", "sgd"], "fixes optimizer"),
        (["--thesis", "--strategy", "combined"], "no thesis preset"),
        (["--lr", "-1"], "lr must be > 0"),
    ],
)
def test_bad_combinations_exit_2_with_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SNN_SEARCH_DEBUG", raising=False)
    assert train_command.main([*argv, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], err


def test_every_strategy_is_a_flag_choice(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        train_command.main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for name in STRATEGY_NAMES:
        assert name in out
