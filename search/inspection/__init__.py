"""What a researcher looks at: plotly figures of a study and of its retrains, the offline HTML
report, and the files and plots published to optuna-dashboard.

The names below are this package's public surface; its ``_modules`` are private.  They load on
first use (lazy_loader reads them from ``__init__.pyi``), so a command's ``--help`` loads no torch.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
