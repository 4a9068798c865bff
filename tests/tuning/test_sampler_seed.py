"""--seed across processes: a resumed or parallel seeded study draws new configurations, not its first ones again."""

from __future__ import annotations

import optuna
import pytest

from search.tuning import StudyRequest
from search.tuning._settings import StudySettings
from search.tuning._study import attach, sampler_seed, trials_started


def settings(sampler: str, seed: int | None = 0) -> StudySettings:
    return StudyRequest(sampler=sampler, seed=seed).new_settings()


def new_study(storage: optuna.storages.BaseStorage) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    optuna.create_study(study_name="s", storage=storage, direction="maximize")


def draw(study: optuna.Study) -> tuple[float, str]:
    """One trial's draw of a float and a categorical, told complete (a finished trial of the study)."""
    trial = study.ask()
    drawn = (trial.suggest_float("lr", 1e-4, 1e-1, log=True), trial.suggest_categorical("s", ["a", "b", "c", "d"]))
    study.tell(trial, 0.5)
    return drawn


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_a_resumed_seeded_study_does_not_draw_its_first_configurations_again(sampler: str) -> None:
    storage = optuna.storages.InMemoryStorage()
    new_study(storage)
    first_sitting = attach(storage, "s", settings(sampler))
    first = [draw(first_sitting) for _ in range(3)]
    resumed = attach(storage, "s", settings(sampler))  # a second sitting: `search.run` run again
    again = [draw(resumed) for _ in range(3)]
    assert not set(again) & set(first)


def test_the_first_process_of_a_new_study_keeps_the_seed() -> None:
    # One process with --seed reproduces its search: two new studies draw alike.
    draws = []
    for _ in range(2):
        storage = optuna.storages.InMemoryStorage()
        new_study(storage)
        study = attach(storage, "s", settings("random", seed=7))
        draws.append([draw(study) for _ in range(3)])
    assert draws[0] == draws[1]
    assert sampler_seed(settings("random", seed=7), started=0, worker=None) == 7
    assert sampler_seed(settings("random", seed=7), started=0, worker=0) == 7


def test_workers_started_together_draw_different_configurations() -> None:
    storage = optuna.storages.InMemoryStorage()
    new_study(storage)
    workers = [attach(storage, "s", settings("random"), worker=i) for i in range(4)]  # all before any trial
    assert len({draw(study) for study in workers}) == 4


def test_a_resume_with_the_same_history_draws_the_same_seed() -> None:
    # Derived, not random: the same study resumed at the same point by the same worker draws alike.
    chosen = settings("random", seed=3)
    assert sampler_seed(chosen, started=5, worker=None) == sampler_seed(chosen, started=5, worker=None)
    assert sampler_seed(chosen, started=5, worker=None) != sampler_seed(chosen, started=6, worker=None)
    assert sampler_seed(chosen, started=5, worker=1) != sampler_seed(chosen, started=5, worker=2)


def test_no_seed_stays_no_seed_and_qmc_keeps_its_scrambling() -> None:
    assert sampler_seed(settings("random", seed=None), started=4, worker=1) is None
    # QMC numbers its points by the study's trials; every process must scramble alike.
    assert sampler_seed(settings("qmc", seed=2), started=4, worker=1) == 2


def test_queued_trials_do_not_count_as_begun() -> None:
    # A new study with the thesis's recipes queued still starts from the study's own seed.
    storage = optuna.storages.InMemoryStorage()
    new_study(storage)
    study = optuna.load_study(study_name="s", storage=storage)
    study.enqueue_trial({"lr": 1e-3, "s": "a"})  # the thesis's recipes are queued like this
    assert trials_started(storage, "s") == 0
    draw(study)  # the queued trial, begun and finished
    assert trials_started(storage, "s") == 1
