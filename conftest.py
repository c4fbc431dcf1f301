"""Test session set-up: a temporary PREFECT_HOME, a Prefect server, a simulator port.

The environment is the test session's edge: what is set here reaches notebooks run by nbmake
(separate kernels) and CLI subprocesses, which use the same Prefect server and never touch
`~/.prefect`. With pytest-xdist each worker process starts a Prefect server and a simulator
of its own (`github_stars.servers`), so the global concurrency limits a lesson sets (the
seed's `github-api`) and the request logs a test reads are never another worker's. Tests
that call the pipeline directly get its `Settings` from the `settings` fixture.

Prefect creates its database on a server's first start (migrations, block types), which costs
several times a start on a copy of it (docs/decisions.md). The main process creates it once, in
a template PREFECT_HOME; the workers' servers, and tests that give a server a new PREFECT_HOME
(`seed_prefect_home`), start from a copy of it.
Tests of a new user's very first start (`test_concurrent_runs.py`, `test_binder.py`, the
start-up benchmark) and of `PrefectServer`'s own temporary home do not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

_stack = contextlib.ExitStack()
# This process and its Prefect server: they yield the CPU to lessons from their first other
# test on (`pytest_runtest_setup`).
_worker_processes: list[int] = [0]
BACKGROUND_NICENESS = 10
RETRY_DELAY = "0.05"  # seconds: the base of the retry backoff in every test run
TEMPLATE_HOME = "GITHUB_STARS_TEST_PREFECT_TEMPLATE"  # the template's path, for the workers
DATABASE_FILES = ("prefect.db", "memo_store.toml")  # the database; its block types' memo


def make_prefect_template() -> Path:
    """A PREFECT_HOME whose database a Prefect server created, then stopped (removed last)."""
    from github_stars.servers import PrefectServer

    home = Path(tempfile.mkdtemp(prefix="github-stars-prefect-template-"))
    _stack.callback(shutil.rmtree, home, ignore_errors=True)
    with PrefectServer(home=home, start_timeout=240):
        pass
    with contextlib.closing(sqlite3.connect(home / "prefect.db")) as database:
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in prefect.db
    return home


def copy_prefect_database(template: Path, home: Path) -> Path:
    """`home`, created if missing, with a copy of the template's database in it."""
    home.mkdir(parents=True, exist_ok=True)
    for name in DATABASE_FILES:
        shutil.copy2(template / name, home / name)
    return home


def pytest_configure(config: pytest.Config) -> None:
    from github_stars.servers import free_port

    worker = hasattr(config, "workerinput")
    if not worker:  # the main process: what every process shares (workers inherit it)
        home = tempfile.mkdtemp(prefix="github-stars-prefect-home-")
        _stack.callback(shutil.rmtree, home, ignore_errors=True)  # last: after servers stop
        os.environ["PREFECT_HOME"] = home
        os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
        os.environ["GITHUB_STARS_RETRY_DELAY"] = RETRY_DELAY
        for name in ("GITHUB_TOKEN", "GITHUB_API_URL", "PREFECT_API_URL"):
            os.environ.pop(name, None)
        from github_stars.settings import apply_prefect_settings

        apply_prefect_settings()  # analytics off, start-up timeout, for every process under test
        os.environ[TEMPLATE_HOME] = str(make_prefect_template())
    os.environ["GITHUB_STARS_SIMULATOR_PORT"] = str(free_port())
    runs_tests_here = worker or not config.getoption("numprocesses", None)
    if not runs_tests_here:
        return
    from github_stars.servers import PrefectServer
    from github_stars.settings import without_flow_heartbeats

    home = Path(tempfile.mkdtemp(prefix="github-stars-prefect-server-"))
    _stack.callback(shutil.rmtree, home, ignore_errors=True)
    copy_prefect_database(Path(os.environ[TEMPLATE_HOME]), home)
    server = _stack.enter_context(PrefectServer(home=home, start_timeout=240))
    _worker_processes.append(server.process.pid)
    os.environ["PREFECT_API_URL"] = server.api_url
    # Where this process's server keeps its database, for tests that search it.
    os.environ["GITHUB_STARS_TEST_DATABASE"] = str(server.home / "prefect.db")
    # Flows the tests run in this process: no heartbeats. `temporary_settings` copies the
    # settings of the moment, so this comes after the environment is complete.
    _stack.enter_context(without_flow_heartbeats())


# How `make test` spreads the tests over its workers (`--dist loadgroup --no-loadscope-reorder`,
# see pyproject.toml): a worker takes the next unit of this order whenever it is almost out of
# work, the longest units first (`--durations`), so that none starts late and holds up the end.
# A unit is one test, or every test of a group (an `xdist_group` mark), which one worker runs in
# order: the lessons one after another (their timing checks need the machine they were written
# for, docs/decisions.md), then their rerun in reverse order, and each module with a
# module-scoped fixture (a Dask cluster, JupyterLab, a PostgreSQL cluster, the unexecuted
# book), started once.
LONG_FIRST = (
    "notebooks/",
    "test_notebooks_rerun.py",
    "test_scale_out.py",
    "test_book.py",
    "test_browser.py",
    "test_history.py",
    "test_binder.py",
    "test_soak.py",
    "test_benchmark_smoke.py",
    "test_servers.py",
    "test_concurrent_runs.py",
    "test_serve.py",
    "test_trust.py",
    "test_daily.py",
    "test_postgres.py",
)
LESSONS = "lessons"
GROUPS = {
    "notebooks/": LESSONS,
    "test_notebooks_rerun.py": LESSONS,  # after the lessons, on their server
    "test_scale_out.py": "dask-cluster",
    "test_book.py": "book",
    "test_browser.py": "lab",
    "test_history.py": "postgres-cluster",
}


def unit_of_work(nodeid: str) -> str:
    """The unit of work a test belongs to: its group's name, else the test itself."""
    path = nodeid.split("::")[0]
    return next((group for part, group in GROUPS.items() if part in path), nodeid)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next((n for n, part in enumerate(LONG_FIRST) if part in path), len(LONG_FIRST))

    items.sort(key=rank)  # stable: in each group, the order pytest collected
    for item in items:
        group = unit_of_work(item.nodeid)
        if group != item.nodeid:
            item.add_marker(pytest.mark.xdist_group(name=group))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A lesson's checks time its runs: a worker runs the lessons' group at normal priority,
    and at its first other test lowers its own (and its Prefect server's) for good. Its other
    tests then fill the lessons' waits without slowing them down (`nice`; the processes it
    starts later inherit it)."""
    if unit_of_work(item.nodeid) == LESSONS or not _worker_processes:
        return
    for pid in _worker_processes:
        with contextlib.suppress(OSError):
            niceness = os.getpriority(os.PRIO_PROCESS, pid)
            os.setpriority(os.PRIO_PROCESS, pid, max(niceness, BACKGROUND_NICENESS))
    _worker_processes.clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    _stack.close()


@pytest.fixture(scope="session")
def seed_prefect_home() -> Callable[[Path], Path]:
    """`seed_prefect_home(home)`: a new PREFECT_HOME with the session's created database in it,
    so that a Prefect server started there skips the database's creation."""
    template = Path(os.environ[TEMPLATE_HOME])
    return lambda home: copy_prefect_database(template, home)


@pytest.fixture(scope="session")
def simulator():
    """The session's simulator, on this process's lab port (started once)."""
    from github_stars.servers import start_simulator

    sim = start_simulator()
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator):
    """The simulator with default knobs and an empty request log, for one test."""
    simulator.reset(settings=True)
    return simulator


@pytest.fixture
def settings(sim):
    """The pipeline's settings for a test: the session's simulator, short retry delays."""
    from github_stars.settings import Settings

    return Settings.from_environment().with_changes(api_url=sim.url)


@pytest.fixture(autouse=True)
def own_result_storage(tmp_path, monkeypatch):
    """Each test caches into its own folders: no test sees results another test cached.

    (Every simulator is one API for Prefect's cache key, so without this a repository fetched
    by one test would come from the cache in the next.) Prefect's result storage and the HTTP
    cache (ETags, which the CLI turns on); set in the environment too, for CLI subprocesses.
    """
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    storage = tmp_path / "prefect-storage"
    monkeypatch.setenv("PREFECT_LOCAL_STORAGE_PATH", str(storage))
    monkeypatch.setenv("GITHUB_STARS_HTTP_CACHE", str(tmp_path / "http-cache"))
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}):
        yield storage
