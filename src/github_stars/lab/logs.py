"""Failures shown on purpose, in one line: Prefect's error message without its traceback.

    with one_line_errors():
        plain.show_stars(["nobody/none"], return_state=True)

Inside the block, the records Prefect's console handlers print lose their traceback (and the
machine's paths in it); the message itself, e.g. `Finished in state Failed('Task run
encountered an exception HTTPStatusError: ...')`, stays. Prefect's server still receives
every log line whole.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class _WithoutTraceback(logging.Formatter):
    """Formats a copy of each record without its traceback, with the handler's formatter."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        copy = logging.makeLogRecord(record.__dict__)
        copy.exc_info = copy.exc_text = copy.stack_info = None
        return self.inner.format(copy)


RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


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
