"""Seeds an earlier retrain already trained and tested: ``search.final --reuse FOLDER``.

A retrain seed is a function of its configuration, seed, images and epochs on one device, torch,
SpikingJelly and neuron kernel: on the same machine they train the same network bit for bit (the
test-time augmentation reread relies on it too), and on another processor of the same kind the
same network up to the last bits of floating point, as any rerun there would be.  So a seed
another retrain folder holds (another study's ``final/``, or a copy of one such as
``docs/data/headline/final``) is read from its record instead of trained for up to 20 minutes
and tested a second time.  The thesis recipes are the same configurations in every study with
the default space, so a new study's comparison retrains only its searched configurations.

Only a finished retrain folder (its ``result.json``) offers seeds, and only when its budget,
configuration (but for the seed) and software match; each seed's own file is then checked
against the same fingerprint but for study and trial.  A reused seed keeps its record (curve,
times, test figures) and names the folder it came from (``RetrainRun.reused_from``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.errors import UserError
from search.retrain._result import RetrainResult, RetrainRun
from search.retrain._retrain import RunStore
from search.training import TrainConfig

# What must match besides the device for a record to be this retrain's network: the software
# that trained it.  Optuna's version only chose the configuration.
SOFTWARE = ("torch", "spikingjelly", "neuron_kernel")


@dataclass(frozen=True)
class EarlierRetrain:
    """A finished retrain folder another study (or an earlier copy) left, and what it was."""

    folder: Path
    result: RetrainResult

    def store(self, fingerprint: dict[str, Any]) -> RunStore:
        """Its run store, checked against ``fingerprint`` but for its own study and trial."""
        return RunStore(self.folder, {**fingerprint, "study": self.result.study, "trial": self.result.trial})


def earlier_retrains(folder: Path) -> list[EarlierRetrain]:
    """The finished retrains in ``folder`` (a study's ``final/``), or a one-line error when it holds none."""
    if not folder.exists():
        raise UserError(f"--reuse {folder}: no such folder")
    if not folder.is_dir():
        raise UserError(f"--reuse {folder}: not a folder; give a study's final/ folder")
    found = []
    for path in sorted(folder.glob("trial-*/result.json")):
        result = RetrainResult.load(path)
        if result is not None:
            found.append(EarlierRetrain(path.parent, result))
    if not found:
        raise UserError(
            f"--reuse {folder}: no finished retrain in it; give a study's final/ folder "
            "(it holds trial-N-<epochs>ep-<images>img/result.json)"
        )
    return found


def _same_network(stored: dict[str, Any], config: dict[str, Any]) -> bool:
    """Whether a stored retrain config trains ``config`` (seed 0, no compile): compile changes speed only."""
    try:
        return TrainConfig.from_dict(stored).replace(seed=0, compile=False).to_dict() == config
    except (TypeError, ValueError, KeyError):
        return False


def earlier_match(
    earlier: list[EarlierRetrain], fingerprint: dict[str, Any], device: str, versions: dict[str, str]
) -> EarlierRetrain | None:
    """The first earlier retrain of the same network as ``fingerprint`` (study and trial aside) on
    ``device`` with the same software; None where there is none."""
    for candidate in earlier:
        r = candidate.result
        if (
            r.device == device
            and all(r.versions.get(k) == versions.get(k) for k in SOFTWARE)
            and r.budget.epochs == fingerprint["epochs"]
            and r.budget.train_size == fingerprint["train_size"]
            and _same_network(r.config, fingerprint["config"])
        ):
            return candidate
    return None


def earlier_store(
    earlier: list[EarlierRetrain], fingerprint: dict[str, Any], device: str, versions: dict[str, str]
) -> RunStore | None:
    """The run store of :func:`earlier_match`'s retrain, checked against ``fingerprint`` but for its
    study and trial; None where there is none."""
    match = earlier_match(earlier, fingerprint, device, versions)
    return None if match is None else match.store(fingerprint)


def reads_before_at_source(runs: list[RetrainRun]) -> int | None:
    """The most test reads the folders ``runs``' reused seeds came from had counted before their figures.

    A reused seed's figure was read there, so whatever that folder's study had read of the
    configuration before then was read before this figure too.  Each reused run carries its source's
    count (``reused_reads_before``); a run recorded before it did is looked up in its source folder's
    result.  None (unknown, ``n/a``) where a source counted none or can no longer be found."""
    counts = [0]
    for run in runs:
        if not run.reused_from:
            continue
        count = run.reused_reads_before
        if count is None:
            source = RetrainResult.load(Path(run.reused_from) / "result.json")
            count = None if source is None else source.test_reads_before
        if count is None:
            return None
        counts.append(count)
    return max(counts)
