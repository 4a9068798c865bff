"""python -m search.dashboard: optuna-dashboard on the project's storage and artifact store.

Serves every study of the storage (trials, parameters, learning curves, importance,
user attributes, notes) and the files that search.final attached.  It listens on
127.0.0.1 only, unless --host says otherwise: from another machine, forward the
port over SSH (ssh -L 8080:127.0.0.1:8080 HOST) and open http://127.0.0.1:8080/.

    python -m search.dashboard
    SNN_SEARCH_STORAGE=postgresql+psycopg://user@db/optuna python -m search.dashboard --port 8081

On a database server, keep the password off the command line (and out of the shell's history
and the process list): in $SNN_SEARCH_STORAGE, or in ~/.pgpass for PostgreSQL.

The same as `optuna-dashboard sqlite:///studies/optuna.db --artifact-dir studies/optuna/artifacts`,
without creating a storage that does not exist.
"""

from __future__ import annotations

import argparse
import sys

from search import inspection, store
from search.cli import add_storage_flags, make_parser, quiet_optuna
from search.errors import command

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
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}: this machine only)"
    )
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--log-requests", action="store_true", help="print one line per HTTP request")
    return parser.parse_args(argv)


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    quiet_optuna(errors_only=True)  # no "less than 2 trials" warnings from the dashboard's own plots
    storage = store.open_storage(args.storage, create=False)
    names = store.study_names(storage)
    artifacts = store.artifacts_dir(store.results_root(args.storage, args.results_dir))
    app = inspection.dashboard_app(storage, artifacts)
    server = inspection.serve(app, args.host, args.port, args.log_requests)
    print(
        f"optuna-dashboard for {store.mask_url(args.storage)} ({len(names)} stud{'y' if len(names) == 1 else 'ies'}: "
        f"{', '.join(names) or 'none yet'}), artifacts in {artifacts}/",
        flush=True,
    )
    if not inspection.is_loopback(args.host):
        print(
            f"warning: listening on {args.host}: anyone who reaches this machine on port {args.port} "
            "can read and change these studies",
            file=sys.stderr,
            flush=True,
        )
    print(inspection.IMPORTANCE_LINE, flush=True)
    print(f"open {inspection.url_for(args.host, args.port)}  (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
