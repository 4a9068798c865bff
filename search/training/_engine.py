"""The one training loop and evaluation: search trials, final retrains and tests call :func:`train`.

Each batch is one :func:`search.training._step.train_step`, the step ``search.bench`` times too.
It knows nothing of Optuna.  After each epoch it calls ``on_epoch`` with an
:class:`EpochStats`; a caller that wants to stop (a pruner) raises from there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional, monitor
from torch import nn
from torch.optim import lr_scheduler

from models import SPIKING_NEURONS, SpikingCNN, build_network
from search.training._compilation import compile_network
from search.training._config import TrainConfig
from search.training._cpu_memory import retain_freed_memory
from search.training._data import CLASSES, ImageSet, batches
from search.training._optimizers import build_optimizer, build_scheduler
from search.training._precision import autocast
from search.training._step import train_step

EVAL_BATCH = 1000
# A run has diverged when its running mean training loss is NaN, infinite or above
# this bound. Chance level for 10 classes is ln 10 = 2.3; a mean of 100 means logits
# a hundred apart on wrong answers, from which no run in our tests recovered.
DIVERGED_LOSS = 100.0
# How often (in batches) that is checked; each check syncs a GPU.
DIVERGENCE_CHECK_EVERY = 20


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float  # the rate used during this epoch (its first batch)
    elapsed_s: float  # since the start of training
    images_per_s: float  # training throughput of this epoch
    firing_rates: dict[str, float]  # mean spikes per neuron per step, each LIF layer (on validation)
    val_acc_plain: float | None = None  # with test-time augmentation: validation accuracy without it

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class TrainResult:
    status: str  # "completed" or "diverged"
    history: list[EpochStats] = field(default_factory=list)
    model: SpikingCNN | None = None
    seconds: float = 0.0
    reason: str = ""

    @property
    def best_epoch(self) -> int | None:
        scored = [s for s in self.history if s.val_acc is not None]
        return max(scored, key=lambda s: s.val_acc).epoch if scored else None  # type: ignore[arg-type, return-value]

    @property
    def best_val_acc(self) -> float | None:
        epoch = self.best_epoch
        return None if epoch is None else self.history[epoch - 1].val_acc

    @property
    def final_val_acc(self) -> float | None:
        return self.history[-1].val_acc if self.history else None


@dataclass(frozen=True)
class Evaluation:
    loss: float
    accuracy: float
    predictions: torch.Tensor  # [N] on the CPU
    firing_rates: dict[str, float]
    # With test-time augmentation: the accuracy of the images as they are, without their
    # mirror images (what the augmentation bought, measured on the same network); else None.
    plain_accuracy: float | None = None


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch's global RNGs (init, dropout, Poisson spikes); return the shuffling generator."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _class_scores(net: SpikingCNN, images: torch.Tensor, config: TrainConfig, device: torch.device) -> torch.Tensor:
    with autocast(config.precision, device):
        logits = net(images)
    functional.reset_net(net)
    return logits.float()


@torch.no_grad()
def evaluate(net: SpikingCNN, data: ImageSet, config: TrainConfig, device: torch.device) -> Evaluation:
    """Loss, accuracy, predictions and per-layer firing rates of ``net`` on ``data``.

    With ``config.tta == "flip"`` each image's class scores are the mean of its own and its
    mirror image's (the network's outputs, before the softmax); loss and accuracy are of that mean.
    """
    net.eval()
    loss_sum = torch.zeros((), device=device)
    predictions, plain, sizes = [], [], []
    # SpikingJelly's monitor records each LIF layer's mean output (its firing rate) per forward pass.
    with monitor.OutputMonitor(net, SPIKING_NEURONS, lambda s: s.float().mean()) as rates:
        for images, labels in batches(data, EVAL_BATCH):
            logits = _class_scores(net, images, config, device)
            sizes.append(len(labels))
            if config.tta == "flip":
                plain.append(logits.argmax(1))
                logits = (logits + _class_scores(net, images.flip(-1), config, device)) / 2
                sizes.append(len(labels))
            loss_sum += F.cross_entropy(logits, labels, reduction="sum")
            predictions.append(logits.argmax(1))
        firing_rates = {
            name: sum(float(r) * n for r, n in zip(rates[name], sizes)) / sum(sizes) for name in rates.monitored_layers
        }
    labels = data.labels.cpu()
    predicted = torch.cat(predictions).cpu()
    return Evaluation(
        loss=float(loss_sum) / len(data),
        accuracy=int((predicted == labels).sum()) / len(data),
        predictions=predicted,
        firing_rates=firing_rates,
        plain_accuracy=int((torch.cat(plain).cpu() == labels).sum()) / len(data) if plain else None,
    )


def per_class_accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """The share of each class's images labelled correctly, by class name."""
    labels = labels.cpu()
    return {name: float((predictions[labels == c] == c).float().mean()) for c, name in enumerate(CLASSES)}


def confusion_counts(predictions: torch.Tensor, labels: torch.Tensor) -> list[list[int]]:
    """Counts of (true class, predicted class): rows true, columns predicted."""
    n = len(CLASSES)
    counts = torch.bincount(labels.cpu() * n + predictions, minlength=n * n)
    return counts.view(n, n).tolist()


def _current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def _train_epoch(
    net: nn.Module,
    data: ImageSet,
    config: TrainConfig,
    device: torch.device,
    optimizer: torch.optim.Optimizer,
    scheduler: object,
    generator: torch.Generator,
    progress: Callable[[int], None] | None,
    model: nn.Module | None = None,
) -> tuple[float, float, int]:
    """One pass over ``data``; returns (mean loss, accuracy, images seen); the loss is NaN if it diverged.

    ``model`` runs the forward pass (``net`` compiled, see search.training._compilation); ``net`` itself by default.
    """
    model = net if model is None else model
    net.train()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    for step, (images, labels) in enumerate(batches(data, config.batch_size, generator)):
        loss, logits = train_step(net, model, images, labels, config, device, optimizer, generator)
        if isinstance(scheduler, lr_scheduler.OneCycleLR):
            scheduler.step()
        loss_sum += loss * len(labels)
        correct += (logits.argmax(1) == labels).sum()
        seen += len(labels)
        if progress is not None:
            progress(len(labels))
        if step % DIVERGENCE_CHECK_EVERY == 0 and not float(loss_sum) / seen <= DIVERGED_LOSS:
            return math.nan, 0.0, seen
    mean_loss = float(loss_sum) / max(seen, 1)
    return mean_loss, float(correct) / max(seen, 1), seen


def train(
    config: TrainConfig,
    train_data: ImageSet,
    val_data: ImageSet | None,
    device: torch.device,
    on_epoch: Callable[[EpochStats], None] | None = None,
    progress: Callable[[int], None] | None = None,
    inspect: Callable[[SpikingCNN], None] | None = None,
) -> TrainResult:
    """Train ``config`` on ``train_data``, evaluating on ``val_data`` (if any) after each epoch.

    A NaN, infinite or exploding training loss (see DIVERGED_LOSS) ends the run with
    status ``"diverged"``; nothing is raised.  Without validation data (the final retrain), reduce-on-plateau follows
    the training loss.  ``progress`` is told the number of images of each batch;
    ``inspect`` sees the network after each epoch, before ``on_epoch`` (the search measures
    its energy there, so that a trial pruned in that epoch has its cost).
    """
    generator = seed_everything(config.seed)
    if device.type == "cpu":
        retain_freed_memory()
    net = build_network(config.network).to(device=device, memory_format=torch.channels_last)
    model = compile_network(net, device) if config.compile else net
    optimizer = build_optimizer(config, net.parameters())
    steps_per_epoch = max(1, len(train_data) // config.batch_size + (len(train_data) % config.batch_size > 1))
    scheduler = build_scheduler(config, optimizer, steps_per_epoch)
    result = TrainResult(status="completed", model=net)
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        lr = _current_lr(optimizer)
        epoch_start = time.perf_counter()
        train_loss, train_acc, seen = _train_epoch(
            net, train_data, config, device, optimizer, scheduler, generator, progress, model
        )
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_seconds = time.perf_counter() - epoch_start
        if not train_loss <= DIVERGED_LOSS:
            result.status = "diverged"
            result.reason = (
                f"training loss became non-finite or exceeded {DIVERGED_LOSS:g} in epoch {epoch} (lr {lr:g})"
            )
            break
        evaluation = evaluate(net, val_data, config, device) if val_data is not None else None
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(evaluation.loss if evaluation is not None else train_loss)
        elif scheduler is not None and not isinstance(scheduler, lr_scheduler.OneCycleLR):
            scheduler.step()
        stats = EpochStats(
            epoch=epoch,
            train_loss=train_loss,
            train_acc=train_acc,
            val_loss=evaluation.loss if evaluation else None,
            val_acc=evaluation.accuracy if evaluation else None,
            lr=lr,
            elapsed_s=time.perf_counter() - start,
            images_per_s=seen / train_seconds if train_seconds > 0 else 0.0,
            firing_rates=evaluation.firing_rates if evaluation else {},
            val_acc_plain=evaluation.plain_accuracy if evaluation else None,
        )
        result.history.append(stats)
        result.seconds = time.perf_counter() - start
        if inspect is not None:
            inspect(net)
        if on_epoch is not None:
            on_epoch(stats)
    result.seconds = time.perf_counter() - start
    return result
