"""A study whose queue fills --trials says at start that no searched trial will run, and what to do."""

from __future__ import annotations

import optuna
import torch

from search.store import THESIS_PRESET
from search.training import THESIS_PRESETS, ImageSet, TrainVal
from search.tuning._queued import no_search_notice
from search.tuning._settings import SpaceSettings, StudySettings
from search.tuning._study import create_study


def _data() -> TrainVal:
    images = ImageSet(torch.zeros(2, 28, 28, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64))
    return TrainVal(images, images, split_seed=0, source="test")


def _new_study(*, thesis: bool = True, strategies: tuple[str, ...] | None = None) -> optuna.Study:
    """A study as search.run creates it: with the thesis recipes its space holds queued first."""
    space = SpaceSettings(strategies=strategies) if strategies else SpaceSettings()
    settings = StudySettings(space=space, thesis=thesis)
    storage = optuna.storages.InMemoryStorage()
    create_study(storage, "s", settings, _data())
    return optuna.load_study(study_name="s", storage=storage)


def _finish_queued(study: optuna.Study, n: int) -> None:
    """Run the first ``n`` queued trials, as the claim loop would (queued trials come out first)."""
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, 0.5)


def test_a_new_study_whose_thesis_recipes_fill_the_target_says_so() -> None:
    study = _new_study()
    for target in (1, 6, len(THESIS_PRESETS)):
        notice = no_search_notice(study, target, created=True)
        assert notice is not None
        assert notice.startswith("note: no searched trial will run:")
        assert f"--trials {target} is taken up by the {len(THESIS_PRESETS)} thesis recipes queued first" in notice
        assert f"rerun with --trials {len(THESIS_PRESETS) + 1} or more" in notice
        assert "--no-thesis" in notice
        assert "\n" not in notice


def test_one_trial_past_the_thesis_recipes_searches_and_says_nothing() -> None:
    study = _new_study()
    assert no_search_notice(study, len(THESIS_PRESETS) + 1, created=True) is None


def test_no_thesis_or_fewer_strategies_queue_fewer() -> None:
    assert no_search_notice(_new_study(thesis=False), 1, created=True) is None
    restricted = _new_study(strategies=("baseline", "combined"))  # one thesis recipe: baseline
    assert no_search_notice(restricted, 2, created=True) is None
    notice = no_search_notice(restricted, 1, created=True)
    assert notice is not None and "the 1 thesis recipe queued first" in notice and "--trials 2 or more" in notice


def test_a_resumed_study_counts_what_finished_and_does_not_suggest_no_thesis() -> None:
    study = _new_study()
    _finish_queued(study, 3)
    notice = no_search_notice(study, 7, created=False)
    assert notice is not None
    assert "--trials 7 is taken up by 3 trials finished or running and 4 thesis recipes queued" in notice
    assert "--trials 8 or more" in notice and "--no-thesis" not in notice
    assert no_search_notice(study, 8, created=False) is None


def test_once_the_queue_is_empty_the_sampler_has_its_turn() -> None:
    study = _new_study()
    _finish_queued(study, len(THESIS_PRESETS))
    assert no_search_notice(study, len(THESIS_PRESETS) + 1, created=False) is None


def test_other_queued_trials_count_too() -> None:
    """--start-from's configurations and a queued retry fill slots as the thesis recipes do."""
    study = _new_study(strategies=("baseline", "combined"))
    study.enqueue_trial({"strategy": "combined"})
    study.enqueue_trial({"strategy": "combined", "lr": 0.01})
    notice = no_search_notice(study, 3, created=True)
    assert notice is not None and "1 thesis recipe and 2 other trials queued first" in notice
    plain = _new_study(thesis=False)
    plain.enqueue_trial({"strategy": "combined"})
    notice = no_search_notice(plain, 1, created=True)
    assert notice is not None and "the 1 trial queued first" in notice and "--no-thesis" not in notice
    assert THESIS_PRESET not in plain.trials[0].user_attrs
