"""How often a running trial says it is alive, and how long silence means its worker died.

Free of Optuna at import, so ``search.run --help`` shows the defaults and a bad pair of
``--heartbeat-interval`` / ``--grace-period`` is refused without loading it; the claim loop
(``_claim_loop.py``) hands :meth:`Heartbeat.storage_options` to Optuna's storage.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from search.errors import UsageError

HEARTBEAT_INTERVAL_S = 30
GRACE_PERIOD_S = 120
MAX_RETRY = 1  # a trial whose worker died runs again once


@dataclass(frozen=True)
class Heartbeat:
    """How often a running trial says it is alive, and how long silence means its worker died."""

    interval: int = HEARTBEAT_INTERVAL_S
    grace: int = GRACE_PERIOD_S

    def __post_init__(self) -> None:
        if self.grace <= self.interval:
            raise UsageError(
                f"--grace-period ({self.grace} s) must be longer than --heartbeat-interval ({self.interval} s)"
            )

    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for ``optuna.storages.RDBStorage``."""
        import optuna  # not at the top: a refused flag loads no Optuna
        from optuna.storages import RetryHeartbeatStaleTrialCallback

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)
        return {
            "heartbeat_interval": self.interval,
            "grace_period": self.grace,
            "heartbeat_stale_trial_callback": retry,
        }
