"""snn-search: hyperparameter search for spiking networks on Fashion-MNIST.

Commands (``python -m search.<name>``): ``run`` (the search), ``final`` (retrain and
test once; comparisons), ``train`` (one recipe), ``bench`` (speed), ``pruners`` (replay
curves through each pruner), ``fidelity`` (does an early epoch rank as the last does),
``dashboard`` (optuna-dashboard), ``report`` (one HTML page).  Every other module is library
code; docs/architecture.md says what each holds.
"""

__version__ = "0.1.0"
