"""The optimiser and learning-rate schedule of a TrainConfig, built from torch's own classes."""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import lr_scheduler

from search.training._config import TrainConfig


def build_optimizer(config: TrainConfig, params: Any) -> torch.optim.Optimizer:
    lr, wd = config.lr, config.weight_decay
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if config.optimizer == "nadam":
        return torch.optim.NAdam(params, lr=lr, weight_decay=wd)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    if config.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)
    raise ValueError(f"unknown optimizer {config.optimizer!r}")


def build_scheduler(
    config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> lr_scheduler.LRScheduler | lr_scheduler.ReduceLROnPlateau | None:
    """The schedule of ``config``; the engine steps it once per epoch, except one-cycle (per batch)."""
    s = config.schedule
    if s == "none":
        return None
    if s == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=config.min_lr)
    if s == "warm_restarts":
        return lr_scheduler.CosineAnnealingWarmRestarts(
            optimizer, T_0=config.restart_period, T_mult=config.restart_mult, eta_min=config.min_lr
        )
    if s == "step":
        return lr_scheduler.StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)
    if s == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=config.gamma)
    if s == "onecycle":
        return lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=config.lr,
            epochs=config.epochs,
            steps_per_epoch=steps_per_epoch,
            cycle_momentum=False,  # keep the configured momentum (and work with AdaGrad, which has none)
        )
    if s == "plateau":
        return lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="min",
            factor=config.plateau_factor,
            patience=config.plateau_patience,
            min_lr=config.min_lr,
        )
    raise ValueError(f"unknown schedule {s!r}")
