"""Prefect's console output in a command-line run: per-run INFO lines off unless `-v`, and no
traceback of a run that failed as a whole with one of our errors (the command says it in one
line: `The run failed: ...`)."""

from __future__ import annotations

import logging

from github_stars.core.errors import GitHubStarsError

FLOW_RUNS = "prefect.flow_runs"
RUN_LOGGERS = (FLOW_RUNS, "prefect.task_runs")


class _HidePrefectLogs(logging.Filter):
    """Drop flow/task-run records below `run_level` and other Prefect records below `level`."""

    def __init__(self, run_level: int, level: int) -> None:
        super().__init__()
        self.run_level, self.level = run_level, level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(RUN_LOGGERS):
            failed = record.exc_info and isinstance(record.exc_info[1], GitHubStarsError)
            if failed and record.name.startswith(FLOW_RUNS):
                return False  # a run that failed as a whole: the command says why, in one line
            return record.levelno >= self.run_level
        return not record.name.startswith("prefect") or record.levelno >= self.level


def set_log_verbosity(verbose: bool, quiet: bool) -> None:
    """Prefect's console output in this process only: per-run INFO lines off unless `verbose`;
    with `quiet` no run lines at all and no other Prefect lines below ERROR.

    A filter on the console handler, so a Prefect server still receives every log line.
    """
    if verbose:
        for name in RUN_LOGGERS:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
        return
    from prefect.logging.handlers import PrefectConsoleHandler

    hide = (
        _HidePrefectLogs(logging.CRITICAL + 1, logging.ERROR)
        if quiet
        else _HidePrefectLogs(logging.WARNING, logging.NOTSET)
    )
    for logger in (logging.getLogger(), logging.getLogger("prefect")):
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.addFilter(hide)
