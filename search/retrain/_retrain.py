"""The final retrain: a searched config trained on all training images, tested once per seed.

Each (configuration, seed) run is written to its own JSON file the moment it ends
(:class:`RunStore`), so a long retrain or comparison that is stopped (Ctrl-C, a crash,
``kill -9``) resumes where it was: finished runs are read back, not repeated.  A file
that belongs to another study, trial or budget, or that cannot be read, is refused by
name rather than mixed in.
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from models import NetworkConfig, build_network
from search.errors import UserError
from search.retrain._result import RetrainRun
from search.store import save_state_dict, write_json
from search.training import (
    EpochStats,
    ImageSet,
    TrainConfig,
    confusion_counts,
    energy_sample,
    evaluate,
    measure_prediction_energy,
    per_class_accuracy,
    train,
)


def run_seed(
    config: TrainConfig,
    train_set: ImageSet,
    test_set: ImageSet,
    device: torch.device,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> tuple[RetrainRun, torch.nn.Module]:
    """Train ``config`` (its own seed) on ``train_set``, then read the test set once."""
    result = train(config, train_set, None, device, on_epoch=on_epoch)
    if result.status == "diverged" or result.model is None:
        raise UserError(f"the retrain with seed {config.seed} diverged: {result.reason}")
    run = _test_run(
        config,
        result.model,
        test_set,
        device,
        train_seconds=round(result.seconds, 2),
        history=[s.to_dict() for s in result.history],
    )
    return run, result.model


def reread_seed(
    config: TrainConfig,
    trained: RetrainRun,
    net: torch.nn.Module,
    weights_from: str,
    test_set: ImageSet,
    device: torch.device,
) -> RetrainRun:
    """Test a network trained by another retrain of the same configuration, without training it again.

    Only settings that change how a network is read, not how it is trained (``tta``), may differ
    between the two: the run keeps the training's curve and time and names where it was trained.
    """
    return _test_run(
        config,
        net,
        test_set,
        device,
        train_seconds=trained.train_seconds,
        history=trained.history,
        weights_from=weights_from,
    )


def _test_run(
    config: TrainConfig,
    net: torch.nn.Module,
    test_set: ImageSet,
    device: torch.device,
    *,
    train_seconds: float,
    history: list[dict[str, Any]],
    weights_from: str | None = None,
) -> RetrainRun:
    start = time.perf_counter()
    test = evaluate(net, test_set, config, device)  # the one and only look at the test set
    return RetrainRun(
        seed=config.seed,
        test_accuracy=test.accuracy,
        test_loss=test.loss,
        per_class_accuracy=per_class_accuracy(test.predictions, test_set.labels),
        confusion_matrix=confusion_counts(test.predictions, test_set.labels),
        train_seconds=train_seconds,
        test_seconds=round(time.perf_counter() - start, 2),
        history=history,
        energy=measure_prediction_energy(net, energy_sample(test_set), config.tta).to_dict(),
        test_accuracy_plain=test.plain_accuracy,
        weights_from=weights_from,
    )


def _with_current_fields(fingerprint: Any) -> Any:
    """A stored fingerprint with its config rebuilt, so that settings added since it was written
    compare at their defaults (a retrain recorded before ``tta`` existed resumes) instead of as missing."""
    if not isinstance(fingerprint, dict) or not isinstance(fingerprint.get("config"), dict):
        return fingerprint
    try:
        config = TrainConfig.from_dict(fingerprint["config"]).to_dict()
    except (TypeError, ValueError):
        return fingerprint  # not a config this version knows: it differs, and says so by name
    return {**fingerprint, "config": config}


class RunStore:
    """The finished seeds of one retrained trial, one JSON file each in ``folder/runs/``, and their weights.

    Every file carries a fingerprint (study, trial, config, budget); a file with another
    fingerprint, or one that cannot be read, stops a resume with its name.  Seed 0's weights
    are ``model.pt`` (the study's artifact), every other seed's ``runs/seed-K.pt``; each is
    written before its JSON file.  A recorded seed lacks them where it predates them, or where it
    was read again from another retrain's weights (``weights_from``; only seed 0's are copied).
    """

    def __init__(self, folder: Path, fingerprint: dict[str, Any]) -> None:
        self.folder = folder
        self.fingerprint = fingerprint

    def path(self, seed: int) -> Path:
        return self.folder / "runs" / f"seed-{seed}.json"

    def weights_path(self, seed: int) -> Path:
        return self.folder / "model.pt" if seed == 0 else self.folder / "runs" / f"seed-{seed}.pt"

    def load(self, seed: int) -> RetrainRun | None:
        path = self.path(seed)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            run = RetrainRun.from_dict(data["run"])
            fingerprint = data["fingerprint"]
        except (OSError, ValueError, KeyError, TypeError):
            raise UserError(
                f"cannot resume: {path} is not a readable run record (corrupt?); move it away to retrain that seed"
            ) from None
        if _with_current_fields(fingerprint) != self.fingerprint or run.seed != seed:
            raise UserError(
                f"cannot resume: {path} belongs to another retrain (study "
                f"{fingerprint.get('study')!r}, trial {fingerprint.get('trial')}); "
                "move it away or pick another --results-dir"
            )
        return run

    def trained(
        self, seed: int, network: NetworkConfig, device: torch.device
    ) -> tuple[RetrainRun, torch.nn.Module, str] | None:
        """The recorded seed, its network with the kept weights loaded (on ``device``) and this folder's
        name; None where the record or the weights are missing, unreadable, of another retrain or do not
        fit ``network``."""
        try:
            run = self.load(seed)
        except UserError:
            return None
        weights = self.weights_path(seed)
        if run is None or not weights.is_file():
            return None
        net = build_network(network).to(device=device, memory_format=torch.channels_last)
        try:
            net.load_state_dict(torch.load(weights, map_location=device, weights_only=True))
        except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError):
            return None
        return run, net, self.folder.name

    def save(self, run: RetrainRun, model: torch.nn.Module | None = None) -> None:
        """Record a finished seed, its weights first."""
        if model is not None:
            save_state_dict(self.weights_path(run.seed), model.state_dict())
        write_json(self.path(run.seed), {"fingerprint": self.fingerprint, "run": run.to_dict()})
