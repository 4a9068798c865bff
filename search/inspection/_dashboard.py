"""Serving optuna-dashboard (``python -m search.dashboard``): the app on a storage and its artifact
store, a server bound with errors a user can act on, and the address to open."""

from __future__ import annotations

import ipaddress
import logging
import warnings
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import WSGIApplication

import optuna
import optuna_dashboard

from search.errors import UserError
from search.store import open_artifact_store

# What optuna-dashboard's Hyperparameter Importance chart computes (optuna_dashboard._importance), said
# once when it starts instead of PED-ANOVA's warnings about each parameter with few trials per value.
IMPORTANCE_LINE = (
    "parameter importance: PED-ANOVA on the most accurate trials, as the report computes it; with few "
    "trials per parameter value it is a rough guide (Optuna's warnings about each such parameter are hidden)"
)
FEW_TRIALS_WARNINGS = (
    r"Some regimes for parameter .* have less than \d+ trials",
    r"The number of trials is too small to compute importances",
    r"Target and region quantiles select the same set of trials",
)


def dashboard_app(storage: optuna.storages.BaseStorage, artifacts: Path) -> WSGIApplication:
    """optuna-dashboard's WSGI app on ``storage``, offering the files of the artifact store in ``artifacts``.

    The importance chart's warnings that a parameter has few trials per value are hidden: a search
    of tens of trials draws one per parameter on every refresh, and the study page says it instead.
    """
    logging.getLogger("optuna_dashboard").setLevel(logging.ERROR)
    for message in FEW_TRIALS_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=UserWarning)
    return optuna_dashboard.wsgi(storage, artifact_store=open_artifact_store(artifacts))


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/dashboard/"


def serve(app: WSGIApplication, host: str, port: int, log_requests: bool) -> WSGIServer:
    """A bound server; bind errors become one clear line."""
    try:
        handler = WSGIRequestHandler if log_requests else QuietHandler
        return make_server(host, port, app, handler_class=handler)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UserError(f"cannot listen on {host}:{port}: {reason}; pick another --port or --host") from None
