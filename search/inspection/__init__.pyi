"""Public surface of ``search.inspection``, loaded lazily (see ``__init__.py``)."""

from ._dashboard import IMPORTANCE_LINE, dashboard_app, is_loopback, serve, url_for
from ._fidelity import Fidelity, fidelity, fidelity_figure, fidelity_page, fidelity_section
from ._publish import publish_comparison, publish_retrain, publish_search
from ._report_page import build_report

__all__ = [
    "Fidelity",
    "fidelity",
    "fidelity_figure",
    "fidelity_page",
    "fidelity_section",
    "IMPORTANCE_LINE",
    "dashboard_app",
    "is_loopback",
    "serve",
    "url_for",
    "build_report",
    "publish_comparison",
    "publish_retrain",
    "publish_search",
]
