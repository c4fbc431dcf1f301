"""Where the lessons' cached task results go: a fresh folder, so a lesson starts uncached."""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

_kept_open = contextlib.ExitStack()
atexit.register(_kept_open.close)


@contextlib.contextmanager
def fresh_results() -> Iterator[Path]:
    """Within the block, Prefect stores (and finds) task results in a new, empty folder."""
    folder = Path(tempfile.mkdtemp(prefix="github-stars-results-"))
    try:
        with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: folder}):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def start_uncached() -> Path:
    """From now on in this process, results go to a new, empty folder (removed at exit).

    A lesson calls it once at the start, so its first run fetches however often you run it.
    """
    return _kept_open.enter_context(fresh_results())
