"""Test session set-up: a temporary PREFECT_HOME, a Prefect test server, a simulator port.

Everything is set in the environment so notebooks run by nbmake (separate kernels) and CLI
subprocesses use the same temporary Prefect server and never touch `~/.prefect`. With
pytest-xdist each worker process starts a Prefect server and a simulator of its own, so the
global concurrency limits a lesson sets (the seed's `github-api`) and the request logs a test
reads are never another worker's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

import pytest

_stack = contextlib.ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    from github_stars.simulator import free_port

    worker = hasattr(config, "workerinput")
    if not worker:  # the main process: what every process shares (workers inherit it)
        home = tempfile.mkdtemp(prefix="github-stars-prefect-home-")
        _stack.callback(shutil.rmtree, home, ignore_errors=True)  # last: after servers stop
        os.environ["PREFECT_HOME"] = home
        os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
        os.environ["GITHUB_STARS_RETRY_DELAY"] = "0.05"
        os.environ.pop("GITHUB_TOKEN", None)
        os.environ.pop("GITHUB_API_URL", None)
        from github_stars.prefect_settings import apply_prefect_settings

        apply_prefect_settings()  # analytics off, SQLite server settings for the test server
        if os.environ.get("PREFECT_API_URL"):
            os.environ["GITHUB_STARS_TEST_SHARED_SERVER"] = "1"  # given from outside: keep it
    os.environ["GITHUB_STARS_SIMULATOR_PORT"] = str(free_port())
    runs_tests_here = worker or not config.getoption("numprocesses", None)
    if os.environ.get("GITHUB_STARS_TEST_SHARED_SERVER") or not runs_tests_here:
        return
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_DATABASE_CONNECTION_URL
    from prefect.testing.utilities import prefect_test_harness

    _stack.enter_context(prefect_test_harness(server_startup_timeout=120))
    os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()
    # Where this process's test server keeps its database, for tests that search it.
    os.environ["GITHUB_STARS_TEST_DATABASE_URL"] = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()


def pytest_unconfigure(config: pytest.Config) -> None:
    _stack.close()


@pytest.fixture(scope="session")
def simulator():
    """The session's simulator (started once; pipeline pointed at it)."""
    from github_stars.simulator import start_simulator

    sim = start_simulator()
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator):
    """The simulator with default knobs and an empty request log, for one test."""
    from github_stars.retry_after import GITHUB_PAUSE

    simulator.reset(settings=True)
    simulator.activate()
    GITHUB_PAUSE.clear()  # a rate-limit pause another test's refusal left is not this test's
    return simulator


@pytest.fixture(autouse=True)
def own_result_storage(tmp_path, monkeypatch):
    """Each test caches into its own folders: no test sees results another test cached.

    (Every simulator is one API for Prefect's cache key, so without this a repository fetched
    by one test would come from the cache in the next.) Prefect's result storage and the HTTP
    cache (`http_cache`: ETags, used by the CLI) both; set in the environment too, for CLI
    subprocesses.
    """
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    storage = tmp_path / "prefect-storage"
    monkeypatch.setenv("PREFECT_LOCAL_STORAGE_PATH", str(storage))
    monkeypatch.setenv("GITHUB_STARS_HTTP_CACHE", str(tmp_path / "http-cache"))
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}):
        yield storage
