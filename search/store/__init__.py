"""Where things are kept: Optuna storages, study names and results folders, the artifact store,
atomic file writes, and the typed record of a trial's user attributes.

The names below are this package's public surface; its ``_modules`` are private.  They load on
first use (lazy_loader reads them from ``__init__.pyi``), so a command's ``--help`` loads no torch.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
