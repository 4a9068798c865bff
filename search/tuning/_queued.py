"""Whether a study's queue leaves the sampler anything to search before ``--trials`` is reached.

A new study queues the thesis's seven recipes first (``--no-thesis`` queues none, ``--strategies``
only those it names), and ``--start-from`` or an interrupted trial queue more.  Queued trials
run before the sampler draws one, so a target that the finished, running and queued trials
already reach runs no searched trial at all: ``search.run`` says so in one line at its start.
"""

from __future__ import annotations

import optuna

from search.formatting import plural
from search.store import THESIS_PRESET
from search.tuning._study import FINISHED


def no_search_notice(study: optuna.Study, target: int, *, created: bool) -> str | None:
    """One line when the trials already finished, running or queued fill ``target``; None when the sampler gets a turn.

    ``created``: the study was made by this run, so ``--no-thesis`` (which only a new study
    takes) is worth suggesting for the next one.
    """
    trials = study.get_trials(deepcopy=False)
    waiting = [t for t in trials if t.state == optuna.trial.TrialState.WAITING]
    taken = sum(t.state in FINISHED or t.state == optuna.trial.TrialState.RUNNING for t in trials)
    if not waiting or taken + len(waiting) < target:
        return None
    thesis = sum(THESIS_PRESET in t.user_attrs for t in waiting)
    queued = _describe_queue(thesis, len(waiting) - thesis)
    if taken == 0:
        by = f"the {queued} queued first"
    else:
        by = f"{plural(taken, 'trial')} finished or running and {queued} queued"
    advice = f"rerun with --trials {taken + len(waiting) + 1} or more to search after them (the study continues)"
    if created and thesis:
        advice += ", or start a new --study with --no-thesis"
    return f"note: no searched trial will run: --trials {target} is taken up by {by}; {advice}"


def _describe_queue(thesis: int, others: int) -> str:
    """``7 thesis recipes``, ``3 trials``, or ``7 thesis recipes and 3 other trials``."""
    if not others:
        return plural(thesis, "thesis recipe")
    if not thesis:
        return plural(others, "trial")
    return f"{plural(thesis, 'thesis recipe')} and {plural(others, 'other trial')}"
