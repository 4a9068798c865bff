"""Errors a user can cause, and the wrapper that turns them into one line and an exit code."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from typing import Protocol


class UserError(Exception):
    """Something the user can fix (missing data, unknown study, ...): exit 1."""

    exit_code = 1


class UsageError(UserError):
    """A bad flag or value on the command line: exit 2, like argparse."""

    exit_code = 2


class Command(Protocol):
    """A command's ``main`` as ``python -m`` calls it (no argument: ``sys.argv``) and tests do (a list)."""

    def __call__(self, argv: list[str] | None = None) -> int: ...


def command(main: Callable[[list[str]], int | None]) -> Command:
    """Wrap a command's ``main``: user errors become one line on stderr, Ctrl-C exits 130.

    ``--debug`` on the command line (or SNN_SEARCH_DEBUG=1) re-raises with the traceback.
    """

    @functools.wraps(main)
    def wrapper(argv: list[str] | None = None) -> int:
        args = sys.argv[1:] if argv is None else list(argv)
        debug = "--debug" in args or os.environ.get("SNN_SEARCH_DEBUG") == "1"
        try:
            return int(main(args) or 0)
        except UserError as error:
            if debug:
                traceback.print_exc()
            print(f"error: {error}", file=sys.stderr)
            return error.exit_code
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    return wrapper
