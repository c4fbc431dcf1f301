"""Prefect's console output in a lesson: failures in one line, and fewer lines at scale.

    with one_line_errors():
        plain.show_stars(["nobody/none"], return_state=True)
    with quiet_run_lines():
        show_stars(hundreds_of_repos, settings)

Inside `one_line_errors`, the records Prefect's console handlers print lose their traceback
(and the machine's paths in it); the message itself, e.g. `Finished in state Failed('Task run
encountered an exception HTTPStatusError: ...')`, stays. Inside `quiet_run_lines`, Prefect's
per-run INFO lines (one per task run, and the flow's printed results) stay off the console;
warnings and errors still show. Prefect's server still receives every log line whole.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from github_stars.cli.verbosity import RUN_LOGGERS


class _WithoutTraceback(logging.Formatter):
    """Formats a copy of each record without its traceback, with the handler's formatter."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        copy = logging.makeLogRecord(record.__dict__)
        copy.exc_info = copy.exc_text = copy.stack_info = None
        return self.inner.format(copy)


def console_handlers() -> list[logging.Handler]:
    """Prefect's console handlers, on the root, `prefect` and run loggers, each once."""
    from prefect.logging.handlers import PrefectConsoleHandler

    names = ("", "prefect", *RUN_LOGGERS)  # "" is the root logger
    loggers = [logging.getLogger(name) for name in names]
    found = [h for lg in loggers for h in lg.handlers if isinstance(h, PrefectConsoleHandler)]
    return list(dict.fromkeys(found))


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Prefect's console output without tracebacks inside the block."""
    handlers = {handler: handler.formatter for handler in console_handlers()}
    for handler, formatter in handlers.items():
        handler.setFormatter(_WithoutTraceback(formatter))
    try:
        yield
    finally:
        for handler, formatter in handlers.items():
            handler.setFormatter(formatter)


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
