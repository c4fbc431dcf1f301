"""Test session set-up: a temporary PREFECT_HOME, one Prefect test server, a simulator port.

Everything is set in the environment so notebooks run by nbmake (separate kernels), CLI
subprocesses and pytest-xdist's workers share the same temporary Prefect server and never
touch `~/.prefect`. Each xdist worker runs a simulator of its own (request logs are per test).
Tests that set the seed's `github-api` limit run in one xdist group, one after another.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

_stack = contextlib.ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    from github_stars.simulator import free_port

    if hasattr(config, "workerinput"):  # an xdist worker: the controller set up the rest
        os.environ["GITHUB_STARS_SIMULATOR_PORT"] = str(free_port())
        return
    home = tempfile.mkdtemp(prefix="github-stars-prefect-home-")
    _stack.callback(shutil.rmtree, home, ignore_errors=True)  # last: after the server stops
    os.environ["PREFECT_HOME"] = home
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    os.environ["GITHUB_STARS_RETRY_DELAY"] = "0.05"
    os.environ.pop("GITHUB_TOKEN", None)
    os.environ.pop("GITHUB_API_URL", None)
    from github_stars.prefect_settings import apply_prefect_settings

    apply_prefect_settings()  # analytics off, SQLite server settings for the test server

    os.environ["GITHUB_STARS_SIMULATOR_PORT"] = str(free_port())
    if os.environ.get("PREFECT_API_URL"):
        return  # a server given from outside (e.g. the Binder start script)
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_DATABASE_CONNECTION_URL
    from prefect.testing.utilities import prefect_test_harness

    _stack.enter_context(prefect_test_harness(server_startup_timeout=120))
    os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()
    # Where the test server keeps its database, for tests that search it (xdist workers too).
    os.environ["GITHUB_STARS_TEST_DATABASE_URL"] = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()


# Code that sets or takes the seed tutorial's `github-api` limit, to a budget of its own.
SEED_LIMIT = re.compile(r'github-api\\?"|gcl ')


def sets_the_seed_limit(item: pytest.Item) -> bool:
    """Whether the test runs code that sets the seed's `github-api` limit (see `SEED_LIMIT`)."""
    path = getattr(item, "callspec", None) and item.callspec.params.get("path")
    path = Path(path) if path else Path(item.path)
    if path.name in {"test_steps.py", "test_notebooks_rerun.py"}:
        return True
    return (
        path.suffix in {".ipynb", ".py"}
        and path.parent.name in {"notebooks", "solutions"}
        and bool(SEED_LIMIT.search(path.read_text()))
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if sets_the_seed_limit(item):
            item.add_marker(pytest.mark.xdist_group("seed-limit"))


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
