"""For lessons that run hundreds of repositories: fewer console lines, and threads counted.

    with quiet_run_lines(), PeakThreads() as threads:
        show_stars(repos, settings)
    threads.peak  # the most threads this process had alive at once during the block

`quiet_run_lines` keeps Prefect's per-run INFO lines (one per task run, and the flow's printed
results) off the console inside the block; warnings and errors still show, and the Prefect
server still receives every line (the UI shows them all).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from types import TracebackType

from github_stars.lab.logs import RUN_LOGGERS, console_handlers


class _RunLinesBelow(logging.Filter):
    """Drops flow- and task-run records below `level`; lets every other record through."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(RUN_LOGGERS) or record.levelno >= self.level


@contextlib.contextmanager
def quiet_run_lines(level: int = logging.WARNING) -> Iterator[None]:
    """Inside the block, the console shows flow- and task-run lines of `level` and above only."""
    hide = _RunLinesBelow(level)
    handlers = console_handlers()
    for handler in handlers:
        handler.addFilter(hide)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(hide)


class PeakThreads:
    """The most threads alive at once in this process while the block runs.

    A background thread samples `threading.active_count()` every `every` seconds (itself not
    counted); `peak` is the highest sample, `before` the count when the block began.
    """

    def __init__(self, every: float = 0.1) -> None:
        self.every = every
        self.before = 0
        self.peak = 0
        self._done = threading.Event()
        self._sampler: threading.Thread | None = None

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, threading.active_count() - 1)  # not the sampler
            if self._done.wait(self.every):
                return

    def __enter__(self) -> PeakThreads:
        self.before = self.peak = threading.active_count()
        self._done.clear()
        self._sampler = threading.Thread(target=self._sample, name="peak-threads", daemon=True)
        self._sampler.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        if self._sampler is not None:
            self._sampler.join()
