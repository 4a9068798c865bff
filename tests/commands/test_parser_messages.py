"""The shared parser's messages: an unknown flag gets the closest real one, and a parameter prints readably."""

from __future__ import annotations

import argparse

import optuna
import pytest

from search.cli import make_parser
from search.formatting import parameter_value
from search.tuning import summary


def _parser() -> argparse.ArgumentParser:
    parser = make_parser("search.example", None)
    parser.add_argument("--trials", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)  # hidden: never suggested
    return parser


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        _parser().parse_args(argv)
    assert caught.value.code == 2
    return capsys.readouterr().err.strip()


def test_an_unknown_flag_close_to_a_real_one_is_suggested(capsys: pytest.CaptureFixture[str]) -> None:
    assert _error(["--trial", "6"], capsys) == (
        "python -m search.example: error: unrecognized arguments: --trial 6; --trial: did you mean --trials? "
        "(see --help)"
    )


def test_each_unknown_flag_gets_its_own_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    message = _error(["--trial=6", "--worker", "2", "--bogus"], capsys)
    assert "--trial: did you mean --trials?; --worker: did you mean --workers?" in message
    assert "--bogus:" not in message and "--worker-index" not in message


def test_a_flag_like_none_gets_no_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert _error(["--colour", "red"], capsys).endswith("unrecognized arguments: --colour red (see --help)")


def test_other_errors_are_left_as_argparse_words_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert _error(["--trials", "many"], capsys).endswith("invalid int value: 'many' (see --help)")


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.0005373224430626325, "0.0005373"), (0.9, "0.9"), (123.456789, "123.5"), (64, "64"), ("sgd", "sgd")],
)
def test_a_parameter_prints_to_four_significant_digits(value: object, shown: str) -> None:
    assert parameter_value(value) == shown


def test_the_run_summary_prints_parameters_readably() -> None:
    study = optuna.create_study(direction="maximize")
    study.add_trial(
        optuna.trial.create_trial(
            value=0.9,
            params={"lr": 0.0005373224430626325, "strategy": "sgd"},
            distributions={
                "lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
                "strategy": optuna.distributions.CategoricalDistribution(["sgd", "adam"]),
            },
        )
    )
    text = summary(study, "sqlite:///studies/optuna.db", "python -m search.final", warnings=[])
    assert "  lr = 0.0005373\n" in text and "  strategy = sgd\n" in text
    assert "0.000537322" not in text
