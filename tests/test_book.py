"""The book of the lessons (book/, Jupyter Book 1.x; `make book` builds it executed).

- A fast build without executing anything, with warnings as errors: a broken cross-link,
  table-of-contents entry, heading or config fails here, long before the (slow) executed
  build in `make book` or the Pages workflow would.
- Lesson 01 built executed (against this session's simulator and Prefect server, from
  conftest.py), opened in headless Chromium: its chart is visible, no cell failed, and
  Prefect's log lines wrap. Screenshot: test-artifacts/book-lesson-01.png.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS  # one set of browser settings

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = ROOT / "notebooks"
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
LESSON = "01_retries"

# `make install` / `make test` install it (requirements-book.txt); a bare
# `pip install -r requirements.txt` does not.
pytest.importorskip("jupyter_book", reason="pip install -r requirements-book.txt")


def lessons() -> list[Path]:
    """Every notebook that must be a page: the lessons and the appendix (not solutions/)."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def build(tmp: Path, execute: dict) -> tuple[subprocess.CompletedProcess, Path]:
    """`jupyter-book build book -W -n --keep-going` with book/_config.yml's `execute`
    section updated by `execute`, into tmp. Returns the process and the HTML folder."""
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    config["execute"] = config.get("execute", {}) | execute
    config_file = tmp / "_config.yml"
    config_file.write_text(yaml.safe_dump(config))
    started = time.monotonic()
    result = subprocess.run(
        [
            str(JUPYTER_BOOK),
            "build",
            str(BOOK),
            "--config",
            str(config_file),
            "--path-output",
            str(tmp),
            "-W",
            "-n",
            "--keep-going",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"PATH": f"{JUPYTER_BOOK.parent}{os.pathsep}{os.environ['PATH']}"},
    )
    print(f"jupyter-book build: {time.monotonic() - started:.1f} s, exit code {result.returncode}")
    return result, tmp / "_build" / "html"


def problems(result: subprocess.CompletedProcess) -> str:
    """The warnings and errors of a build (ANSI colours removed), or its tail."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    lines = [
        line
        for line in text.splitlines()
        if re.search(r"WARNING|ERROR|Error|Exception", line) and "IPKernelApp" not in line
    ]
    return "\n".join(lines) or text[-3000:]


@pytest.fixture(scope="module")
def unexecuted_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result, html = build(tmp_path_factory.mktemp("book"), {"execute_notebooks": "off"})
    clean = result.returncode == 0
    assert clean, f"the book does not build cleanly:\n{problems(result)}"
    return html


def test_book_builds_without_warnings(unexecuted_book: Path):
    html = unexecuted_book
    assert (html / "index.html").is_file()
    pages = {path.stem for path in (html / "notebooks").glob("*.html")}
    assert pages == {notebook.stem for notebook in lessons()}, (
        "every notebook in notebooks/ (lessons, appendix) is a page, and nothing else is: "
        "add a new one to book/_toc.yml"
    )
    assert not (html / "notebooks" / "solutions").exists(), "solutions are not pages"
    landing = (html / "index.html").read_text()
    for notebook in lessons():
        assert f'href="notebooks/{notebook.stem}.html' in landing, (
            f"the landing page's lesson table does not link {notebook.name}"
        )
    assert "_static/book.css" in landing


def test_addresses_in_prose_are_not_links(unexecuted_book: Path):
    """No linkify: `127.0.0.1:4200` and `api.github.com` in the text stay text."""
    for page in [unexecuted_book / "index.html", *(unexecuted_book / "notebooks").glob("*.html")]:
        links = re.findall(r'href="([^"]*)"', page.read_text())
        bad = [
            link
            for link in links
            if re.match(r"https?://(127\.0\.0\.1|localhost|0\.0\.0\.0)", link)
            or link.startswith("http://api.github.com")
        ]
        assert bad == [], f"{page.name} links to {bad}"


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_executed_lesson_01_shows_its_chart_and_no_error(tmp_path: Path):
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} not found: install Debian's chromium package "
            "(apt-get install chromium) to run the browser tests"
        )
    from playwright.sync_api import sync_playwright

    others = [f"*{notebook.stem}*" for notebook in lessons() if notebook.stem != LESSON]
    result, html = build(tmp_path, {"execute_notebooks": "force", "exclude_patterns": others})
    clean = result.returncode == 0
    assert clean, f"lesson {LESSON} did not build executed:\n{problems(result)}"
    page_file = html / "notebooks" / f"{LESSON}.html"

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 900})
            page.goto(page_file.as_uri())
            assert (
                page.locator(".cell_output .output.traceback, .cell_output .output.error").count()
                == 0
            ), "a cell of the lesson failed"
            shown = "\n".join(page.locator(".cell_output").all_inner_texts())
            assert "CellExecutionError" not in shown
            assert "ModuleNotFoundError" not in shown

            charts = page.locator(".cell_output img")
            assert charts.count() >= 1, "the executed lesson shows no chart"
            chart = charts.first
            chart.scroll_into_view_if_needed()
            assert chart.is_visible()
            assert chart.evaluate("img => img.complete && img.naturalWidth") > 100, (
                "the chart image did not load"
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / "book-lesson-01.png")

            logs = page.locator(".cell_output .output.text_html > pre")
            if logs.count():  # Prefect's log lines (rich): wrapped, not cut at the edge
                wrap = logs.first.evaluate("pre => getComputedStyle(pre).whiteSpace")
                assert wrap == "pre-wrap"
        finally:
            chromium.close()
