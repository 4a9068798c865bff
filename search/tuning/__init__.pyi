"""Public surface of ``search.tuning``, loaded lazily (see ``__init__.py``)."""

from ._claim_loop import identity, run_until_target
from ._fidelity import (
    WEAK_TAU,
    Agreement,
    agreement_table,
    epoch_agreement,
    epoch_ranking_problem,
    fidelity_warnings,
    kendall,
    study_agreement,
)
from ._heartbeat import GRACE_PERIOD_S, HEARTBEAT_INTERVAL_S, Heartbeat
from ._objective import Objective, versions
from ._progress import SearchProgress
from ._pruner_replay import full_curves, replay
from ._search import final_command, run_search, show_study_space
from ._search_run import SearchRun
from ._settings import (
    DEFAULT_PRUNER,
    DEFAULT_SAMPLER,
    FIRST_RUNG_SHARE,
    OBJECTIVE_NAME,
    PRUNERS,
    SAMPLERS,
    SPACES,
    StudyRequest,
    StudySettings,
    default_min_resource,
    parse_objective,
)
from ._start_from import same_space
from ._study import (
    FINISHED,
    epochs_saved,
    finished_trials,
    pick_study,
    study_settings,
)
from ._summary import summary, trial_line
from ._worker_processes import (
    STORAGE_ENV,
    check_worker_count,
    describe_exit,
    plan_workers,
    start_workers,
    wait_for_workers,
)

__all__ = [
    "WEAK_TAU",
    "Agreement",
    "agreement_table",
    "epoch_agreement",
    "epoch_ranking_problem",
    "fidelity_warnings",
    "kendall",
    "study_agreement",
    "SearchRun",
    "final_command",
    "run_search",
    "show_study_space",
    "DEFAULT_PRUNER",
    "DEFAULT_SAMPLER",
    "FIRST_RUNG_SHARE",
    "FINISHED",
    "GRACE_PERIOD_S",
    "HEARTBEAT_INTERVAL_S",
    "Heartbeat",
    "OBJECTIVE_NAME",
    "Objective",
    "PRUNERS",
    "SAMPLERS",
    "SPACES",
    "STORAGE_ENV",
    "SearchProgress",
    "StudyRequest",
    "StudySettings",
    "same_space",
    "check_worker_count",
    "default_min_resource",
    "describe_exit",
    "epochs_saved",
    "finished_trials",
    "full_curves",
    "identity",
    "parse_objective",
    "pick_study",
    "plan_workers",
    "replay",
    "run_until_target",
    "start_workers",
    "study_settings",
    "summary",
    "trial_line",
    "versions",
    "wait_for_workers",
]
