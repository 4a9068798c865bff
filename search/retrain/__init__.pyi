"""Public surface of ``search.retrain``, loaded lazily (see ``__init__.py``)."""

from ._comparison import (
    Candidate,
    ComparisonRow,
    budget_for,
    compare,
    comparison_name,
    retrain_candidate,
    select_candidates,
)
from ._confirmation import Confirmation, check_confirmable, confirm, confirmation_pair, seed_range
from ._progress import RetrainProgress, runs_left_text
from ._result import RetrainBudget, RetrainResult, RetrainRun
from ._reuse import EarlierRetrain, earlier_retrains
from ._session import (
    Retrained,
    RetrainRequest,
    budget_text,
    confirmation_look,
    record_comparison,
    record_confirmation,
    record_retrain,
    retrain_all,
    retrain_confirmation,
    runs_to_train,
)
from ._statistics import paired_difference
from ._tables import confirmation_intro, confirmation_lines, report_lines, results_table
from ._test_reads import StudyReadLog

__all__ = [
    "Candidate",
    "ComparisonRow",
    "Confirmation",
    "EarlierRetrain",
    "RetrainBudget",
    "RetrainProgress",
    "RetrainRequest",
    "RetrainResult",
    "RetrainRun",
    "Retrained",
    "StudyReadLog",
    "budget_for",
    "budget_text",
    "check_confirmable",
    "compare",
    "comparison_name",
    "confirm",
    "confirmation_intro",
    "confirmation_look",
    "confirmation_lines",
    "confirmation_pair",
    "paired_difference",
    "earlier_retrains",
    "record_comparison",
    "record_confirmation",
    "record_retrain",
    "report_lines",
    "results_table",
    "retrain_all",
    "retrain_candidate",
    "retrain_confirmation",
    "runs_left_text",
    "runs_to_train",
    "seed_range",
    "select_candidates",
]
