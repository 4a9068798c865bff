"""What the commands' command lines share: the parser, the storage, study and runtime flags,
and flags generated from the training configs.  Only commands import this package.

The names below are this package's public surface; its ``_modules`` are private.  They load on
first use (lazy_loader reads them from ``__init__.pyi``), so a command's ``--help`` loads no torch.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
