"""How long a worker retries a storage that does not answer, free of Optuna and SQLAlchemy.

``search.run --help`` shows the default without loading them; ``_outage.py`` does the retrying.
"""

from __future__ import annotations

STORAGE_PATIENCE_S = 120.0
