"""Public surface of ``search.inspection``, loaded lazily (see ``__init__.py``)."""

from ._dashboard import dashboard_app, is_loopback, serve, url_for
from ._publish import publish_comparison, publish_retrain
from ._report_page import build_report

__all__ = ["dashboard_app", "is_loopback", "serve", "url_for", "build_report", "publish_comparison", "publish_retrain"]
