"""snn-search: hyperparameter search for spiking networks on Fashion-MNIST.

Commands (``python -m search.<name>``): ``run`` (the search), ``final`` (retrain and
test once; comparisons), ``train`` (one recipe), ``bench`` (speed), ``pruners`` (replay
curves through each pruner), ``dashboard`` (optuna-dashboard), ``report`` (one HTML
page).  Every other module is library code; README.md's layout table says what each holds.
"""

__version__ = "0.1.0"
