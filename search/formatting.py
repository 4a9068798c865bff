"""Plain-text output shared by commands and library: tables, percentages, plurals, durations, progress."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm import tqdm


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain aligned text table."""
    text_rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text_rows)) if text_rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in text_rows]
    return "\n".join(lines)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def without_tta(accuracy: float | None) -> str:
    """`` (x% without test-time augmentation)`` when a run used it, else nothing."""
    return "" if accuracy is None else f" ({percent(accuracy)} without test-time augmentation)"


def parameter_value(value: object) -> str:
    """A parameter as a person reads it: a float to four significant digits (``0.0005373``), the rest as is."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def plural(n: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def format_duration(seconds: float) -> str:
    """``4m05s``, ``1h07m``."""
    minutes, s = divmod(int(round(seconds)), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m" if hours else f"{m}m{s:02d}s"


def distinct_decimals(values: Sequence[float], least: int = 1, most: int = 4) -> int:
    """The fewest decimals (from ``least`` to ``most``) at which the distinct ``values`` print distinctly:
    energies of 25.05, 25.08 and 25.10 uJ need 2, where 1 would print all three as 25.1."""
    distinct = set(values)
    for decimals in range(least, most + 1):
        if len({f"{v:.{decimals}f}" for v in distinct}) == len(distinct):
            return decimals
    return most


def epochs_time_left_s(
    elapsed_s: float, epoch: int, epochs: int, runs_after: int, per_run_s: float | None = None
) -> float:
    """Seconds left: the rest of this run at its pace so far, then ``runs_after`` runs of ``per_run_s``
    each (default: as long as this run will take)."""
    per_epoch = elapsed_s / max(1, epoch)
    per_run = per_epoch * epochs if per_run_s is None else per_run_s
    return per_epoch * (epochs - epoch) + per_run * max(0, runs_after)


def show_epoch(bar: tqdm, where: str, left_s: float | None, *, log: bool) -> None:
    """Where a long run is, after each epoch: in the bar's postfix on a terminal; in a log (no bar
    drawn: nohup, a scheduler, a pipe), a line of its own with the time left, so that a run of minutes
    is never silent (``search.run`` and ``search.final`` alike)."""
    if not log:
        bar.set_postfix_str(where)
        return
    left = "" if left_s is None else f"; about {format_duration(left_s)} left"
    print(f"  {where}{left}", flush=True)
