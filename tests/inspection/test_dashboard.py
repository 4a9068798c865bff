"""python -m search.dashboard against the fixture study: its HTTP API, and pages in headless Chromium.

The browser tests use Debian's chromium and chromium-driver through selenium; nothing
downloads a browser.  Where Chromium is absent they are skipped with the reason (and
`make test` installs it where apt-get exists).  Screenshots go to pytest's temporary folder (screenshots0/;
`pytest --basetemp DIR` puts it in DIR), for a reviewer to open.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pytest

from search.inspection import IMPORTANCE_LINE
from search.inspection._dashboard import WRAP_STYLE
from support import STUDY, TINY, InspectionStudy, assert_one_line_error, command_env, python_module, run_module

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


@dataclass(frozen=True)
class Dashboard:
    url: str  # http://127.0.0.1:PORT
    study_id: int
    output: Path  # the command's stdout
    fixture: InspectionStudy


@contextmanager
def serving(folder: Path, out: Path, study: str) -> Iterator[tuple[str, int]]:
    """search.dashboard run in ``folder`` with its default storage, until the block ends: (its URL, ``study``'s id)."""
    port = free_port()
    with open(out, "w") as stdout, open(out.with_name("stderr"), "w") as stderr:
        # No --storage: the default storage of a plain search.run in that folder, and its artifact store.
        process = subprocess.Popen(
            python_module("search.dashboard", "--port", str(port)),
            cwd=folder,
            env=command_env(),
            stdout=stdout,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, out.read_text() + out.with_name("stderr").read_text()
            try:
                studies = get_json(f"{url}/api/studies")["study_summaries"]
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the dashboard did not answer within 60 s"
                time.sleep(0.3)
        yield url, next(s["study_id"] for s in studies if s["study_name"] == study)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory, inspection_study: InspectionStudy) -> Iterator[Dashboard]:
    out = tmp_path_factory.mktemp("dashboard") / "stdout"
    with serving(inspection_study.folder, out, STUDY) as (url, study_id):
        yield Dashboard(url, study_id, out, inspection_study)


@dataclass(frozen=True)
class ParetoDashboard:
    url: str
    study_id: int
    study: optuna.Study


@pytest.fixture(scope="module")
def pareto_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParetoDashboard]:
    """A two-objective study made by search.run (two tiny trials), served by search.dashboard."""
    folder = tmp_path_factory.mktemp("pareto-dashboard")
    made = run_module(
        "search.run", "--study", "pareto", "--objective", "accuracy,energy", "--trials", "2", "--no-thesis",
        "--seed", "0", *TINY, cwd=folder,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    study = optuna.load_study(study_name="pareto", storage=f"sqlite:///{folder}/studies/optuna.db")
    with serving(folder, folder / "dashboard.out", "pareto") as (url, study_id):
        yield ParetoDashboard(url, study_id, study)


@pytest.mark.slow
def test_dashboard_listens_on_localhost_and_prints_the_url(dashboard: Dashboard) -> None:
    port = dashboard.url.rsplit(":", 1)[1]
    assert f"open http://127.0.0.1:{port}/dashboard/" in dashboard.output.read_text()


def test_api_shows_study_trials_user_attributes_note_and_artifacts(dashboard: Dashboard) -> None:
    study = optuna.load_study(study_name=STUDY, storage=dashboard.fixture.storage)
    detail = get_json(f"{dashboard.url}/api/studies/{dashboard.study_id}")
    assert detail["name"] == STUDY
    assert detail["objective_names"] == ["validation accuracy"]
    assert [t["number"] for t in detail["trials"]] == [t.number for t in study.trials]
    first = detail["trials"][0]
    attrs = {a["key"]: a["value"] for a in first["user_attrs"]}
    assert {"config", "history", "best_val_acc", "thesis_preset", "versions"} <= set(attrs)
    assert attrs["thesis_preset"] == "baseline"
    assert first["values"] == [study.trials[0].value]
    assert first["intermediate_values"]
    study_attrs = {a["key"] for a in detail["user_attrs"]}
    assert {"settings", "data", "final_result", "final_artifacts"} <= study_attrs
    assert "### Search space" in detail["note"]["body"]
    figure_ids = {g["id"] for g in detail["plotly_graph_objects"]}
    assert {"final-learning-curves", "final-confusion-matrix"} <= figure_ids
    assert {"search-by-strategy", "search-accuracy-energy"} <= figure_ids  # saved by search.run
    retrain = study.user_attrs["final_result"]["folder"]  # e.g. trial-2-1ep-500img
    artifacts = {a["filename"]: a["artifact_id"] for a in detail["artifacts"]}
    assert {f"{retrain}.result.json", f"{retrain}.model.pt"} <= set(artifacts)
    with urllib.request.urlopen(
        f"{dashboard.url}/artifacts/{dashboard.study_id}/{artifacts[f'{retrain}.result.json']}"
    ) as r:
        final = dashboard.fixture.results / "final" / retrain / "result.json"
        assert r.read() == final.read_bytes()


def test_thesis_recipes_and_energy_are_plain_columns_in_the_api(dashboard: Dashboard) -> None:
    """The trial table and the history plot read plain user attributes: where a configuration came from,
    and its energy in microjoules, as the commands print it."""
    study = optuna.load_study(study_name=STUDY, storage=dashboard.fixture.storage)
    detail = get_json(f"{dashboard.url}/api/studies/{dashboard.study_id}")
    by_number = {t["number"]: {a["key"]: a["value"] for a in t["user_attrs"]} for t in detail["trials"]}
    for trial in study.trials:
        attrs = by_number[trial.number]
        expected = f"thesis {trial.user_attrs['thesis_preset']}" if "thesis_preset" in trial.user_attrs else "searched"
        assert attrs["origin"] == expected
        energy = trial.user_attrs["energy"]["compute_energy_pj_per_image"]
        assert float(attrs["energy_uJ"]) == pytest.approx(energy / 1e6, abs=1e-4)
    sortable = {a["key"] for a in detail["union_user_attrs"] if a["sortable"]}
    assert "energy_uJ" in sortable  # so the dashboard's history plot can show it per trial
    notes = {t["number"]: t["note"]["body"] for t in detail["trials"]}
    thesis = [t.number for t in study.trials if "thesis_preset" in t.user_attrs]
    assert thesis and all("the thesis's own recipe" in notes[n] for n in thesis)
    retrained = study.user_attrs["final_result"]["trial"]
    assert all(notes[t.number] == "" for t in study.trials if t.number not in thesis and t.number != retrained)
    assert "### Final retrain trial-" in notes[retrained]  # its files, linked (test_a_retrained_trial_...)


@pytest.mark.slow
def test_a_two_objective_study_shows_energy_in_microjoules_in_the_api(pareto_dashboard: ParetoDashboard) -> None:
    """optuna-dashboard plots the stored objectives: a new study stores energy in the commands' unit."""
    detail = get_json(f"{pareto_dashboard.url}/api/studies/{pareto_dashboard.study_id}")
    assert detail["objective_names"] == ["validation accuracy", "compute energy per image (µJ)"]
    for shown, trial in zip(detail["trials"], pareto_dashboard.study.trials, strict=True):
        energy = trial.user_attrs["energy"]["compute_energy_pj_per_image"]
        assert shown["values"][1] == pytest.approx(energy / 1e6)
        assert 1 < shown["values"][1] < 1000  # microjoules per image, not picojoules


def test_dashboard_errors_are_one_line(tmp_path: Path, dashboard: Dashboard) -> None:
    missing = run_module("search.dashboard", "--storage", f"sqlite:///{tmp_path}/none.db", cwd=tmp_path)
    assert missing.returncode == 1
    assert "does not exist" in assert_one_line_error(missing.stderr)
    assert list(tmp_path.iterdir()) == []
    port = dashboard.url.rsplit(":", 1)[1]
    busy = run_module(
        "search.dashboard", "--storage", dashboard.fixture.storage, "--port", port, cwd=dashboard.fixture.folder
    )
    assert busy.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in assert_one_line_error(busy.stderr)


# --- in a real browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/lib/chromium/chromedriver" if os.path.exists("/usr/lib/chromium/chromedriver") else None
    )
    if chromium is None or driver is None:
        pytest.skip(
            "headless Chromium not installed (Debian: apt-get install chromium chromium-driver; "
            "`make test-deps` does it)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed: pip install -e '.[test]'")
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    chrome.set_page_load_timeout(60)
    chrome.shots = tmp_path_factory.mktemp("screenshots")  # where every screenshot of these tests goes
    try:
        yield chrome
    finally:
        chrome.quit()


def wait_for(chrome: Any, condition: str, what: str, timeout: float = 30) -> Any:
    """Poll a JavaScript expression until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = chrome.execute_script(f"return {condition};")
        if value:
            return value
        if time.monotonic() > deadline:
            chrome.save_screenshot(str(chrome.shots / "timeout.png"))
            pytest.fail(f"timed out waiting for {what} (screenshot in {chrome.shots / 'timeout.png'})")
        time.sleep(0.25)


def console_errors(chrome: Any) -> list[str]:
    return [entry["message"] for entry in chrome.get_log("browser") if entry["level"] == "SEVERE"]


def full_page_screenshot(chrome: Any, path: Path) -> None:
    height = chrome.execute_script("return document.documentElement.scrollHeight")
    chrome.set_window_size(1400, min(int(height) + 100, 16000))
    time.sleep(0.5)  # let plotly's responsive figures follow the new width and height
    chrome.save_screenshot(str(path))
    chrome.set_window_size(1400, 1000)


RENDERED_PLOTS = "document.querySelectorAll('.js-plotly-plot .main-svg').length"


@pytest.mark.slow
def test_study_page_renders_in_chromium(browser: Any, dashboard: Dashboard) -> None:
    study = optuna.load_study(study_name=STUDY, storage=dashboard.fixture.storage)
    browser.get(f"{dashboard.url}/dashboard/studies/{dashboard.study_id}")
    # History, importance, timeline and our two final figures, each drawn as SVG.
    wait_for(browser, f"{RENDERED_PLOTS} >= 5", "the study page's charts")
    wait_for(
        browser, f"document.body.innerText.includes({json.dumps(str(study.best_value))})", "the best trial's value"
    )
    text = browser.find_element("tag name", "body").text
    assert f"{STUDY} (id={dashboard.study_id})" in text
    assert "Best Trial (number=" in text and "Study User Attributes" in text
    assert "Final retrain of trial" in text  # the figures search.final saved
    assert "result.json" in text and "model.pt" in text  # study artifacts, downloadable
    full_page_screenshot(browser, browser.shots / "dashboard-study.png")
    assert console_errors(browser) == []


@pytest.mark.slow
def test_trials_and_note_pages_render_in_chromium(browser: Any, dashboard: Dashboard) -> None:
    browser.get(f"{dashboard.url}/dashboard/studies/{dashboard.study_id}/trials")
    wait_for(browser, "document.body.innerText.includes('User Attributes')", "the trial list")
    text = browser.find_element("tag name", "body").text
    assert "Trial 0" in text and "thesis_preset" in text and "best_val_acc" in text
    browser.save_screenshot(str(browser.shots / "dashboard-trials.png"))
    browser.get(f"{dashboard.url}/dashboard/studies/{dashboard.study_id}/note")
    wait_for(browser, "document.body.innerText.includes('Search space')", "the study note")
    text = browser.find_element("tag name", "body").text
    assert "Budget" in text and "Data split" in text and "validation accuracy" in text
    browser.save_screenshot(str(browser.shots / "dashboard-note.png"))
    assert console_errors(browser) == []


def test_pages_get_the_wrapping_style_and_the_api_is_untouched(dashboard: Dashboard) -> None:
    with urllib.request.urlopen(f"{dashboard.url}/dashboard/studies/{dashboard.study_id}") as page:
        assert WRAP_STYLE.decode() in page.read().decode()
    assert get_json(f"{dashboard.url}/api/studies")["study_summaries"]
    assert IMPORTANCE_LINE in dashboard.output.read_text()
    stderr = dashboard.output.with_name("stderr").read_text()
    get_json(f"{dashboard.url}/api/studies/{dashboard.study_id}/param_importances")
    assert "Some regimes" not in stderr + dashboard.output.with_name("stderr").read_text()


@pytest.mark.slow
def test_a_retrained_trial_links_its_files_and_nothing_runs_off_the_page_in_chromium(
    browser: Any, dashboard: Dashboard
) -> None:
    study = optuna.load_study(study_name=STUDY, storage=dashboard.fixture.storage)
    headline = study.user_attrs["final_result"]
    browser.get(f"{dashboard.url}/dashboard/studies/{dashboard.study_id}/trials?numbers={headline['trial']}")
    wait_for(browser, "document.body.innerText.includes('Final retrain trial-')", "the retrained trial's note")
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('a')).filter(a => a.href.includes('/artifacts/'))"
        ".map(a => [a.textContent, a.href]);"
    )
    folder = headline["folder"]
    assert {name for name, _ in links} == {f"{folder}.result.json", f"{folder}.model.pt"}
    href = next(h for name, h in links if name.endswith(".result.json"))
    with urllib.request.urlopen(href) as r:
        assert r.read() == (dashboard.fixture.results / "final" / folder / "result.json").read_bytes()
    # The long user attributes (config, energy, history) wrap inside the page instead of running off it.
    wide = browser.execute_script(
        "return Array.from(document.querySelectorAll('p')).filter(p => p.textContent.startsWith('config '))"
        ".map(p => p.scrollWidth - p.closest('div[class*=MuiBox]').parentElement.clientWidth);"
    )
    assert wide and max(wide) <= 0, wide
    full_page_screenshot(browser, browser.shots / "dashboard-retrained-trial.png")
    browser.get(f"{dashboard.url}/dashboard/studies/{dashboard.study_id}")
    wait_for(browser, "document.body.innerText.includes('PED-ANOVA')", "the importance figure naming its evaluator")
    assert console_errors(browser) == []


@pytest.mark.slow
def test_thesis_recipes_and_energy_in_microjoules_show_in_chromium(browser: Any, dashboard: Dashboard) -> None:
    study = optuna.load_study(study_name=STUDY, storage=dashboard.fixture.storage)
    for trial in study.trials:
        thesis = "thesis_preset" in trial.user_attrs
        browser.get(f"{dashboard.url}/dashboard/studies/{dashboard.study_id}/trials?numbers={trial.number}")
        wait_for(browser, "document.body.innerText.includes('User Attributes')", f"trial {trial.number}'s page")
        text = browser.find_element("tag name", "body").text
        origin = f"thesis {trial.user_attrs['thesis_preset']}" if thesis else "searched"
        assert f"origin {origin}" in text
        assert ("the thesis's own recipe" in text) == thesis  # the trial's note, above its value
        assert f"energy_uJ {trial.user_attrs['energy_uJ']}" in text
        if thesis:
            full_page_screenshot(browser, browser.shots / "dashboard-thesis-trial.png")
    browser.get(f"{dashboard.url}/dashboard/studies/{dashboard.study_id}")
    wait_for(
        browser,
        "document.body.innerText.includes('stars: the thesis') && "
        "document.body.innerText.includes('energy per image (µJ')",
        "search.run's figures on the study page",
    )
    assert console_errors(browser) == []


@pytest.mark.slow
def test_the_pareto_plot_of_a_two_objective_study_reads_microjoules_in_chromium(
    browser: Any, pareto_dashboard: ParetoDashboard
) -> None:
    browser.get(f"{pareto_dashboard.url}/dashboard/studies/{pareto_dashboard.study_id}")
    # The Pareto front is the page's first plot; its objectives are named in the selectors beside it.
    wait_for(
        browser,
        f"document.body.innerText.includes('Pareto Front') && {RENDERED_PLOTS} >= 1 && "
        "document.body.innerText.includes('compute energy per image (µJ)')",
        "the Pareto front plot with the energy objective",
    )
    assert "(pJ)" not in browser.find_element("tag name", "body").text
    energy_ticks = browser.execute_script(
        "return Array.from(document.querySelector('.js-plotly-plot').querySelectorAll('.ytick text'))"
        ".map(t => t.textContent);"
    )
    # Microjoules per image read 25.06; picojoules would read 25.06M.
    assert energy_ticks and all(1 < float(t) < 1000 for t in energy_ticks), energy_ticks
    full_page_screenshot(browser, browser.shots / "dashboard-pareto.png")
    assert console_errors(browser) == []


@pytest.mark.slow
def test_report_renders_offline_in_chromium(browser: Any, dashboard: Dashboard) -> None:
    fx = dashboard.fixture
    result = run_module("search.report", "--storage", fx.storage, cwd=fx.folder, timeout=120)
    assert result.returncode == 0, result.stderr
    report = fx.results / "report.html"
    figures = report.read_text().count('<div id="fig-')
    assert figures == 11  # 8 of the search (accuracy against energy among them), 3 of the (reduced) final retrain
    browser.get(report.as_uri())
    wait_for(
        browser,
        f"document.querySelectorAll('.js-plotly-plot').length === {figures} && "
        f"Array.from(document.querySelectorAll('.js-plotly-plot'))"
        f".every(d => d.querySelector('svg.main-svg'))",
        "every figure of the report",
    )
    # Every figure drew its data (bars, markers, lines or heatmap cells), not just empty axes.
    empty = browser.execute_script(
        "return Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".filter(d => !d.querySelector('g.trace, image'))"
        ".map(d => d.id)"
    )
    assert empty == []
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in loaded if not u.startswith(("file:", "data:", "blob:"))] == []
    assert console_errors(browser) == []
    full_page_screenshot(browser, browser.shots / "report.png")
    bars, names = browser.execute_script(
        "const f = document.getElementById('fig-param-importances');"
        "return [f.data[0].y.length, Array.from(f.querySelectorAll('.ytick text')).map(t => t.textContent)];"
    )
    assert len(names) == bars and sorted(names) == sorted(browser.execute_script(
        "return document.getElementById('fig-param-importances').data[0].y;"))  # fmt: skip
    # Every axis name of the parallel coordinates lies inside its figure (none cut at the left edge).
    outside = browser.execute_script(
        "const f = document.getElementById('fig-parallel-coordinate'); const box = f.getBoundingClientRect();"
        "return Array.from(f.querySelectorAll('.xtick text')).map(t => t.getBoundingClientRect())"
        ".filter(r => r.left < box.left || r.right > box.right || r.bottom > box.bottom).length;"
    )
    assert outside == 0
    for anchor in ("param-importances", "parallel-coordinate", "optimization-history", "timeline", "accuracy-energy"):
        browser.find_element("id", anchor).screenshot(str(browser.shots / f"report-{anchor}.png"))
