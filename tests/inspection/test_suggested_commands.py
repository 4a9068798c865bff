"""The commands the summary and the report suggest work when pasted into a shell, whatever the study's name."""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution

from search.final import parse_args, retrain_request
from search.inspection import build_report
from search.store import DEFAULT_STORAGE
from search.training import EnergyCost, TrainConfig
from search.tuning import final_command
from search.tuning._settings import SETTINGS_ATTR, SpaceSettings, StudySettings

NAMES = ["a$(id>pwn)", "-dash", "two words", "quote'd"]


@pytest.mark.parametrize("name", NAMES)
def test_a_suggested_command_gives_search_final_the_name_as_it_is(name: str) -> None:
    words = shlex.split(final_command(name, DEFAULT_STORAGE, "--top", "3"))
    assert words[:3] == ["python", "-m", "search.final"]
    args = parse_args(words[3:])
    assert args.study == name and args.top == 3


def test_the_report_quotes_the_name_and_keeps_the_storage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(study_name="a$(id>pwn)", storage=url, direction="maximize")
    study.set_user_attr(SETTINGS_ATTR, StudySettings(space=SpaceSettings()).to_dict())
    study.add_trials(_kinds()["thesis-and-searched"][1])  # a thesis recipe and two searched trials
    page, _ = build_report(study, url, tmp_path / "s")
    suggested = {html.unescape(c).strip() for c in re.findall(r"python -m search\.final.*?(?=  \(then|<)", page)}
    assert suggested == {
        f"python -m search.final --study 'a$(id>pwn)' --storage {url}",
        f"python -m search.final --study 'a$(id>pwn)' --storage {url} --top 2 --thesis --seeds 3",
    }


# Every kind of study: each command the report suggests selects what it asks for in search.final.


def energy(picojoules: float) -> dict[str, object]:
    """An ``energy`` user attribute of ``picojoules`` of compute energy per image (the rest plausible)."""
    return EnergyCost(
        images=256, time_steps=4, macs_per_image=picojoules / 4.6, acs_per_image=0.0, synops_per_image=0.0,
        mac_energy_pj_per_image=picojoules, ac_energy_pj_per_image=0.0, compute_energy_pj_per_image=picojoules,
        memory_energy_pj_per_image=0.0, total_energy_pj_per_image=picojoules, firing_rates={"hidden_lif": 0.3},
        parameter_count=1, e_mac_pj=4.6, e_ac_pj=0.9, e_memory_pj_per_byte=24.96,
    ).to_dict()  # fmt: skip


def _trial(
    value: float | list[float], lr: float, thesis: str | None = None, constraint: float | None = None
) -> optuna.trial.FrozenTrial:
    attrs = {
        "config": TrainConfig(epochs=1, lr=lr).to_dict(),
        "history": [{"epoch": 1, "val_acc": value if isinstance(value, float) else value[0]}],
        "best_epoch": 1,
        "epochs_run": 1,
        "energy": energy(25.1e6 if isinstance(value, float) else value[1] * 1e6),
        **({"thesis_preset": thesis} if thesis else {}),
    }
    system = {} if constraint is None else {"constraints": [constraint]}
    values = value if isinstance(value, list) else [value]
    return optuna.trial.create_trial(
        params={"lr": lr},
        distributions={"lr": FloatDistribution(1e-5, 1.0, log=True)},
        values=values,
        user_attrs=attrs,
        system_attrs=system,
    )


def _study(url: str, name: str, two_objectives: bool, trials: list[optuna.trial.FrozenTrial]) -> optuna.Study:
    up, down = optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE
    directions = [up, down] if two_objectives else [up]
    study = optuna.create_study(study_name=name, storage=url, directions=directions)
    study.set_user_attr(SETTINGS_ATTR, StudySettings(space=SpaceSettings()).to_dict())
    study.add_trials(trials)
    return study


def _kinds() -> dict[str, tuple[bool, list[optuna.trial.FrozenTrial]]]:
    """name: (two objectives, trials) for every kind of study search.run makes."""
    return {
        "thesis-and-searched": (False, [_trial(0.8, 1e-3, "baseline"), _trial(0.82, 2e-3), _trial(0.83, 3e-3)]),
        "no-thesis": (False, [_trial(0.8, 1e-3), _trial(0.81, 2e-3)]),
        "thesis-only": (False, [_trial(0.8, 1e-3, "baseline"), _trial(0.78, 2e-3, "dropout")]),
        "constrained": (
            False,
            [_trial(0.8, 1e-3, "baseline", -1.0), _trial(0.85, 2e-3, None, 5.0), _trial(0.79, 3e-3, None, -2.0)],
        ),
        "pareto-thesis": (True, [_trial([0.8, 25.1], 1e-3, "baseline"), _trial([0.7, 25.0], 2e-3)]),
        "pareto-no-thesis": (True, [_trial([0.35, 25.10], 1e-3), _trial([0.25, 25.08], 2e-3)]),
        "empty": (False, []),
    }


def _suggested(page: str) -> list[str]:
    text = html.unescape(re.sub(r"<[^>]+>", "\n", page))
    return [c.strip() for c in re.findall(r"python -m search\.final[^\n]*?(?= \(|\.?\n|$)", text)]


@pytest.mark.parametrize("kind", list(_kinds()))
def test_every_suggested_retrain_runs_as_printed_in_every_kind_of_study(tmp_path: Path, kind: str) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    two_objectives, trials = _kinds()[kind]
    study = _study(url, kind, two_objectives, trials)
    page, _ = build_report(study, url, tmp_path / kind)
    commands = _suggested(page)
    assert bool(commands) == bool(trials), commands  # a study with a complete trial always gets one
    for command in commands:
        args = parse_args(shlex.split(command)[3:])
        assert args.study == kind and args.storage == url
        assert retrain_request(args).candidates(study), command  # raises UserError where search.final would fail
    if kind == "pareto-no-thesis":
        assert not any("--thesis" in c for c in commands)
    if kind == "empty":
        assert "nothing to retrain yet: no complete trial" in page and "Nothing to compare yet" in page


def test_a_comparison_alone_is_not_called_no_final_result(tmp_path: Path) -> None:
    """A two-objective study compared with --top 2: the header points at the comparison, not at 'none yet'."""
    url = f"sqlite:///{tmp_path}/s.db"
    study = _study(url, "par", True, [_trial([0.8, 25.1], 1e-3), _trial([0.7, 25.0], 2e-3)])
    study.set_user_attr("final_comparison", {"file": "comparison-x.json", "budget": "500 images, 1 epoch", "rows": 2})
    page, sections = build_report(study, url, tmp_path / "par")
    text = html.unescape(page)
    assert "final result</th><td>no single retrain; the comparison below (comparison-x.json) retrained 2" in text
    assert "none yet" not in text
    assert [s.anchor for s in sections if s.anchor == "final-result"] == []
