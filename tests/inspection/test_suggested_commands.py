"""The commands the summary and the report suggest work when pasted into a shell, whatever the study's name."""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path

import optuna
import pytest

from search.final import parse_args
from search.inspection import build_report
from search.store import DEFAULT_STORAGE
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
    page, _ = build_report(study, url, tmp_path / "s")
    suggested = {html.unescape(c).strip() for c in re.findall(r"python -m search\.final.*?(?=  \(then|<)", page)}
    assert suggested == {
        f"python -m search.final --study 'a$(id>pwn)' --storage {url}",
        f"python -m search.final --study 'a$(id>pwn)' --storage {url} --top 3 --thesis --seeds 3",
    }
