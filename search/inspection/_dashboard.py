"""Serving optuna-dashboard (``python -m search.dashboard``): the app on a storage and its artifact
store, a server bound with errors a user can act on, and the address to open."""

from __future__ import annotations

import ipaddress
import logging
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any
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
    return with_style(optuna_dashboard.wsgi(storage, artifact_store=open_artifact_store(artifacts)))


# optuna-dashboard 0.21 prints each user attribute on one line that never wraps (white-space: nowrap), so a
# trial's config and energy run off the page's right edge; the pages it serves get this rule in their head.
WRAP_STYLE = b"<style>p.MuiTypography-body1 { white-space: normal; overflow-wrap: anywhere; }</style>"


def with_style(app: WSGIApplication) -> WSGIApplication:
    """``app``, with :data:`WRAP_STYLE` added to every HTML page it answers (its API and files untouched)."""

    def styled(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda data: None  # optuna-dashboard (bottle) returns its body; it never writes

        body = app(environ, capture)
        headers = captured["headers"]
        if not any(k.lower() == "content-type" and v.startswith("text/html") for k, v in headers):
            start_response(captured["status"], headers, captured["exc_info"])
            return body
        page = b"".join(body).replace(b"</head>", WRAP_STYLE + b"</head>", 1)
        headers = [(k, str(len(page)) if k.lower() == "content-length" else v) for k, v in headers]
        start_response(captured["status"], headers, captured["exc_info"])
        return [page]

    return styled


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
