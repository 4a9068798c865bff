"""The search space: the only module that calls Optuna's ``suggest_*``.

Define-by-run: the strategy is drawn first, and only the parameters that strategy
uses are drawn after it (a ``baseline`` trial has no dropout or schedule
parameters).  ``python -m search.run --show-space`` prints :func:`describe_space`.
"""

from __future__ import annotations

from typing import Any

import optuna

from models import SURROGATE_ALPHA
from search.training import STRATEGIES, THESIS_BATCH, THESIS_PRESETS, TrainConfig, strategy_config, thesis_preset
from search.tuning._settings import SpaceSettings, fixed_text
from search.tuning._space_bounds import (
    ADAPTIVE_LR_RANGE,
    ALPHA_SCALE,
    AUGMENT_CHOICES,
    BATCH_NORM_CHOICES,
    BATCH_SIZES,
    COMBINED_OPTIMIZERS,
    COMBINED_SCHEDULES,
    DETACH_RESET_CHOICES,
    DROPOUT,
    ENCODING_CHOICES,
    EXP_GAMMA,
    FRONT_END_CHOICES,
    LABEL_SMOOTHING,
    LR_RANGE,
    MIN_LR_RATIO,
    MOMENTUM,
    NEURON_CHOICES,
    PLATEAU_FACTOR,
    PLATEAU_PATIENCE,
    READOUT_CHOICES,
    RESTART_MULT,
    STEP_GAMMA,
    SURROGATE_CHOICES,
    TAU,
    TIME_STEPS,
    V_THRESHOLD,
    WEIGHT_DECAY,
    WIDTH,
    lr_range,
)


def _suggest_schedule(trial: optuna.Trial, schedule: str, epochs: int) -> dict[str, Any]:
    """Parameters of ``schedule`` only; config field names as keys."""
    p: dict[str, Any] = {}
    if schedule in ("cosine", "warm_restarts", "plateau"):
        p["min_lr_ratio"] = trial.suggest_float("min_lr_ratio", *MIN_LR_RATIO)
    if schedule == "step":
        p["step_size"] = trial.suggest_int("step_size", 1, max(1, epochs))
        p["gamma"] = trial.suggest_float("step_gamma", *STEP_GAMMA, log=True)
    elif schedule == "exponential":
        p["gamma"] = trial.suggest_float("exp_gamma", *EXP_GAMMA)
    elif schedule == "warm_restarts":
        p["restart_period"] = trial.suggest_int("restart_period", 1, max(1, epochs // 2))
        p["restart_mult"] = trial.suggest_int("restart_mult", *RESTART_MULT)
    elif schedule == "plateau":
        p["plateau_patience"] = trial.suggest_int("plateau_patience", *PLATEAU_PATIENCE)
        p["plateau_factor"] = trial.suggest_float("plateau_factor", *PLATEAU_FACTOR)
    return p


def suggest_config(trial: optuna.Trial, settings: SpaceSettings, seed: int = 0) -> TrainConfig:
    """Draw one TrainConfig for ``trial``; every value not drawn keeps the strategy's default."""
    name = trial.suggest_categorical("strategy", settings.strategies)
    strategy = STRATEGIES[name]
    choice: dict[str, Any] = {}
    optimizer = strategy.optimizer or trial.suggest_categorical("optimizer", COMBINED_OPTIMIZERS)
    schedule = strategy.schedule or trial.suggest_categorical("schedule", COMBINED_SCHEDULES)
    if strategy.optimizer is None:
        choice["optimizer"] = optimizer
    if strategy.schedule is None:
        choice["schedule"] = schedule
    choice["lr"] = trial.suggest_float("lr", *lr_range(optimizer), log=True)
    if optimizer in ("sgd", "rmsprop"):
        choice["momentum"] = trial.suggest_float("momentum", *MOMENTUM)
    if strategy.batch_norm is None:
        choice["batch_norm"] = trial.suggest_categorical("batch_norm", BATCH_NORM_CHOICES)
    if strategy.uses_dropout is None:
        choice["dropout"] = trial.suggest_float("dropout", 0.0, DROPOUT[1])
    elif strategy.uses_dropout:
        choice["dropout"] = trial.suggest_float("dropout", *DROPOUT)
    schedule_params = _suggest_schedule(trial, schedule, settings.epochs)
    ratio = schedule_params.pop("min_lr_ratio", 0.0)
    choice.update(schedule_params, min_lr=choice["lr"] * ratio)
    choice["batch_size"] = trial.suggest_categorical("batch_size", BATCH_SIZES)
    choice["time_steps"] = trial.suggest_int("time_steps", *TIME_STEPS)
    choice["tau"] = trial.suggest_float("tau", *TAU)
    choice["surrogate"] = trial.suggest_categorical("surrogate", SURROGATE_CHOICES)
    choice["weight_decay"] = trial.suggest_float("weight_decay", *WEIGHT_DECAY)
    # A study created with an earlier generation of the space keeps it: what it did not search stays at its default.
    if settings.searches("augment"):
        choice["augment"] = trial.suggest_categorical("augment", AUGMENT_CHOICES)
    if settings.searches("label_smoothing"):
        choice["label_smoothing"] = trial.suggest_float("label_smoothing", *LABEL_SMOOTHING)
    if settings.searches("neuron"):
        choice["neuron"] = trial.suggest_categorical("neuron", NEURON_CHOICES)
    if settings.space == "full":
        choice["front_end"] = trial.suggest_categorical("front_end", FRONT_END_CHOICES)
        choice["encoding"] = trial.suggest_categorical("encoding", ENCODING_CHOICES)
        choice["readout"] = trial.suggest_categorical("readout", READOUT_CHOICES)
        choice["v_threshold"] = trial.suggest_float("v_threshold", *V_THRESHOLD)
        choice["detach_reset"] = trial.suggest_categorical("detach_reset", DETACH_RESET_CHOICES)
        if settings.searches("width"):
            low, high, step = WIDTH
            choice["width"] = trial.suggest_float("width", low, high, step=step)
        if settings.searches("alpha_scale"):
            scale = trial.suggest_float("alpha_scale", *ALPHA_SCALE, log=True)
            # Scale 1 is the surrogate's own default, stored as None like every config that never set alpha.
            choice["alpha"] = None if scale == 1.0 else SURROGATE_ALPHA[choice["surrogate"]] * scale
    return strategy_config(name, epochs=settings.epochs, seed=seed, **choice)


def thesis_trial_params(name: str, settings: SpaceSettings) -> dict[str, Any]:
    """The Optuna parameters that make :func:`suggest_config` return the thesis preset of ``name``.

    The preset runs at the study's epoch budget; its step decay keeps the thesis's
    shape (a decay every third of the run), scaled to that budget.  The training
    practice the space adds (augmentation, label smoothing, neuron type; in the full
    space width and alpha) is pinned to the preset's own values (none, 0, lif, 1,
    the surrogate's default), so the comparison with the thesis stays faithful.
    """
    preset = thesis_preset(name)
    net = preset.network
    params: dict[str, Any] = {"strategy": name, "lr": preset.lr}
    if preset.optimizer in ("sgd", "rmsprop"):
        params["momentum"] = preset.momentum
    if name == "dropout":
        params["dropout"] = net.dropout
    if preset.schedule in ("cosine", "plateau"):
        params["min_lr_ratio"] = 0.0
    if preset.schedule == "step":
        params["step_size"] = max(1, round(preset.step_size * settings.epochs / preset.epochs))
        params["step_gamma"] = preset.gamma
    if preset.schedule == "plateau":
        params["plateau_patience"] = preset.plateau_patience
        params["plateau_factor"] = preset.plateau_factor
    params.update(
        batch_size=THESIS_BATCH,
        time_steps=net.time_steps,
        tau=net.tau,
        surrogate=net.surrogate,
        weight_decay=preset.weight_decay,
        augment=preset.augment,
        label_smoothing=preset.label_smoothing,
        neuron=net.neuron,
    )
    if settings.space == "full":
        params.update(
            front_end=net.front_end,
            encoding=net.encoding,
            readout=net.readout,
            v_threshold=net.v_threshold,
            detach_reset=net.detach_reset,
            width=net.width,
            alpha_scale=1.0 if net.alpha is None else net.alpha / SURROGATE_ALPHA[net.surrogate],
        )
    return {k: v for k, v in params.items() if settings.searches(k)}


def thesis_trials(settings: SpaceSettings) -> list[tuple[str, dict[str, Any]]]:
    """(preset name, params) for each thesis strategy the study searches, in the thesis's order."""
    return [(n, thesis_trial_params(n, settings)) for n in THESIS_PRESETS if n in settings.strategies]


def describe_space(settings: SpaceSettings) -> str:
    """The space as text, for ``--show-space`` and the study's note."""
    lines = [
        f"strategy      categorical {list(settings.strategies)}",
        *([f"fixed (--fix; the thesis recipes keep their own): {fixed_text(settings)}"] if settings.fixed else []),
        f"lr            log-uniform: sgd {LR_RANGE['sgd']}, rmsprop {LR_RANGE['rmsprop']}, "
        f"adam/adamw/nadam {ADAPTIVE_LR_RANGE}",
        f"momentum      uniform {MOMENTUM}, only for sgd and rmsprop",
        f"dropout       uniform {DROPOUT} for 'dropout'; [0, {DROPOUT[1]}] for 'combined'; not sampled otherwise",
        f"combined only: optimizer {list(COMBINED_OPTIMIZERS)}, schedule {list(COMBINED_SCHEDULES)}, "
        "batch_norm [False, True]",
        "schedule parameters, only where the strategy has that schedule:",
        "  cosine, warm_restarts, plateau: min_lr_ratio uniform [0, 0.1] (min_lr = lr * ratio)",
        f"  step: step_size int [1, {settings.epochs}], step_gamma log-uniform [0.05, 0.7]",
        "  exponential: exp_gamma uniform [0.6, 0.99]",
        f"  warm_restarts: restart_period int [1, {max(1, settings.epochs // 2)}], restart_mult int [1, 2]",
        "  plateau: plateau_patience int [0, 5], plateau_factor uniform [0.1, 0.7]",
        f"every trial: batch_size {list(BATCH_SIZES)}, time_steps int {list(TIME_STEPS)}, tau uniform {TAU}, "
        f"surrogate {list(SURROGATE_CHOICES)}, weight_decay uniform {WEIGHT_DECAY}",
        f"every trial (training practice, not a thesis strategy): augment {list(AUGMENT_CHOICES)}, "
        f"label_smoothing uniform {LABEL_SMOOTHING}, neuron {list(NEURON_CHOICES)} (plif: learnable tau)",
        "thesis presets (queued first) keep augment none, label_smoothing 0, neuron lif, width 1, "
        "the surrogate's own alpha",
    ]
    if settings.space == "full":
        lines.append(
            "full space: front_end [relu, lif], encoding [direct, poisson], readout [membrane, rate], "
            "v_threshold uniform [0.5, 2.0], detach_reset [True, False], "
            f"width [{WIDTH[0]}, {WIDTH[1]}] step {WIDTH[2]} (channels 32/64/512 x width), "
            f"alpha_scale log-uniform {ALPHA_SCALE} (alpha = surrogate's default x scale)"
        )
    else:
        lines.append("width stays 1 (the thesis's network); --space full searches width and alpha")
    lines.append(f"epochs per trial: {settings.epochs} (pruned trials stop earlier; the thesis recipes never)")
    if settings.not_searched:
        lines.append(kept_space_line(settings))
    return "\n".join(lines)


def kept_space_line(settings: SpaceSettings) -> str:
    """What a study created with an earlier generation of the space does not search."""
    return (
        f"created with generation {settings.generation} of the space, which it keeps: "
        f"{', '.join(settings.not_searched)} stay at their defaults here (a new study searches them)"
    )
