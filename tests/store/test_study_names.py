"""Study names and where results go: refusals, hostile names already in a storage, storages side by side.

A study name becomes a folder, so every command that takes ``--study`` refuses a name that
is not a safe folder name; a name that another tool put into a storage gets a hashed folder
inside the results folder, never a path built from it.  Results live beside their storage,
so two storages never write into each other's folders.
"""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

from search.store import DEFAULT_STORAGE, DEFAULT_STUDY, open_storage, results_root, study_dir
from search.store._paths import ARTIFACTS_FOLDER, MAX_STUDY_NAME, study_folder_name
from search.training import TrainVal
from search.tuning._settings import SpaceSettings, StudySettings
from search.tuning._study import create_study
from support import assert_one_line_error, fork_run, make_storage, run_module, tree

COMMANDS_WITH_STUDY = ["search.run", "search.final", "search.report", "search.pruners", "search.fidelity"]
# (bad name, what the refusal says)
BAD_NAMES = [
    ("", "a study name cannot be empty, got ''"),
    ("a/b", "a study name cannot hold '/' or '\\' (it names a folder), got 'a/b'"),
    ("a\\b", "a study name cannot hold '/' or '\\' (it names a folder), got 'a\\\\b'"),
    ("../escape", "a study name cannot hold '/' or '\\'"),
    ("a..b", "a study name cannot hold '..', got 'a..b'"),
    ("..", "a study name cannot hold '..'"),
    (".hidden", "a study name cannot start with '.', got '.hidden'"),
    (
        "x" * (MAX_STUDY_NAME + 1),
        f"a study name has at most {MAX_STUDY_NAME} characters, this one has {MAX_STUDY_NAME + 1}",
    ),
    ("a\tb", "a study name cannot hold control characters, got 'a\\tb'"),
    ("a\nb", "a study name cannot hold control characters, got 'a\\nb'"),
    ("a\x1bb", "a study name cannot hold control characters"),
    (" lead", "a study name cannot start or end with a space"),
    ("trail ", "a study name cannot start or end with a space"),
]
HASHED = re.compile(r"study-[0-9a-f]{12}")


@pytest.mark.slow
@pytest.mark.parametrize("module", COMMANDS_WITH_STUDY)
@pytest.mark.parametrize(("name", "says"), BAD_NAMES, ids=[f"bad{i}" for i in range(len(BAD_NAMES))])
def test_a_bad_study_name_is_refused_in_one_line_and_creates_nothing(
    module: str, name: str, says: str, tmp_path: Path
) -> None:
    result = fork_run(module, "--study", name, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = assert_one_line_error(result.stderr, starts_with=f"python -m {module}: error: argument --study: ")
    assert says in line and line.endswith("(see --help)"), line
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module", [*COMMANDS_WITH_STUDY, "search.dashboard", "search.train", "search.bench"])
def test_no_command_takes_an_abbreviated_flag(module: str, tmp_path: Path) -> None:
    """``--stor`` is not ``--storage`` (nor ``search.run --trial 5`` its ``--trials 5``)."""
    result = fork_run(module, "--stor", "sqlite:///x.db", cwd=tmp_path)
    assert result.returncode == 2
    line = assert_one_line_error(result.stderr, starts_with=f"python -m {module}: error: ")
    assert "unrecognized arguments: --stor" in line
    assert list(tmp_path.iterdir()) == []


def test_search_run_does_not_take_trial_for_trials(tmp_path: Path) -> None:
    result = fork_run("search.run", "--trial", "5", "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "unrecognized arguments: --trial 5" in assert_one_line_error(result.stderr, "python -m search.run: error:")
    assert list(tmp_path.iterdir()) == []


# --- folders ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../escape", "a/b", "/etc", "..", ".", "", "a\\..\\b", "x" * 500, "a\x00b", ARTIFACTS_FOLDER, " pad "]
)
def test_an_unsafe_name_gets_a_hashed_folder_inside_the_results(name: str, tmp_path: Path) -> None:
    folder = study_dir(tmp_path, name)
    assert folder.parent == tmp_path
    assert HASHED.fullmatch(folder.name), folder.name
    assert study_folder_name(name) == folder.name  # the same name always finds the same folder
    assert study_folder_name(name + "x") != folder.name


def test_a_safe_name_is_its_own_folder(tmp_path: Path) -> None:
    for name in (DEFAULT_STUDY, "probe-2", "my study", "a.b", "x" * MAX_STUDY_NAME):
        assert study_dir(tmp_path, name) == tmp_path / name


def test_results_live_beside_their_storage(tmp_path: Path) -> None:
    assert results_root(DEFAULT_STORAGE) == Path("studies") / "optuna"
    a, b = results_root(f"sqlite:///{tmp_path}/a.db"), results_root(f"sqlite:///{tmp_path}/b.db")
    assert (a, b) == (tmp_path / "a", tmp_path / "b")
    assert study_dir(a, DEFAULT_STUDY) != study_dir(b, DEFAULT_STUDY)
    assert results_root(f"sqlite:///{tmp_path}/a.db", tmp_path / "elsewhere") == tmp_path / "elsewhere"
    server = results_root("postgresql+psycopg://u:pw@db.example:5432/optuna")
    assert server.parent == Path("studies") and "pw" not in str(server) and "db.example" in str(server)


@pytest.mark.slow
def test_two_storages_in_one_folder_keep_their_reports_apart(tmp_path: Path) -> None:
    """Two SQLite files with a study of the same name: each report lands beside its own storage."""
    for db in ("a", "b"):
        make_storage(tmp_path / f"{db}.db", {DEFAULT_STUDY: 2})
    pages = {}
    for db in ("a", "b"):
        result = run_module("search.report", "--storage", f"sqlite:///{db}.db", cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
        pages[db] = (tmp_path / db / DEFAULT_STUDY / "report.html").read_text()
        assert f"sqlite:///{db}.db" in pages[db]
    assert pages["a"] != pages["b"]
    assert not (tmp_path / "studies").exists()
    moved = run_module(
        "search.report", "--storage", "sqlite:///a.db", "--results-dir", "out", cwd=tmp_path, timeout=120
    )
    assert moved.returncode == 0, moved.stderr
    assert (tmp_path / "out" / DEFAULT_STUDY / "report.html").is_file()


def test_sqlite_files_of_one_name_and_another_suffix_get_their_own_results_folders() -> None:
    roots = {suffix: results_root(f"sqlite:///s/optuna{suffix}") for suffix in (".db", ".sqlite", ".sqlite3", "")}
    assert roots[".db"] == Path("s/optuna")  # the documented default layout, unchanged
    assert roots[".sqlite"] == Path("s/optuna.sqlite-results")
    assert len(set(roots.values())) == len(roots)


# --- a hostile name already in a storage ---------------------------------------------------------------


@pytest.mark.slow
def test_final_and_report_keep_a_hostile_study_inside_the_results_folder(tmp_path: Path) -> None:
    """A study '../escape' made with Optuna directly, the best of its storage: final and report
    (--study best) read it and write into <results>/study-<hash>/, nowhere else."""
    work = tmp_path / "work"
    storage = make_storage(work / "db" / "s.db", {"fine": 1, "../escape": 3})
    results = work / "db" / "s"
    before = tree(tmp_path)
    final = run_module(
        "search.final", "--storage", storage, "--study", "best", "--train-size", "300", "--epochs", "1", cwd=work
    )
    assert final.returncode == 0, final.stderr
    assert "--study best: picked '../escape'" in final.stdout
    report = run_module("search.report", "--storage", storage, "--study", "best", cwd=work, timeout=120)
    assert report.returncode == 0, report.stderr
    folder = study_dir(results, "../escape")
    assert HASHED.fullmatch(folder.name)
    assert (folder / "report.html").is_file()
    best = optuna.load_study(study_name="../escape", storage=storage).best_trial.number
    assert (folder / "final" / f"trial-{best}-1ep-300img" / "result.json").is_file()
    new = set(tree(tmp_path)) - set(before)
    outside = [p for p in new if not p.startswith(("work/db/s/", "work/db/s.db")) and p != "work/db/s"]
    assert outside == [], outside
    assert not [p for p in tree(tmp_path) if "escape" in p]


@pytest.mark.slow
def test_report_of_a_name_with_a_slash_gets_a_hashed_folder(tmp_path: Path) -> None:
    storage = make_storage(tmp_path / "team.db", {"team/alpha": 1})
    result = run_module("search.report", "--storage", storage, "--study", "best", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "picked 'team/alpha'" in result.stdout
    folders = [p.name for p in (tmp_path / "team").iterdir()]
    assert len(folders) == 1 and HASHED.fullmatch(folders[0]), folders
    assert (tmp_path / "team" / folders[0] / "report.html").is_file()
    assert not (tmp_path / "team" / "team").exists()


# --- --show-space of a stored study -------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_show_space_shows_the_stored_study_and_a_new_one(tmp_path: Path, small_data: TrainVal) -> None:
    """A study created with 2 epochs shows its own space, not the defaults; an unknown one the space it would get."""
    url = f"sqlite:///{tmp_path}/s.db"
    create_study(open_storage(url, create=True), "short", StudySettings(space=SpaceSettings(epochs=2)), small_data)
    stored = fork_run("search.run", "--show-space", "--study", "short", "--storage", url, cwd=tmp_path)
    assert stored.returncode == 0, stored.stderr
    lines = stored.stdout.splitlines()
    assert lines[0] == f"study 'short' as stored in {url}"
    assert "step_size int [1, 2]" in stored.stdout and "epochs per trial: 2 " in stored.stdout
    before = tree(tmp_path)
    new = fork_run("search.run", "--show-space", "--study", "later", "--storage", url, "--epochs", "4", cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    assert new.stdout.splitlines()[0] == "study 'later' does not exist yet: the space it would be created with"
    assert "step_size int [1, 4]" in new.stdout
    missing = fork_run("search.run", "--show-space", "--storage", f"sqlite:///{tmp_path}/none.db", cwd=tmp_path)
    assert missing.returncode == 0, missing.stderr
    assert missing.stdout.startswith(f"study '{DEFAULT_STUDY}' does not exist yet")
    assert tree(tmp_path) == before  # --show-space creates neither a study nor a storage
