"""A learner's first minute, in a real browser: JupyterLab started by binder/start, the first
lesson run from the Run menu, and the Prefect UI opened from the launcher through the proxy.

Headless Chromium from Debian (`/usr/bin/chromium`) driven by Playwright. Screenshots go to
test-artifacts/. Without Chromium the tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from github_stars.lab.prefect_ui import CHROMIUM, CHROMIUM_ARGS  # as the book's screenshots
from github_stars.simulator import free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[1]
LESSON = "00_start.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
START_TIMEOUT = 240  # binder/start waits for the Prefect server (docs/decisions.md: timeouts)
LESSON_TIMEOUT = 240_000  # ms, the whole lesson
# JupyterLab settings for a quiet, deterministic session: no news/update pop-ups, and every
# cell kept in the page (no windowing) so outputs of cells off screen can be checked.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@dataclass
class Lab:
    """A running JupyterLab (and what binder/start started with it)."""

    url: str
    token: str
    notebook_dir: Path
    prefect_api_url: str

    def at(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}?token={self.token}"


def lab_environment(tmp: Path, ports: dict[str, int]) -> dict[str, str]:
    """Our own ports and state directories; nothing inherited from the test session's servers."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "JUPYTER", "GITHUB_"))
    }
    settings_dir = tmp / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (settings_dir / name).write_text(json.dumps(values))
    return env | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PREFECT_HOME": str(tmp / "prefect-home"),
        "PREFECT_SERVER_API_PORT": str(ports["prefect"]),
        "GITHUB_STARS_SIMULATOR_PORT": str(ports["simulator"]),
        "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter-runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "lab-workspaces"),
    }


def wait_for_lab(url: str, token: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"binder/start + JupyterLab exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM to JupyterLab; binder/start's servers stop with it. Then the rest of its group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    time.sleep(2)  # binder/start's watchers notice JupyterLab is gone within a second
    with contextlib.suppress(ProcessLookupError):  # whatever of this group is still alive
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, seed_prefect_home) -> Iterator[Lab]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} not found: install Debian's chromium package "
            "(apt-get install chromium chromium-driver) to run the browser tests"
        )
    tmp = tmp_path_factory.mktemp("lab")
    seed_prefect_home(tmp / "prefect-home")  # its database created, as Binder's postBuild does
    notebook_dir = tmp / "notebooks"  # a copy: JupyterLab saves outputs into what it runs
    shutil.copytree(
        ROOT / "notebooks",
        notebook_dir,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "output"),
    )
    ports = {"lab": free_port(), "prefect": free_port(), "simulator": free_port()}
    token = secrets.token_hex(16)
    command = [
        str(ROOT / "binder" / "start"),
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={ports['lab']}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={notebook_dir}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = tmp / "lab.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            env=lab_environment(tmp, ports),
            cwd=notebook_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{ports['lab']}"
    try:
        wait_for_lab(url, token, process, log)
        yield Lab(url, token, notebook_dir, f"http://127.0.0.1:{ports['prefect']}/prefect-ui/api")
    finally:
        stop_process_group(process)


@pytest.fixture(scope="module")
def browser(lab: Lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def lab_page(browser, lab: Lab):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    yield page
    page.close()


def code_cells_done(page, cells: int, hidden: int) -> bool:
    """True when every code cell whose input shows has an execution count (none pending: `[*]`
    or `[ ]`); a cell whose input is collapsed (a hidden solution) shows no prompt at all."""
    prompts = [p.strip() for p in page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]
    shown = [p for p in prompts if p]
    return (
        len(prompts) == cells
        and len(shown) == cells - hidden
        and all(re.fullmatch(r"\[\d+\]:", p) for p in shown)
    )


def fail_with_page(page, why: str) -> None:
    """Fail with what the learner would see: a screenshot and the page's dialogs and status."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "jupyterlab-failure.png"
    page.screenshot(path=shot)
    dialogs = page.locator(".jp-Dialog").all_inner_texts()
    status = page.locator("#jp-main-statusbar").all_inner_texts()
    pytest.fail(f"{why}; dialogs: {dialogs}; status bar: {status}; screenshot: {shot}")


def run_all_cells(page) -> None:
    """Run > Run All Cells once the notebook's kernel is idle; answer "Select Kernel" if
    JupyterLab asks (it does when the kernel is slow to start).

    The toolbar's execution indicator says "idle" before any kernel exists, so readiness is
    read from the status bar ("Python 3 (ipykernel) | Idle").
    """
    kernel_idle = page.locator("#jp-main-statusbar", has_text=re.compile(r"\(ipykernel\) \| Idle"))
    kernel_dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    started = page.locator(".jp-CodeCell .jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]"))
    for _attempt in range(3):
        try:
            kernel_idle.or_(kernel_dialog).first.wait_for(timeout=120_000)
        except PlaywrightTimeout:
            fail_with_page(page, "the notebook's kernel did not become idle")
        if kernel_dialog.is_visible():
            kernel_dialog.get_by_role("button", name="Select").click()
            kernel_dialog.wait_for(state="detached", timeout=30_000)
            continue
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        try:
            started.first.wait_for(timeout=30_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")  # close a menu left open, then look again
    fail_with_page(page, "JupyterLab did not start running the lesson")


@pytest.fixture(scope="module")
def finished_lesson(lab: Lab, lab_page):
    """The first lesson opened in JupyterLab, run with Run > Run All Cells, then saved."""
    page = lab_page
    lesson = nbformat.read(lab.notebook_dir / LESSON, as_version=4)
    code_cells = sum(cell.cell_type == "code" for cell in lesson.cells)
    hidden = sum(
        cell.cell_type == "code" and cell.metadata.get("jupyter", {}).get("source_hidden", False)
        for cell in lesson.cells
    )
    page.goto(lab.at(f"lab/tree/{LESSON}"))
    run_all_cells(page)
    deadline = time.monotonic() + LESSON_TIMEOUT / 1000
    while not code_cells_done(page, code_cells, hidden):
        if time.monotonic() > deadline:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / "jupyterlab-lesson-00-unfinished.png")
            prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
            pytest.fail(f"the lesson did not finish in time; prompts: {prompts}")
        page.wait_for_timeout(500)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
    page.locator(".jp-Notebook").click()
    page.keyboard.press("Control+s")
    page.locator(".jp-mod-dirty").wait_for(state="detached", timeout=30_000)
    return page, nbformat.read(lab.notebook_dir / LESSON, as_version=4), code_cells


def test_the_first_lesson_runs_in_jupyterlab_and_shows_its_chart(finished_lesson):
    page, saved, code_cells = finished_lesson
    errors = [
        out
        for cell in saved.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]
    assert errors == [], errors[0].get("ename") if errors else None
    assert sum(cell.get("execution_count") is not None for cell in saved.cells) == code_cells
    shown = "\n".join(page.locator(".jp-OutputArea").all_inner_texts())
    assert "Traceback (most recent call last)" not in shown

    charts = page.locator(".jp-OutputArea-output img")
    assert charts.count() >= 1
    chart = charts.first
    chart.scroll_into_view_if_needed()
    assert chart.is_visible()
    width = chart.evaluate("img => img.naturalWidth")
    assert width > 100, "the chart image did not decode"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "jupyterlab-lesson-00.png")


def test_prefect_ui_opens_from_the_launcher_and_lists_the_lessons_flow_run(
    finished_lesson, lab: Lab, browser
):
    flow_runs = httpx.post(
        f"{lab.prefect_api_url}/flow_runs/filter",
        json={"flows": {"name": {"any_": ["show-stars"]}}},
        timeout=30,
    )
    flow_runs.raise_for_status()
    runs = flow_runs.json()
    assert runs, "the lesson's flow run is not on the Prefect server binder/start started"
    run_name, run_id = runs[0]["name"], runs[0]["id"]

    page, _, _ = finished_lesson
    page.get_by_role("menuitem", name="File", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^New Launcher")).click()
    page.locator(".jp-LauncherCard", has_text="Prefect UI").click()
    frame_element = page.locator("iframe[src*='prefect-ui']")
    frame_element.wait_for(timeout=60_000)
    frame = frame_element.content_frame
    frame.get_by_role("link", name="Runs", exact=True).first.click()
    frame.get_by_text(run_name).first.wait_for(timeout=60_000)
    frame.get_by_text("show-stars").first.wait_for(timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "jupyterlab-prefect-ui.png")

    # The flow run's own page through the proxy: where the "View at ..." log lines point.
    ui = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        ui.goto(lab.at(f"prefect-ui/runs/flow-run/{run_id}"))
        ui.get_by_text(run_name).first.wait_for(timeout=60_000)
        ui.get_by_text("Completed").first.wait_for(timeout=60_000)
        ui.get_by_text("show-stars").first.wait_for(timeout=60_000)  # the flow, and its logs
        ui.get_by_text(f"Beginning flow run '{run_name}'").first.wait_for(timeout=60_000)
        ui.screenshot(path=ARTIFACTS / "prefect-ui-flow-run.png")
    finally:
        ui.close()
