"""Stored study settings carry a format version; what this version cannot read is refused in one line."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search.errors import UserError
from search.store import ENERGY_ATTR, ENERGY_FIELD, open_storage
from search.tuning import pick_study, study_settings
from search.tuning._settings import (
    ACCURACY_ENERGY,
    SETTINGS_ATTR,
    SETTINGS_FORMAT,
    SpaceSettings,
    StudyRequest,
    StudySettings,
    UnreadableSettings,
)
from search.tuning._summary import pareto_lines
from support import assert_one_line_error, run_module

SETTINGS = StudySettings(space=SpaceSettings(epochs=3), train_size=500)


def test_settings_round_trip_with_their_format() -> None:
    stored = SETTINGS.to_dict()
    assert stored["format"] == SETTINGS_FORMAT
    assert StudySettings.from_dict(stored) == SETTINGS


def test_settings_written_before_the_format_existed_still_read() -> None:
    stored = SETTINGS.to_dict()
    del stored["format"]
    del stored["space"]["fixed"]  # absent in studies made before --fix
    assert StudySettings.from_dict(stored) == SETTINGS


def test_new_studies_store_energy_in_microjoules_and_older_ones_read_as_picojoules() -> None:
    new = StudyRequest(objective=ACCURACY_ENERGY).new_settings()
    assert new.energy_unit == "uJ" and new.energy_name == "compute energy per image (µJ)"
    assert new.energy_objective(25_100_000.0) == pytest.approx(25.1)
    format_2 = {**new.to_dict(), "format": 2}
    del format_2["energy_unit"]  # format 2 had no unit: its energy objective is in picojoules
    old = StudySettings.from_dict(format_2)
    assert old.energy_unit == "pJ" and old.energy_name == "compute energy per image (pJ)"
    assert old.energy_objective(25_100_000.0) == 25_100_000.0
    assert StudyRequest().resolve("old", old).energy_unit == "pJ"  # a resume keeps the stored unit


def test_a_front_reads_in_microjoules_whichever_unit_its_study_stored() -> None:
    """The summary reads a trial's energy from its record, so an old (pJ) study's front prints as a new one's."""
    texts = []
    for unit in ("pJ", "uJ"):
        settings = StudySettings(space=SpaceSettings(epochs=3), objective=ACCURACY_ENERGY, energy_unit=unit)
        study = optuna.create_study(directions=["maximize", "minimize"])
        study.add_trial(
            optuna.trial.create_trial(
                values=[0.9, settings.energy_objective(25_100_000.0)],
                params={"strategy": "baseline"},
                distributions={"strategy": optuna.distributions.CategoricalDistribution(["baseline"])},
                user_attrs={ENERGY_ATTR: {ENERGY_FIELD: 25_100_000.0}},
            )
        )
        texts.append(pareto_lines(study))
    assert texts[0] == texts[1] and "25.10 uJ" in texts[0][1]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"format": SETTINGS_FORMAT + 1}, f"format {SETTINGS_FORMAT + 1}"),
        ({"early_stopping": True}, "early_stopping"),
        ({"space": {**SETTINGS.to_dict()["space"], "prior": "thesis"}}, "space.prior"),
        ({"objective": "accuracy,latency"}, "objective 'accuracy,latency'"),
        ({"pruner": "wilcoxon"}, "pruner 'wilcoxon'"),
        ({"energy_unit": "mJ"}, "energy unit 'mJ'"),
        ({"space": {"epochs": 3}}, "cannot be read"),
    ],
)
def test_what_a_newer_version_wrote_is_named(change: dict[str, object], named: str) -> None:
    with pytest.raises(UnreadableSettings, match="update this checkout|cannot be read") as error:
        StudySettings.from_dict({**SETTINGS.to_dict(), **change})
    assert named in str(error.value)


def _storage_with(tmp_path: Path, studies: dict[str, dict[str, object]]) -> str:
    url = f"sqlite:///{tmp_path}/s.db"
    for name, settings in studies.items():
        study = optuna.create_study(study_name=name, storage=url, direction="maximize")
        study.set_user_attr(SETTINGS_ATTR, settings)
        study.add_trial(optuna.trial.create_trial(value=0.5, params={}, distributions={}))
    return url


def test_a_study_a_newer_version_wrote_gets_one_line(tmp_path: Path) -> None:
    url = _storage_with(tmp_path, {"newer": {**SETTINGS.to_dict(), "early_stopping": True}})
    with pytest.raises(UserError, match="study 'newer' cannot be read: its settings hold early_stopping"):
        study_settings(optuna.load_study(study_name="newer", storage=url))
    result = run_module("search.run", "--storage", url, "--study", "newer", "--show-space", cwd=tmp_path)
    assert result.returncode == 1
    assert "early_stopping" in assert_one_line_error(result.stderr)


def test_study_best_skips_an_unreadable_study_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    url = _storage_with(
        tmp_path, {"newer": {**SETTINGS.to_dict(), "format": SETTINGS_FORMAT + 1}, "readable": SETTINGS.to_dict()}
    )
    study, why = pick_study(open_storage(url, create=False), "best", url)
    assert study.study_name == "readable" and why is not None
    assert "warning: --study best skips study 'newer' cannot be read" in capsys.readouterr().err
