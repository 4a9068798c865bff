"""Serving optuna-dashboard (``python -m search.dashboard``): the app on a storage and its artifact
store, a server bound with errors a user can act on, and the address to open."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import WSGIApplication

import optuna
import optuna_dashboard

from search.errors import UserError
from search.store import open_artifact_store


def dashboard_app(storage: optuna.storages.BaseStorage, artifacts: Path) -> WSGIApplication:
    """optuna-dashboard's WSGI app on ``storage``, offering the files of the artifact store in ``artifacts``."""
    logging.getLogger("optuna_dashboard").setLevel(logging.ERROR)
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
