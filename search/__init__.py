"""snn-search: hyperparameter search for spiking networks on Fashion-MNIST.

Library modules: ``config`` (TrainConfig), ``data`` (loading and splits),
``strategies`` (named recipes), ``engine`` (the training loop), ``space``
(the Optuna search space), ``study`` (storage and objective).  Commands:
``python -m search.train``, ``search.bench``, ``search.run``, ``search.final``.
"""

__version__ = "0.1.0"
