"""The search: study settings, the search space, a study's life, the objective, the claim
loop its workers run, local worker processes, progress, summaries and pruner replay.

The only package that calls Optuna's ``suggest_*`` (in its space) and ``trial.report``.

The names below are this package's public surface; its ``_modules`` are private.  They load on
first use (lazy_loader reads them from ``__init__.pyi``), so a command's ``--help`` loads no torch.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
