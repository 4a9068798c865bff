"""python -m search.dashboard: optuna-dashboard on the project's storage and artifact store.

Serves every study of the storage (trials, parameters, learning curves, importance,
user attributes, notes) and the files that search.final attached.  It listens on
127.0.0.1 only, unless --host says otherwise: from another machine, forward the
port over SSH (ssh -L 8080:127.0.0.1:8080 HOST) and open http://127.0.0.1:8080/.

    python -m search.dashboard
    python -m search.dashboard --storage postgresql+psycopg://user:PASSWORD@db/optuna --port 8081

The same as `optuna-dashboard sqlite:///studies/optuna.db --artifact-dir studies/optuna/artifacts`,
without creating a storage that does not exist.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from search.cli import add_storage_flags, make_parser, quiet_optuna
from search.errors import UserError, command

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 1 and 65535, got {value}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = make_parser("search.dashboard", __doc__)
    add_storage_flags(parser, study=False, results=True)
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this machine only)")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--log-requests", action="store_true", help="print one line per HTTP request")
    return parser.parse_args(argv)


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


def serve(app: object, host: str, port: int, log_requests: bool) -> WSGIServer:
    """A bound server; bind errors become one clear line."""
    try:
        handler = WSGIRequestHandler if log_requests else QuietHandler
        return make_server(host, port, app, handler_class=handler)  # type: ignore[arg-type]
    except OSError as error:
        reason = error.strerror or str(error)
        raise UserError(f"cannot listen on {host}:{port}: {reason}; pick another --port or --host") from None


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    import optuna
    import optuna_dashboard

    from search.artifacts import open_artifact_store
    from search.paths import artifacts_dir, results_root
    from search.storage import mask_url, open_storage, study_names

    quiet_optuna(optuna.logging.ERROR)  # no "less than 2 trials" warnings from the dashboard's own plots
    logging.getLogger("optuna_dashboard").setLevel(logging.ERROR)
    storage = open_storage(args.storage, create=False)
    names = study_names(storage)
    artifacts = artifacts_dir(results_root(args.storage, args.results_dir))
    store = open_artifact_store(artifacts)
    app = optuna_dashboard.wsgi(storage, artifact_store=store)
    server = serve(app, args.host, args.port, args.log_requests)
    print(f"optuna-dashboard for {mask_url(args.storage)} ({len(names)} stud{'y' if len(names) == 1 else 'ies'}: "
          f"{', '.join(names) or 'none yet'}), artifacts in {artifacts}/", flush=True)
    if not is_loopback(args.host):
        print(f"warning: listening on {args.host}: anyone who reaches this machine on port {args.port} "
              "can read and change these studies", file=sys.stderr, flush=True)
    print(f"open {url_for(args.host, args.port)}  (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
