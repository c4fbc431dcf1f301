"""The Prefect UI beside the lessons: the page to open, or a screenshot of it in the book.

Lessons point at the UI with `show_in_prefect_ui(path, caption)`: in JupyterLab it prints
the page's address (the launcher's **Prefect UI** entry, `github_stars.prefect_ui_proxy`, shows
the same pages); while the book is built (`make book`: `settings.building_book()`) it shows a
screenshot of that page, taken by headless Chromium from the book build's own server.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

from github_stars.settings import building_book

# The book's screenshots: Debian's Chromium driven by Playwright, as tests/test_browser.py does.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# CSS pixels: about the narrowest the UI keeps its desktop layout in (tabs on one line), so
# that the book's column shrinks it as little as possible.
SCREENSHOT_VIEWPORT = {"width": 1100, "height": 700}
SCREENSHOT_SCALE = 1  # device pixels per CSS pixel (2 is four times the pixels and slower)
SCREENSHOT_TIMEOUT = 120.0  # seconds for the whole screenshot, start of Chromium included
QUIET_NETWORK = 2.0  # seconds to wait, at most, for the UI's last requests to settle
UUID_PART = r"([0-9a-fA-F-]{36})\b"
RUN_PAGE = re.compile(r"^/runs/(flow|task)-run/" + UUID_PART)
DEPLOYMENT_PAGE = re.compile(r"^/deployments/deployment/" + UUID_PART)
# Every page of the UI has a heading ("Runs / <name>", "Deployments / <name>", "Concurrency"),
# rendered once the page's route has loaded; then nothing on the page may still be loading.
CONTENT = ".page-heading"
NOTHING_LOADING = """() => ![...document.querySelectorAll('.p-loading-icon')]
    .some(icon => icon.offsetParent !== null)"""


class ScreenshotError(RuntimeError):
    """A page of the Prefect UI could not be shown (raised only while building the book)."""


def prefect_ui_url(path: str = "") -> str | None:
    """The Prefect UI's address for `path` (e.g. `/runs/flow-run/<id>`) on the server this
    process uses, or None without a server of its own (a temporary server has no UI)."""
    from prefect.settings import get_current_settings

    api_url = get_current_settings().api.url
    if not api_url:
        return None
    return api_url.rstrip("/").removesuffix("/api") + path


def ready_texts(path: str) -> list[str]:
    """Texts whose presence says the page of `path` has rendered, as Prefect's API has them
    now: a flow or task run's name and state, a deployment's name; none for other pages."""
    run_page, deployment_page = RUN_PAGE.match(path), DEPLOYMENT_PAGE.match(path)
    if run_page is None and deployment_page is None:
        return []
    from prefect import get_client

    with get_client(sync_client=True) as client:
        if deployment_page is not None:
            return [client.read_deployment(UUID(deployment_page[1])).name]
        kind, run_id = run_page[1], UUID(run_page[2])
        run = client.read_flow_run(run_id) if kind == "flow" else client.read_task_run(run_id)
    return [run.name, *([run.state.name] if run.state else [])]


def screenshot(url: str, ready: Sequence[str] = (), timeout: float = SCREENSHOT_TIMEOUT) -> bytes:
    """A PNG of the Prefect UI page at `url`, taken with headless Chromium once the page has
    rendered: its content area is there, every text of `ready` is visible, no loading icon
    is, and its own scripts and styles loaded. Raises `ScreenshotError` otherwise.

    Playwright's synchronous API refuses to run in a thread with a running event loop (a
    Jupyter kernel's), so the browser is driven from a thread of its own.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefect-ui-screenshot") as pool:
        return pool.submit(_screenshot, url, list(ready), timeout).result()


def _screenshot(url: str, ready: list[str], timeout: float) -> bytes:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise ScreenshotError(f"{CHROMIUM} not found: install Debian's chromium package")
    deadline = time.monotonic() + timeout

    def left() -> float:
        """Milliseconds left until the deadline (Playwright's unit), at least 1."""
        return max(1.0, (deadline - time.monotonic()) * 1000)

    step = "starting Chromium"
    broken: list[str] = []  # the UI's own files that did not load
    errors: list[str] = []  # uncaught errors of the page's scripts
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=left()
            )
            try:
                page = browser.new_page(
                    viewport=SCREENSHOT_VIEWPORT,
                    device_scale_factor=SCREENSHOT_SCALE,
                    color_scheme="light",
                )
                page.on(
                    "response",
                    lambda r: (
                        broken.append(f"{r.status} {r.url}")
                        if r.status >= 400 and "/assets/" in r.url
                        else None
                    ),
                )
                page.on("pageerror", lambda error: errors.append(str(error)))
                step = f"loading {url}"
                page.goto(url, wait_until="load", timeout=left())
                step = "waiting for the page's heading"
                page.locator(CONTENT).first.wait_for(timeout=left())
                for text in ready:
                    step = f"waiting for {text!r} on the page"
                    page.get_by_text(text, exact=True).filter(visible=True).first.wait_for(
                        timeout=left()
                    )
                step = "waiting for the page to finish loading"
                page.wait_for_function(NOTHING_LOADING, timeout=left())
                # the UI polls its API: a quiet moment is welcome, not required
                with contextlib.suppress(PlaywrightError):
                    page.wait_for_load_state(
                        "networkidle", timeout=min(left(), QUIET_NETWORK * 1000)
                    )
                if broken:
                    raise ScreenshotError(f"the Prefect UI's files did not load: {broken}")
                step = "taking the screenshot"
                return page.screenshot(animations="disabled", timeout=left())
            finally:
                browser.close()
    except PlaywrightError as error:
        details = "; ".join(
            [f"files that did not load: {broken}"] * bool(broken)
            + [f"page errors: {errors}"] * bool(errors)
        )
        raise ScreenshotError(
            f"no screenshot of {url}: {step} failed ({error.message.splitlines()[0]})"
            + (f"; {details}" if details else "")
        ) from None


def show_in_prefect_ui(path: str, caption: str) -> None:
    """Where a lesson says "see it in the Prefect UI": the page to open for `path`.

    In JupyterLab: the address (the launcher's **Prefect UI** tab shows the same pages). When
    the book is built (`make book`), a screenshot of that page taken with headless Chromium,
    and the caption; a screenshot that fails raises `ScreenshotError`, which fails the build.
    """
    url = prefect_ui_url(path)
    if not building_book():
        if url is None:
            print(f"{caption}: start JupyterLab with `make lab` to have a Prefect UI")
        else:
            print(f"{caption}: {url}")
        return
    if url is None:
        raise ScreenshotError(f"no Prefect server to show {path} (PREFECT_API_URL is not set)")
    from IPython.display import Image, Markdown, display

    png = screenshot(url, ready_texts(path))
    # with its width given, the book's (smaller) image links to the full-size one
    image = Image(data=png, format="png", width=SCREENSHOT_VIEWPORT["width"])
    display(image, Markdown(f"*{caption}*"))
