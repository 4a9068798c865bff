"""Training one network: its config, the thesis's strategies, data, augmentation, optimisers,
the one training loop and step, kernels, compilation, energy and speed measurements.

Knows nothing of Optuna: a trial, a final retrain, a benchmark and a test all call :func:`train`.

The names below are this package's public surface; its ``_modules`` are private.  They load on
first use (lazy_loader reads them from ``__init__.pyi``), so a command's ``--help`` loads no torch.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
