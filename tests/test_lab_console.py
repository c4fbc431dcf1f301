"""Unit tests of the lessons' console filter (`lab.console`) and thread counter (`lab.measure`)."""

import logging
import threading
import time

from prefect.logging.handlers import PrefectConsoleHandler

from github_stars.lab.console import _RunLinesBelow, quiet_run_lines
from github_stars.lab.measure import PeakThreads


def record(name: str, level: int) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, "message", None, None)


def test_run_lines_below_the_level_are_dropped_and_nothing_else():
    keep = _RunLinesBelow(logging.WARNING)
    assert not keep.filter(record("prefect.task_runs", logging.INFO))
    assert not keep.filter(record("prefect.flow_runs", logging.INFO))
    assert keep.filter(record("prefect.task_runs", logging.ERROR))
    assert keep.filter(record("prefect.flow_runs", logging.WARNING))
    assert keep.filter(record("prefect.client", logging.INFO))  # not a run line


def test_quiet_run_lines_filters_the_console_only_inside_the_block():
    logger = logging.getLogger("prefect")
    handler = PrefectConsoleHandler()
    logger.addHandler(handler)
    try:
        with quiet_run_lines():
            assert not handler.filter(record("prefect.task_runs", logging.INFO))
        assert handler.filter(record("prefect.task_runs", logging.INFO))
    finally:
        logger.removeHandler(handler)


def test_peak_threads_counts_threads_started_in_the_block():
    release = threading.Event()
    with PeakThreads() as threads:
        workers = [threading.Thread(target=release.wait) for _ in range(5)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 10
        while threads.peak < threads.before + 5 and time.monotonic() < deadline:
            time.sleep(0.01)  # the sampler sees them at its next sample
        release.set()
        for worker in workers:
            worker.join()
    assert threads.peak >= threads.before + 5
