"""The fidelity check on recorded curves (no training): Kendall's tau with its interval, the pruner's rungs,
the warning in words, two studies matched by configuration, and ``search.fidelity`` as a user runs it."""

from __future__ import annotations

import math
import random
from pathlib import Path

import optuna
import pytest
from scipy import stats

from search.training import DEFAULT_EPOCHS
from search.tuning._fidelity import (
    Agreement,
    epoch_agreement,
    epoch_ranking_problem,
    fidelity_warnings,
    kendall,
    pruning_epochs,
    study_agreement,
    trials_run_through,
)
from search.tuning._settings import (
    FIRST_RUNG_SHARE,
    SETTINGS_ATTR,
    SpaceSettings,
    StudySettings,
    default_min_resource,
)
from support import assert_one_line_error, run_module

EPOCHS = 9


def _settings(pruner: str = "hyperband", min_resource: int = 1, epochs: int = EPOCHS) -> StudySettings:
    return StudySettings(space=SpaceSettings(epochs=epochs), pruner=pruner, min_resource=min_resource)


def _curves(n: int, seed: int = 0) -> list[dict[int, float]]:
    """Curves whose epochs 1 and 2 are noise against the end, and whose epochs 3 on keep the end's order."""
    rng = random.Random(seed)
    curves = []
    for i in range(n):
        end = 0.80 + i / 200
        noisy = {e: rng.uniform(0.5, 0.7) for e in (1, 2)}
        ordered = {e: end - (EPOCHS - e) / 100 for e in range(3, EPOCHS + 1)}
        curves.append({**noisy, **ordered})
    return curves


def _study(curves: list[dict[int, float]], settings: StudySettings | None = None, **kw: object) -> optuna.Study:
    study = optuna.create_study(direction="maximize", **kw)  # type: ignore[arg-type]
    if settings is not None:
        study.set_user_attr(SETTINGS_ATTR, settings.to_dict())
    lr = optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
    for i, curve in enumerate(curves):
        study.add_trial(
            optuna.trial.create_trial(
                value=max(curve.values()),
                intermediate_values=curve,
                params={"lr": 1e-3 * (1 + i)},
                distributions={"lr": lr},
            )
        )
    return study


def test_kendall_agrees_with_scipy_and_has_a_fieller_interval():
    low = [0.1, 0.4, 0.2, 0.8, 0.5, 0.7, 0.3, 0.6]
    high = [0.2, 0.3, 0.1, 0.7, 0.8, 0.6, 0.4, 0.5]
    a = kendall(low, high, "epoch 1", "epoch 10")
    expected = stats.kendalltau(low, high)
    assert a.tau == pytest.approx(expected.statistic) and a.p_value == pytest.approx(expected.pvalue)
    half = 1.959963984540054 * math.sqrt(0.437 / (len(low) - 4))
    assert a.lower == pytest.approx(math.tanh(math.atanh(a.tau) - half))
    assert a.upper == pytest.approx(math.tanh(math.atanh(a.tau) + half))
    assert a.lower < a.tau < a.upper


def test_kendall_edges():
    same = kendall([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], "a", "b")
    assert same.tau == pytest.approx(1.0) and same.upper == pytest.approx(1.0, abs=1e-3)
    reversed_ = kendall([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], "a", "b")
    assert reversed_.tau == pytest.approx(-1.0) and reversed_.weak
    flat = kendall([0.5] * 6, [1, 2, 3, 4, 5, 6], "a", "b")
    assert math.isnan(flat.tau) and flat.verdict == "no spread" and not flat.weak
    few = kendall([1, 2, 3], [1, 3, 2], "a", "b")
    assert not math.isnan(few.tau) and math.isnan(few.lower) and few.interval_text() == "needs 5"
    assert few.verdict == "too few to say (needs 5)"  # no verdict without an interval
    two = kendall([1, 2], [1, 2], "a", "b")
    assert two.tau == pytest.approx(1.0) and two.verdict == "too few to say (needs 5)"
    assert kendall([1, 2, 3, 4, 5], [1, 2, 3, 5, 4], "a", "b").verdict == "ranks as the end"  # five: an interval
    with pytest.raises(ValueError, match="pair up"):
        kendall([1, 2], [1, 2, 3], "a", "b")


def test_pruning_epochs_are_the_pruners_rungs():
    assert pruning_epochs(_settings("hyperband", 1, 10), 10) == {1, 3, 9}
    assert pruning_epochs(_settings("sha", 2, 10), 10) == {2, 6}
    assert pruning_epochs(_settings("median", 3, 10), 10) == set(range(3, 10))
    assert pruning_epochs(_settings("none", 1, 10), 10) == set()
    assert pruning_epochs(None, 10) == set()


def test_an_early_rung_that_is_noise_is_flagged_with_the_epoch_to_prune_from():
    settings = _settings()
    study = _study(_curves(16), settings)
    rows = epoch_agreement(study, settings)
    assert [r.low for r in rows] == [f"epoch {e}" for e in range(1, EPOCHS)]
    assert all(r.high == f"epoch {EPOCHS}" and r.n == 16 for r in rows)
    by_epoch = {int(r.low.split()[1]): r for r in rows}
    assert by_epoch[1].rung and by_epoch[3].rung and not by_epoch[2].rung
    assert by_epoch[1].weak and by_epoch[3].tau == pytest.approx(1.0)
    warnings = fidelity_warnings(rows)
    assert len(warnings) == 1  # epoch 1 is a rung and noise; epoch 2 is noise but no rung
    assert warnings[0].startswith("the rung at epoch 1 barely predicts epoch 9: Kendall tau")
    assert warnings[0].endswith("over 16 trials; raise --min-resource to 3")


def test_no_warning_where_every_rung_predicts_the_end():
    settings = _settings(min_resource=3)
    rows = epoch_agreement(_study(_curves(16), settings), settings)
    assert fidelity_warnings(rows) == []


def test_only_complete_trials_that_ran_every_epoch_are_ranked():
    study = _study(_curves(8))
    study.add_trial(optuna.trial.create_trial(value=0.9, intermediate_values={1: 0.9, 2: 0.9}))
    study.add_trial(
        optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED, intermediate_values={1: 0.1, 2: 0.2})
    )
    trials, epochs = trials_run_through(study)
    assert epochs == EPOCHS and len(trials) == 8
    assert all(r.n == 8 for r in epoch_agreement(study))


def test_two_studies_are_matched_by_configuration():
    curves = _curves(10)
    high = _study(curves)
    # The cheap study trained the same ten configurations, and one more the full one never did.
    low = _study([{1: c[EPOCHS] - 0.1} for c in curves] + [{1: 0.99}])
    a = study_agreement(low, high)
    assert a.n == 10 and a.tau == pytest.approx(1.0)
    shuffled = _study([{1: v} for v in (0.5, 0.9, 0.6, 0.8, 0.7, 0.55, 0.65, 0.85, 0.75, 0.95)])
    assert study_agreement(shuffled, high).tau < 0.5


def test_an_agreement_is_stored_as_plain_json():
    a = Agreement("epoch 1", "epoch 9", 3, float("nan"), float("nan"), float("nan"), float("nan"))
    assert a.to_dict() == {
        "low": "epoch 1",
        "high": "epoch 9",
        "n": 3,
        "tau": None,
        "ci95": None,
        "p_value": None,
        "rung": False,
    }


def _storage_with(tmp_path: Path, name: str, curves: list[dict[int, float]], settings: StudySettings) -> str:
    url = f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}"
    (tmp_path / "studies").mkdir(exist_ok=True)
    _study(curves, settings, storage=url, study_name=name)
    return url


def test_the_command_prints_the_table_the_warning_and_writes_the_figure(tmp_path):
    url = _storage_with(tmp_path, "probe", _curves(16), _settings())
    _study([{1: c[EPOCHS] - 0.1} for c in _curves(16)], _settings(epochs=1), storage=url, study_name="probe-short")
    result = run_module("search.fidelity", "--study", "probe", "--against", "probe-short", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "study 'probe': 16 complete trials ran every epoch" in out
    assert "Kendall tau" in out and "epoch 1" in out and "study 'probe-short'" in out
    assert "warning: the rung at epoch 1 barely predicts epoch 9" in out
    figure = tmp_path / "studies" / "optuna" / "probe" / "fidelity.html"
    assert f"wrote {figure}" in out or "wrote studies/optuna/probe/fidelity.html" in out
    assert "Does a cheap ranking predict the end?" in figure.read_text()


def test_the_command_marks_the_rungs_of_a_pruner_the_study_did_not_use(tmp_path):
    _storage_with(tmp_path, "probe", _curves(16), _settings(pruner="none"))
    plain = run_module("search.fidelity", "--study", "probe", cwd=tmp_path, timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert "warning" not in plain.stdout  # no pruner, no rung to warn of
    asked = ["--study", "probe", "--pruner", "hyperband", "--min-resource", "2"]
    marked = run_module("search.fidelity", *asked, cwd=tmp_path, timeout=120)
    assert marked.returncode == 0, marked.stderr
    assert "warning: the rung at epoch 2 barely predicts epoch 9" in marked.stdout  # rungs 2 and 6
    assert "raise --min-resource to 3" in marked.stdout
    assert "rung at epoch 6" not in marked.stdout


def test_the_command_refuses_what_it_cannot_read(tmp_path):
    url = _storage_with(tmp_path, "probe", _curves(6), _settings())
    missing = run_module("search.fidelity", "--study", "nope", cwd=tmp_path, timeout=120)
    assert missing.returncode != 0
    assert "nope" in assert_one_line_error(missing.stderr)
    itself = run_module("search.fidelity", "--study", "probe", "--against", "probe", cwd=tmp_path, timeout=120)
    assert itself.returncode == 2
    assert assert_one_line_error(itself.stderr) == "error: --against probe: that is the study itself"
    assert url  # the storage was not changed into anything else
    assert sorted(p.name for p in (tmp_path / "studies").iterdir()) == ["optuna.db"]


def test_the_note_keeps_one_fidelity_section():
    from search.tuning._notes import FIDELITY_HEADING, with_fidelity

    note = "## s\n\n### Budget\n- 10 epochs\n\n### Search space\n- lr\n"
    assert with_fidelity(note, []) == note
    warned = with_fidelity(note, ["the rung at epoch 1 barely predicts epoch 9"])
    assert warned.count(FIDELITY_HEADING) == 1 and "**warning:** the rung at epoch 1" in warned
    again = with_fidelity(warned, ["the rung at epoch 3 barely predicts epoch 9"])
    assert again.count(FIDELITY_HEADING) == 1 and "epoch 1" not in again and "epoch 3" in again
    assert "### Search space" in again
    assert FIDELITY_HEADING not in with_fidelity(again, [])


def test_the_summary_warns_of_a_rung_that_barely_predicts_the_end():
    from search.tuning._summary import summary

    study = _study(_curves(16), _settings())
    text = summary(study, "sqlite:///studies/optuna.db", "python -m search.final")
    assert "warning: the rung at epoch 1 barely predicts epoch 9" in text
    assert text.splitlines()[-1] == "next: python -m search.final"


def test_why_epochs_cannot_be_ranked_is_said_in_words():
    assert epoch_ranking_problem(_study(_curves(6))) is None
    assert epoch_ranking_problem(_study([])) == "no trial has completed yet"
    one_epoch = _study([{1: 0.5 + i / 100} for i in range(6)])
    assert epoch_ranking_problem(one_epoch) == (
        "its trials ran 1 epoch (6 of 6 complete ones): there is no earlier epoch to rank against the last"
    )
    unreported = optuna.create_study(direction="maximize")
    for value in (0.7, 0.8):
        unreported.add_trial(optuna.trial.create_trial(value=value))
    assert epoch_ranking_problem(unreported) == "its 2 complete trials recorded no per-epoch values"
    assert (
        epoch_ranking_problem(_study([_curves(2)[0], {1: 0.5}]))
        == "1 complete trial ran all 9 epochs: a ranking needs two"
    )
    pareto = optuna.create_study(directions=["maximize", "minimize"])
    pareto.add_trial(optuna.trial.create_trial(values=[0.8, 2e7]))
    assert epoch_ranking_problem(pareto).startswith("it has two objectives, and Optuna records no per-epoch values")


def test_a_one_epoch_study_says_why_there_is_nothing_to_rank(tmp_path):
    url = _storage_with(tmp_path, "short", [{1: 0.5 + i / 100} for i in range(6)], _settings(epochs=1))
    result = run_module("search.fidelity", "--study", "short", "--storage", url, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "study 'short': no ranking of its epochs: its trials ran 1 epoch (6 of 6 complete ones): there is no "
        "earlier epoch to rank against the last",
        "nothing to rank: give another study of the same space (--against), or retrain trials (search.final)",
    ]


@pytest.mark.parametrize("command", ["search.fidelity", "search.pruners", "search.run"])
def test_the_default_first_rung_in_the_help_is_search_runs(command, tmp_path):
    """The help says what the code does: FIRST_RUNG_SHARE, never a number of its own."""
    result = run_module(command, "--help", cwd=tmp_path, timeout=60)
    words = " ".join(result.stdout.split())
    share = f"{FIRST_RUNG_SHARE:.0%}"
    example = default_min_resource(DEFAULT_EPOCHS)
    assert f"{share} of the epochs, rounded up, before the last: epoch {example} of {DEFAULT_EPOCHS}" in words
    assert "half" not in words
