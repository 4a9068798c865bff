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
from ._progress import RetrainProgress
from ._result import RetrainBudget, RetrainResult, RetrainRun
from ._session import Retrained, RetrainRequest, budget_text, record_comparison, record_retrain, retrain_all
from ._tables import report_lines, results_table

__all__ = [
    "Candidate",
    "ComparisonRow",
    "RetrainBudget",
    "RetrainProgress",
    "RetrainRequest",
    "RetrainResult",
    "RetrainRun",
    "Retrained",
    "budget_for",
    "budget_text",
    "compare",
    "comparison_name",
    "record_comparison",
    "record_retrain",
    "report_lines",
    "results_table",
    "retrain_all",
    "retrain_candidate",
    "select_candidates",
]
