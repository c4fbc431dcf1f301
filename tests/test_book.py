"""The book of the lessons (book/, Jupyter Book 1.x; `make book` builds it executed).

- A fast build without executing anything, with warnings as errors: a broken cross-link,
  table-of-contents entry, heading or config fails here, long before the (slow) executed
  build in `make book` or the Pages workflow would. The table of contents (the two parts of
  the main path, then the optional lessons) and the landing page's lesson index follow the
  lessons.
- `show_in_prefect_ui`: an address in JupyterLab; in the book build a screenshot, or an error
  that fails the build.
- Lesson 01 built executed as `make book` builds every lesson (binder/start's servers, the UI
  screenshots on), opened in headless Chromium: its chart is visible, no cell failed,
  Prefect's log lines wrap, and the page passes the executed book's checks below.
  Screenshot: test-artifacts/book-lesson-01.png.
- The executed book's checks (`executed_page_problems`), on every page of `make book`'s
  output (which runs this test after building): no Python traceback (a failure shown on
  purpose is Prefect's one-line error), no machine path, and a screenshot of the Prefect UI
  in every "Watch it in the Prefect UI" section.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS  # one set of browser settings

from github_stars.lab import prefect_ui
from github_stars.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = ROOT / "notebooks"
BUILT_BOOK = BOOK / "_build" / "html"  # `make book`
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
LESSON = "01_retries"
UI_SECTION = "Watch it in the Prefect UI"
TRACEBACK = "Traceback (most recent call last)"
# What a reader must never see: where the book happened to be built.
MACHINE_PATHS = re.compile(
    "|".join(
        [re.escape(str(ROOT)), r"/root\b", r"\.venv/", r"/tmp/", r"site-packages"]
        + ([re.escape(str(Path.home()))] if str(Path.home()) not in {"/", "/root"} else [])
    )
)

# `make install` / `make test` install it (requirements-book.txt); a bare
# `pip install -r requirements.txt` does not.
pytest.importorskip("jupyter_book", reason="pip install -r requirements-book.txt")


def lessons() -> list[Path]:
    """Every notebook that must be a page: the lessons, numbered and optional."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def lesson_number(notebook: Path) -> int | None:
    """00 ... 13 for a lesson of the main path, None for an optional one."""
    found = re.match(r"(\d\d)_", notebook.name)
    return int(found[1]) if found else None


def time_to_learn(notebook: Path) -> int:
    """The minutes of the lesson's `## Time to learn: N minutes` heading."""
    found = re.search(r"## Time to learn: (\d+) minutes", notebook.read_text())
    assert found, f"{notebook.name} has no '## Time to learn: N minutes' heading"
    return int(found[1])


def book_environment(tmp: Path) -> dict[str, str]:
    """What `make book` gives `binder/start jupyter-book build`: none of this session's servers
    or settings, ports of its own, a new PREFECT_HOME (`tmp / "prefect-home"`), the UI
    screenshots on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GITHUB_"))}
    env.pop("MPLBACKEND", None)
    return env | {
        "PATH": f"{JUPYTER_BOOK.parent}{os.pathsep}{os.environ['PATH']}",
        "PREFECT_HOME": str(tmp / "prefect-home"),
        "PREFECT_SERVER_API_PORT": str(free_port()),
        "GITHUB_STARS_SIMULATOR_PORT": str(free_port()),
        "GITHUB_STARS_BOOK_BUILD": "1",
    }


def build(
    tmp: Path, execute: dict, *, as_make_book: bool = False
) -> tuple[subprocess.CompletedProcess, Path]:
    """`jupyter-book build book -W -n --keep-going` with book/_config.yml's `execute`
    section updated by `execute`, into tmp; `as_make_book`: run by binder/start with the
    environment `make book` gives it. Returns the process and the HTML folder."""
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    config["execute"] = config.get("execute", {}) | execute
    config_file = tmp / "_config.yml"
    config_file.write_text(yaml.safe_dump(config))
    command = [str(JUPYTER_BOOK), "build", str(BOOK), "--config", str(config_file)]
    command += ["--path-output", str(tmp), "-W", "-n", "--keep-going"]
    env = os.environ | {"PATH": f"{JUPYTER_BOOK.parent}{os.pathsep}{os.environ['PATH']}"}
    if as_make_book:
        command = [str(ROOT / "binder" / "start"), *command]
        env = book_environment(tmp)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
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


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, from its header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", header[16:24])


def ui_screenshots(page: Path, section) -> list[Path]:
    """The Prefect UI screenshots in a section of a built page: images in its cells'
    outputs with the size `show_in_prefect_ui` takes them at (charts have other sizes)."""
    viewport = prefect_ui.SCREENSHOT_VIEWPORT
    size = tuple(prefect_ui.SCREENSHOT_SCALE * viewport[side] for side in ("width", "height"))
    images = [page.parent / img["src"] for img in section.select(".cell_output img")]
    return [image for image in images if image.suffix == ".png" and png_size(image) == size]


def executed_page_problems(page: Path) -> list[str]:
    """What a reader must not find on a page of the executed book: a cell that failed, a
    Python traceback, a machine path, a "Watch it in the Prefect UI" section without a
    screenshot of the UI."""
    from bs4 import BeautifulSoup

    html = page.read_text()
    soup = BeautifulSoup(html, "html.parser")
    found = []
    if soup.select(".cell_output .output.traceback, .cell_output .output.error"):
        found.append("a cell failed")
    if TRACEBACK in soup.get_text():
        found.append(f"a Python traceback ({TRACEBACK!r}): wrap it in one_line_errors()")
    paths = sorted({match[0] for match in MACHINE_PATHS.finditer(html)})
    if paths:
        found.append(f"machine paths {paths}")
    ui_sections = [
        heading.parent
        for heading in soup.select("section > h2")
        if heading.get_text().strip(" #¶").startswith(UI_SECTION)
    ]
    if any(not ui_screenshots(page, section) for section in ui_sections):
        found.append(f"no screenshot of the Prefect UI in '{UI_SECTION}'")
    return [f"{page.name}: {problem}" for problem in found]


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
    landing = (html / "index.html").read_text()
    for notebook in lessons():
        assert f'href="notebooks/{notebook.stem}.html' in landing, (
            f"the landing page's lesson index does not link {notebook.name}"
        )
    assert "_static/book.css" in landing


def test_the_contents_are_the_seed_tutorial_production_and_the_optional_lessons():
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    parts = {
        part["caption"]: [
            chapter["file"].removeprefix("notebooks/") for chapter in part["chapters"]
        ]
        for part in toc["parts"]
    }
    number = {notebook.stem: lesson_number(notebook) for notebook in lessons()}
    assert list(parts) == ["The seed tutorial", "Production", "Optional"]
    assert parts["The seed tutorial"] == sorted(
        s for s, n in number.items() if n is not None and n < 5
    )
    assert parts["Production"] == sorted(s for s, n in number.items() if n is not None and n >= 5)
    assert parts["Optional"] == ["dask_scale_out", "appendix_under_the_hood"]
    assert {s for s, n in number.items() if n is None} == set(parts["Optional"])


@pytest.mark.parametrize("index", ["book/index.md", "README.md"])
def test_the_lesson_index_gives_each_lessons_time_to_learn(index):
    """The book's landing page and README give each lesson the minutes its own heading
    says, and the main path's total, which stays within four hours."""
    text = (ROOT / index).read_text()
    rows = {
        found[1]: line
        for line in text.splitlines()
        if (found := re.match(r"\|\s*\[[^]]+\]\(notebooks/(\w+)\.ipynb\)", line))
    }
    for notebook in lessons():
        assert notebook.stem in rows, f"{index} has no row for {notebook.name}"
        cells = [cell.strip() for cell in rows[notebook.stem].strip("|").split("|")]
        assert f"{time_to_learn(notebook)} min" in cells, (
            f"{index}: {notebook.stem} takes {time_to_learn(notebook)} min, its "
            f"heading says; the index says {cells}"
        )
    main_path = sum(time_to_learn(n) for n in lessons() if lesson_number(n) is not None)
    assert f"Main path: {main_path} minutes" in text and main_path <= 240


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


def test_in_jupyterlab_the_prefect_ui_is_an_address(monkeypatch, capsys):
    """Outside the book build, no browser: the page's address, on the server in use."""
    monkeypatch.delenv("GITHUB_STARS_BOOK_BUILD", raising=False)
    prefect_ui.show_in_prefect_ui("/runs", "All runs")
    ui = os.environ["PREFECT_API_URL"].removesuffix("/api")
    assert capsys.readouterr().out == f"All runs: {ui}/runs\n"


@pytest.mark.browser
def test_in_the_book_build_a_ui_that_does_not_answer_fails(monkeypatch):
    """A screenshot that cannot be taken raises, so the cell and the book build fail."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium")
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("GITHUB_STARS_BOOK_BUILD", "1")
    nowhere = f"http://127.0.0.1:{free_port()}/prefect-ui/api"  # nothing listens there
    with (
        temporary_settings({PREFECT_API_URL: nowhere}),
        pytest.raises(prefect_ui.ScreenshotError, match="no screenshot of .*/prefect-ui/runs"),
    ):
        prefect_ui.show_in_prefect_ui("/runs", "All runs")


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_executed_lesson_01_shows_its_chart_its_ui_and_no_error(tmp_path: Path, seed_prefect_home):
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} not found: install Debian's chromium package "
            "(apt-get install chromium) to run the browser tests"
        )
    from playwright.sync_api import sync_playwright

    others = [f"*{notebook.stem}*" for notebook in lessons() if notebook.stem != LESSON]
    seed_prefect_home(tmp_path / "prefect-home")  # the book's Prefect server starts sooner
    result, html = build(
        tmp_path, {"execute_notebooks": "force", "exclude_patterns": others}, as_make_book=True
    )
    clean = result.returncode == 0
    assert clean, f"lesson {LESSON} did not build executed:\n{problems(result)}"
    page_file = html / "notebooks" / f"{LESSON}.html"
    assert executed_page_problems(page_file) == []
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page_file.read_text(), "html.parser")
    images = soup.select(".cell_output img")
    screenshots = ui_screenshots(page_file, soup)
    assert screenshots, f"lesson {LESSON} shows no screenshot of the Prefect UI"
    assert len(images) > len(screenshots), f"lesson {LESSON} shows no chart"

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 900})
            page.goto(page_file.as_uri())
            shown = "\n".join(page.locator(".cell_output").all_inner_texts())
            assert "CellExecutionError" not in shown
            assert "ModuleNotFoundError" not in shown

            shown_images = page.locator(".cell_output img")
            assert shown_images.count() == len(images)
            for image in shown_images.all():  # the charts and the UI's screenshots
                image.scroll_into_view_if_needed()
                assert image.is_visible()
                assert image.evaluate("img => img.complete && img.naturalWidth") > 100, (
                    "an image did not load"
                )
            ARTIFACTS.mkdir(exist_ok=True)
            shown_images.first.scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "book-lesson-01.png")
            page.get_by_role("heading", name=UI_SECTION).scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "book-lesson-01-prefect-ui.png")

            logs = page.locator(".cell_output .output.text_html > pre")
            if logs.count():  # Prefect's log lines (rich): wrapped, not cut at the edge
                wrap = logs.first.evaluate("pre => getComputedStyle(pre).whiteSpace")
                assert wrap == "pre-wrap"
        finally:
            chromium.close()


def built_pages() -> list[Path]:
    return sorted([BUILT_BOOK / "index.html", *(BUILT_BOOK / "notebooks").glob("*.html")])


@pytest.mark.skipif(
    not (BUILT_BOOK / "index.html").exists(), reason="no executed book: `make book` builds it"
)
def test_the_built_book_shows_one_line_errors_no_paths_and_the_prefect_ui():
    """`make book`'s output (the Makefile runs this test after building)."""
    pages = built_pages()
    assert {page.stem for page in pages} >= {notebook.stem for notebook in lessons()}
    found = [problem for page in pages for problem in executed_page_problems(page)]
    assert found == []
    with_ui = [page for page in pages if UI_SECTION in page.read_text()]
    assert with_ui, f"no page of the book has a '{UI_SECTION}' section"
