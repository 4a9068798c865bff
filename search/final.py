"""python -m search.final: retrain a trial's config on all 60,000 training images, test once.

Picks the best trial of the best study (``--study best``), of one study, or
``--trial N``; rebuilds its exact config from the JSON stored in the trial; trains
on train + validation images together; evaluates on the 10,000 test images once,
at the end.  Writes studies/<study>/final/result.json and model.pt.

Epochs (unless --epochs): the trial's own epoch count when its learning rate follows
a schedule (the schedule was tuned over that length); the epoch of its best
validation accuracy when the rate is constant.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import optuna
import torch

from search.cli import Parser, add_runtime_flags, format_table, percent, positive_int, quiet_optuna
from search.config import TrainConfig
from search.data import CLASSES, load_full_train, load_test_set
from search.device import resolve_device
from search.engine import evaluate, train
from search.errors import UserError, command
from search.publish import publish_final_result
from search.results import save_state_dict, write_json
from search.storage import (
    DEFAULT_STORAGE, STUDIES_DIR, check_folder_writable, load_study, mask_url, open_storage, study_names,
)
from search.study import versions

THESIS_BASELINE_TEST = 0.8601
THESIS_BEST_TEST = 0.8782


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = Parser(prog="python -m search.final", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", default="best",
                        help="study name, or 'best': the study whose best trial has the highest validation accuracy")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"Optuna storage URL (default {DEFAULT_STORAGE})")
    parser.add_argument("--trial", type=int, default=None, help="trial number to retrain (default: the best)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="epochs of the retrain (default: see above)")
    parser.add_argument("--seeds", type=positive_int, default=1, help="repeat with this many seeds (default 1)")
    parser.add_argument("--train-size", type=positive_int, default=None,
                        help="retrain on a stratified subset (for tests; default all 60,000)")
    add_runtime_flags(parser)
    return parser.parse_args(argv)


def pick_study(storage: optuna.storages.BaseStorage, name: str, url: str) -> optuna.Study:
    if name != "best":
        return load_study(storage, name, url)
    best: tuple[float, optuna.Study] | None = None
    for study_name in study_names(storage):
        study = optuna.load_study(study_name=study_name, storage=storage)
        try:
            value = study.best_value
        except ValueError:
            continue
        if best is None or value > best[0]:
            best = (value, study)
    if best is None:
        raise UserError(f"no complete trial yet in any study of {mask_url(url)}; run python -m search.run first")
    return best[1]


def pick_trial(study: optuna.Study, number: int | None) -> optuna.trial.FrozenTrial:
    trials = study.get_trials(deepcopy=False)
    if number is None:
        try:
            return study.best_trial
        except ValueError:
            raise UserError(f"study {study.study_name!r} has no complete trial yet") from None
    if not 0 <= number < len(trials):
        raise UserError(f"study {study.study_name!r} has trials 0..{len(trials) - 1}; there is no trial {number}")
    trial = trials[number]
    if "config" not in trial.user_attrs or not trial.user_attrs.get("history"):
        raise UserError(f"trial {number} of {study.study_name!r} ({trial.state.name.lower()}) "
                        "has no trained config to retrain")
    return trial


def default_epochs(config: TrainConfig, trial: optuna.trial.FrozenTrial) -> int:
    if config.schedule != "none":
        return config.epochs
    return int(trial.user_attrs.get("best_epoch") or config.epochs)


def per_class_accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> list[float]:
    return [float((predictions[labels == c] == c).float().mean()) for c in range(len(CLASSES))]


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor) -> list[list[int]]:
    n = len(CLASSES)
    counts = torch.bincount(labels * n + predictions, minlength=n * n)
    return counts.view(n, n).tolist()


@command
def main(argv: list[str]) -> int:
    args = parse_args(argv)
    quiet_optuna()
    device = resolve_device(args.device)
    storage = open_storage(args.storage, create=False, writable=True)  # the result goes into the study too
    study = pick_study(storage, args.study, args.storage)
    check_folder_writable(STUDIES_DIR / study.study_name / "final", "the retrain's result.json and model.pt")
    trial = pick_trial(study, args.trial)
    searched = TrainConfig.from_dict(trial.user_attrs["config"])
    epochs = args.epochs or default_epochs(searched, trial)
    train_set = load_full_train(args.data_dir, download=args.download, train_size=args.train_size).to(device)
    test_set = load_test_set(args.data_dir, download=args.download).to(device)
    print(f"study {study.study_name!r}, trial {trial.number} ({trial.params.get('strategy')}): "
          f"validation accuracy in the search {percent(trial.user_attrs.get('best_val_acc'))}; "
          f"retraining on {len(train_set):,} images for {epochs} epochs on {device}")
    runs: list[dict[str, Any]] = []
    first_model = None
    for k in range(args.seeds):
        config = searched.replace(epochs=epochs, seed=searched.seed + k)
        result = train(config, train_set, None, device,
                       on_epoch=lambda s: print(f"  seed {config.seed} epoch {s.epoch}/{epochs}: "
                                                f"train loss {s.train_loss:.4f}, acc {percent(s.train_acc)}"))
        if result.status == "diverged" or result.model is None:
            raise UserError(f"the retrain with seed {config.seed} diverged: {result.reason}")
        # The one and only look at the test set for this model.
        start = time.perf_counter()
        test = evaluate(result.model, test_set, config, device)
        labels = test_set.labels.cpu()
        runs.append({
            "seed": config.seed,
            "test_accuracy": test.accuracy,
            "test_loss": test.loss,
            "per_class_accuracy": dict(zip(CLASSES, per_class_accuracy(test.predictions, labels))),
            "confusion_matrix": confusion_matrix(test.predictions, labels),
            "train_seconds": round(result.seconds, 2),
            "test_seconds": round(time.perf_counter() - start, 2),
            "history": [s.to_dict() for s in result.history],
        })
        if first_model is None:
            first_model = result.model
    accuracies = [r["test_accuracy"] for r in runs]
    mean = statistics.fmean(accuracies)
    std = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    out_dir = STUDIES_DIR / study.study_name / "final"
    record = {
        "study": study.study_name,
        "storage": mask_url(args.storage),
        "trial": trial.number,
        "validation_accuracy": trial.user_attrs.get("best_val_acc"),
        "test_accuracy_mean": mean,
        "test_accuracy_std": std,
        "seeds": [r["seed"] for r in runs],
        "epochs": epochs,
        "train_size": len(train_set),
        "config": searched.replace(epochs=epochs).to_dict(),
        "runs": runs,
        "per_class_accuracy": runs[0]["per_class_accuracy"],
        "confusion_matrix": runs[0]["confusion_matrix"],
        "model_seed": runs[0]["seed"],
        "device": str(device),
        "versions": versions(),
        "thesis": {"baseline_test": THESIS_BASELINE_TEST, "best_test": THESIS_BEST_TEST},
    }
    assert first_model is not None
    save_state_dict(out_dir / "model.pt", first_model.state_dict())
    write_json(out_dir / "result.json", record)
    study.set_user_attr("final_result", {
        "trial": trial.number, "test_accuracy_mean": mean, "test_accuracy_std": std,
        "seeds": len(runs), "epochs": epochs, "train_size": len(train_set),
    })
    print(format_table(["setting", "value"], [[k, v] for k, v in trial.params.items()]))
    print(format_table(["seed", "test accuracy"], [[r["seed"], percent(r["test_accuracy"])] for r in runs]))
    print(format_table(["class", "test accuracy"],
                       [[c, percent(a)] for c, a in runs[0]["per_class_accuracy"].items()]))
    print(format_table(["", "accuracy"], [
        ["validation (search)", percent(trial.user_attrs.get("best_val_acc"))],
        [f"test, mean ± std over {len(runs)} seed(s)", f"{percent(mean)} ± {100 * std:.2f}"],
        ["thesis baseline (test)", percent(THESIS_BASELINE_TEST)],
        ["thesis best, cosine annealing (test)", percent(THESIS_BEST_TEST)],
    ]))
    print(f"wrote {out_dir / 'result.json'} and {out_dir / 'model.pt'}")
    print(publish_final_result(study, trial, out_dir, record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
