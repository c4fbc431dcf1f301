"""The star history store (`github_stars.core.star_history`) and its report
(`reports.history_report`): one row per repository and day, no duplicates on re-runs,
nothing lost when a writer is killed, gaps never zeros, observed rows never replaced by
backfilled estimates (which the report tells apart); on SQLite and on a throw-away
PostgreSQL cluster."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from github_stars.core import HistoryError, HistoryOfAnotherApi, RepoResult
from github_stars.core import star_history as history_module
from github_stars.core.star_history import (
    StarHistory,
    StarRecord,
    database_url,
    location_problem,
    open_history,
)
from github_stars.reports import history_report as report

try:  # the throw-away cluster helper (moving from `lab` to `servers`)
    from github_stars.servers.postgres import SUPERUSER, PostgresCluster, postgres_available
except ImportError:
    from github_stars.lab.postgres import SUPERUSER, PostgresCluster, postgres_available

UNAVAILABLE = postgres_available()
needs_postgres = pytest.mark.skipif(
    UNAVAILABLE is not None, reason=f"PostgreSQL is not available here: {UNAVAILABLE}"
)
pytestmark = pytest.mark.timeout(120)

API = "github-stars-simulator@2026-01-24"
T0 = dt.datetime(2026, 1, 24, 6, 0, tzinfo=dt.UTC)
DAY1, DAY2, DAY3 = dt.date(2026, 1, 22), dt.date(2026, 1, 23), dt.date(2026, 1, 24)
REPOS = ["PrefectHQ/prefect", "pandas-dev/pandas", "numpy/numpy"]
PROCESS_TIMEOUT = 60.0


def star(day: dt.date, repo: str, stars: int, fetched_at: dt.datetime = T0) -> StarRecord:
    return StarRecord(day, repo, stars, stars // 10, None, fetched_at, API)


# --- locations ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One cluster for every PostgreSQL test of this module (its start costs seconds)."""
    with PostgresCluster(database="history", start_timeout=60) as cluster:
        yield cluster


_database_numbers = itertools.count()


@pytest.fixture
def postgres_location(postgres_cluster, monkeypatch, tmp_path) -> str:
    """A new database's URL without password; the password in PGPASSWORD only."""
    name = f"history_{next(_database_numbers)}"
    postgres_cluster.psql(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv("PGPASSWORD", postgres_cluster.password)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{postgres_cluster.port}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_postgres)])
def location(request, tmp_path) -> str:
    """Where a test's history lives: a new SQLite file (in folders yet to be created) or a
    new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "new" / "folders" / "history.db")
    return request.getfixturevalue("postgres_location")


def record_day(history: StarHistory, day: dt.date, stars: dict[str, int], **kwargs) -> None:
    for repo, count in stars.items():
        history.record(star(day, repo, count), **kwargs)


# --- idempotence and gaps ----------------------------------------------------------------
def test_recording_a_day_twice_keeps_one_row_per_repository(location) -> None:
    later = T0 + dt.timedelta(hours=1)
    with StarHistory.open(location) as history:
        record_day(history, DAY1, dict(zip(REPOS, [100, 200, 300], strict=True)))
        assert history.count() == 3
        history.record(star(DAY1, "prefecthq/PREFECT", 101, later))  # replace=True
        record_day(history, DAY1, {"numpy/numpy": 999}, replace=False)
        assert history.count() == 3 and history.days() == [DAY1]
        rows = {r.repo.lower(): r for r in history.records()}
    assert rows["prefecthq/prefect"] == star(DAY1, "prefecthq/PREFECT", 101, later)
    assert rows["numpy/numpy"] == star(DAY1, "numpy/numpy", 300)  # the first fetch is kept
    assert rows["pandas-dev/pandas"].fetched_at.tzinfo is not None


def test_replace_false_keeps_the_first_fetch(location) -> None:
    with StarHistory.open(location) as history:
        history.record(star(DAY1, "numpy/numpy", 300), replace=False)
        history.record(star(DAY1, "numpy/numpy", 300, T0 + dt.timedelta(hours=5)), replace=False)
        history.record(star(DAY2, "numpy/numpy", 310), replace=False)
        assert history.records() == [star(DAY1, "numpy/numpy", 300), star(DAY2, "numpy/numpy", 310)]


def test_a_missing_repository_is_a_gap_never_a_zero(location) -> None:
    with StarHistory.open(location) as history:
        record_day(history, DAY1, dict(zip(REPOS, [100, 200, 300], strict=True)))
        record_day(history, DAY2, {"PrefectHQ/prefect": 110, "numpy/numpy": 310})  # pandas failed
        record_day(history, DAY3, dict(zip(REPOS, [120, 220, 320], strict=True)))
        assert history.count() == 8
        assert history.days() == [DAY1, DAY2, DAY3]
        frame = history.frame()
    expected = ["day", "repo", "stars", "forks", "watchers", "fetched_at", "api", "source"]
    assert list(frame.columns) == expected
    day2 = frame[frame["day"] == pd.Timestamp(DAY2)]
    assert sorted(day2["repo"]) == ["PrefectHQ/prefect", "numpy/numpy"]
    assert (frame["stars"] > 0).all()
    table = report.stars_by_day(frame)
    assert math.isnan(table.loc[pd.Timestamp(DAY2), "pandas-dev/pandas"])
    assert table.loc[pd.Timestamp(DAY3), "pandas-dev/pandas"] == 220


def test_open_creates_the_file_and_reopens_it(tmp_path) -> None:
    path = tmp_path / "a" / "b" / "history.db"
    with StarHistory.open(path) as history:
        history.record(star(DAY1, "numpy/numpy", 300))
    assert path.exists()
    with StarHistory.open(f"sqlite:///{path}") as again:
        assert again.records() == [star(DAY1, "numpy/numpy", 300)]
        assert "history.db" in repr(again)
    empty = StarHistory.open(tmp_path / "empty.db")
    assert empty.count() == 0 and empty.records() == [] and empty.days() == []
    assert list(empty.frame().columns) == list(report.COLUMNS)
    empty.close()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"stars": True}, TypeError),
        ({"stars": 1.0}, TypeError),
        ({"stars": None}, TypeError),
        ({"stars": -1}, ValueError),
        ({"forks": -2}, ValueError),
        ({"day": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, TypeError),
        ({"fetched_at": dt.datetime(2026, 1, 1)}, ValueError),
        ({"repo": "no-slash"}, ValueError),
        ({"api": ""}, ValueError),
    ],
)
def test_only_a_success_makes_a_record(change, error) -> None:
    fields = {"day": DAY1, "repo": "a/b", "stars": 1, "forks": None, "watchers": None}
    with pytest.raises(error):
        StarRecord(**{**fields, "fetched_at": T0, "api": API, **change})


def test_record_takes_only_star_records(tmp_path) -> None:
    with StarHistory.open(tmp_path / "h.db") as history:
        with pytest.raises(TypeError):
            history.record({"day": DAY1, "repo": "a/b", "stars": 1})
        assert history.count() == 0


# --- one API per store, fresher answers, BIGINT counts -----------------------------------
LIVE = "https://api.github.com"


def result(repo: str, stars: int, cached: bool = False) -> RepoResult:
    stats = {"stargazers_count": stars, "forks_count": 1, "subscribers_count": 2}
    return RepoResult(repo, stars=stars, stats=stats, cached=cached)


def test_a_store_keeps_one_apis_figures_and_refuses_another_before_writing(location) -> None:
    with open_history(location, LIVE) as live:
        live.keep(DAY1, result("numpy/numpy", 300), T0)
    with pytest.raises(HistoryOfAnotherApi, match=f"keeps the figures of {LIVE}, not of {API}"):
        open_history(location, API)
    with StarHistory.open(location) as history:
        with pytest.raises(HistoryOfAnotherApi):
            history.record(star(DAY1, "numpy/numpy", 1))
        assert [(r.stars, r.api) for r in history.records()] == [(300, LIVE)]
        assert history.api == LIVE


def test_a_row_is_replaced_only_by_a_fresher_answer_never_by_the_cache(location) -> None:
    later, earlier = T0 + dt.timedelta(hours=2), T0 - dt.timedelta(hours=2)
    with open_history(location, API) as history:
        history.keep(DAY1, result(A, 100), T0)
        history.keep(DAY1, result(A, 90), earlier)  # an older fetch (another PREFECT_HOME)
        history.keep(DAY1, result(A, 80, cached=True), later)  # Prefect's cache: old figures
        assert [(r.stars, r.fetched_at) for r in history.records()] == [(100, T0)]
        history.keep(DAY1, result(A, 110), later)  # a fresher answer from the same API
        history.keep(DAY2, result(A, 120, cached=True), later)  # the cache fills a gap
        assert [(r.day, r.stars) for r in history.records()] == [(DAY1, 110), (DAY2, 120)]


def test_counts_beyond_32_bits_are_kept(location) -> None:
    big = 2**31 + 7
    with StarHistory.open(location) as history:
        history.record(StarRecord(DAY1, A, big, big + 1, big + 2, T0, API))
        (kept,) = history.records()
    assert (kept.stars, kept.forks, kept.watchers) == (big, big + 1, big + 2)


def test_a_store_made_before_it_named_its_api_takes_its_rows_api(tmp_path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # the previous schema: no star_history_meta
        old.execute(
            "CREATE TABLE star_history (day DATE, repo_key VARCHAR(255), repo VARCHAR(255), "
            "stars INTEGER, forks INTEGER, watchers INTEGER, fetched_at DATETIME, "
            "api VARCHAR(255), PRIMARY KEY (day, repo_key))"
        )
        old.execute(
            "INSERT INTO star_history VALUES ('2026-01-22', 'a/b', 'a/b', 5, 1, 1, "
            "'2026-01-22 06:00:00.000000', ?)",
            (LIVE,),
        )
    with pytest.raises(HistoryOfAnotherApi):
        open_history(str(path), API)
    with open_history(str(path), LIVE) as history:
        assert history.api == LIVE and history.count() == 1
    with sqlite3.connect(path) as old:
        old.execute("DELETE FROM star_history_meta")
        old.execute(
            "INSERT INTO star_history (day, repo_key, repo, stars, forks, watchers, fetched_at, "
            "api) VALUES ('2026-01-23', 'a/b', 'a/b', 6, 1, 1, '2026-01-23 06:00:00.000000', "
            "'http://elsewhere')"
        )
    with pytest.raises(HistoryError, match="several APIs"):
        open_history(str(path), LIVE)


@needs_postgres
def test_an_older_postgresql_store_is_widened_to_bigint(postgres_location) -> None:
    engine = sa.create_engine(postgres_location)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE star_history (day DATE, repo_key VARCHAR(255), repo VARCHAR(255), "
                "stars INTEGER NOT NULL, forks INTEGER, watchers INTEGER, fetched_at "
                "TIMESTAMPTZ NOT NULL, api VARCHAR(255) NOT NULL, PRIMARY KEY (day, repo_key))"
            )
        )
    engine.dispose()
    with open_history(postgres_location, API) as history:
        history.keep(DAY1, result(A, 2**40), T0)
        assert history.records()[0].stars == 2**40


@pytest.mark.parametrize(
    "location", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"]
)
def test_an_in_memory_store_is_refused(location) -> None:
    assert "in-memory SQLite database keeps nothing" in location_problem(location)
    with pytest.raises(ValueError, match="in-memory"):
        StarHistory.open(location)


# --- observed and backfilled rows --------------------------------------------------------
def estimate(day: dt.date, repo: str, stars: int, fetched_at: dt.datetime = T0) -> StarRecord:
    return StarRecord(day, repo, stars, None, None, fetched_at, API, "backfilled")


def kept(history: StarHistory) -> list[tuple[dt.date, int, str]]:
    return [(r.day, r.stars, r.source) for r in history.records()]


def test_an_observed_row_is_never_replaced_by_a_backfilled_one(location) -> None:
    later = T0 + dt.timedelta(days=3)
    with StarHistory.open(location) as history:
        history.record(star(DAY1, A, 100))
        history.record_many([estimate(DAY1, A, 90, later), estimate(DAY2, A, 95, later)])
        history.record(estimate(DAY1, A, 80, later), replace=False)
        assert kept(history) == [(DAY1, 100, "observed"), (DAY2, 95, "backfilled")]


def test_a_backfilled_row_is_replaced_by_an_observed_one_and_a_fresher_estimate(location) -> None:
    earlier, later = T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=1)
    with StarHistory.open(location) as history:
        history.record_many([estimate(DAY1, A, 90), estimate(DAY2, A, 95), estimate(DAY3, A, 99)])
        history.record(estimate(DAY1, A, 91, earlier))  # an older estimate: kept as was
        history.record(estimate(DAY1, A, 92, later), replace=False)  # from a cache: kept
        history.record(estimate(DAY2, A, 96, later))  # a fresher estimate replaces one
        history.record(star(DAY3, A, 101, earlier), replace=False)  # observed, even cached
        assert kept(history) == [
            (DAY1, 90, "backfilled"),
            (DAY2, 96, "backfilled"),
            (DAY3, 101, "observed"),
        ]
        assert history.count() == 3


def test_record_many_writes_all_its_rows_or_none(location) -> None:
    other = StarRecord(DAY2, A, 5, None, None, T0, "http://elsewhere", "backfilled")
    with StarHistory.open(location) as history:
        history.record(star(DAY1, B, 1))
        with pytest.raises(HistoryOfAnotherApi):
            history.record_many([estimate(DAY1, A, 1), other])
        with pytest.raises(ValueError, match="source must be one of observed, backfilled"):
            StarRecord(DAY1, A, 1, None, None, T0, API, "guessed")
        assert kept(history) == [(DAY1, 1, "observed")]
        rows = [estimate(DAY1 + dt.timedelta(days=n), A, n) for n in range(500)]
        history.record_many(rows)
        assert history.count() == 501 and history.repositories() == [B, A]


OLD_SCHEMA = (
    "CREATE TABLE star_history (day DATE, repo_key VARCHAR(255), repo VARCHAR(255), "
    "stars BIGINT NOT NULL, forks BIGINT, watchers BIGINT, fetched_at {moment} NOT NULL, "
    "api VARCHAR(255) NOT NULL, PRIMARY KEY (day, repo_key))"
)
OLD_ROW = (
    "INSERT INTO star_history VALUES ('2026-01-22', 'a/b', 'a/b', 5, 1, 1, "
    "'2026-01-22 06:00:00', 'github-stars-simulator@2026-01-24')"
)


def test_a_store_made_before_the_source_column_is_read_as_observed_and_gets_it(location) -> None:
    """Read only: its rows are observed, the store unchanged; opened for writing: the column
    is added (every old row observed) and a backfill keeps the old row."""
    if "://" not in location:
        Path(location).parent.mkdir(parents=True)
    engine = sa.create_engine(location if "://" in location else f"sqlite:///{location}")
    moment = "DATETIME" if engine.dialect.name == "sqlite" else "TIMESTAMPTZ"
    with engine.begin() as conn:
        conn.execute(sa.text(OLD_SCHEMA.format(moment=moment)))
        conn.execute(sa.text(OLD_ROW))
    with StarHistory.open(location, read_only=True) as history:
        assert not history.has_source and kept(history) == [(DAY1, 5, "observed")]
    with engine.connect() as conn:
        assert not history_module.has_source(conn)  # reading added nothing
    with open_history(location, API) as history:
        history.record_many([estimate(DAY1, "a/b", 4), estimate(DAY2, "a/b", 6)])
        assert kept(history) == [(DAY1, 5, "observed"), (DAY2, 6, "backfilled")]
    engine.dispose()


# --- reading: nothing written, one bad row is one bad row ------------------------------
def another_applications_file(path: Path) -> bytes:
    """An SQLite file of another application at `path` (rollback journal); its bytes."""
    with contextlib.closing(sqlite3.connect(path)) as app:
        app.execute("CREATE TABLE notes (body TEXT)")
        app.execute("INSERT INTO notes VALUES ('mine')")
        app.commit()
    return path.read_bytes()


def test_reading_a_foreign_sqlite_file_changes_nothing(tmp_path) -> None:
    path = tmp_path / "app.db"
    before = another_applications_file(path)
    with pytest.raises(HistoryError, match="holds no star history"):
        StarHistory.open(path, read_only=True)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]
    with contextlib.closing(sqlite3.connect(path)) as app:
        assert app.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_an_unreadable_row_is_reported_with_its_day_and_repository(location) -> None:
    with StarHistory.open(location) as history:
        record_day(history, DAY1, {A: 100, B: 50})
        with history.engine.begin() as conn:  # rows another program wrote
            conn.execute(sa.text("UPDATE star_history SET stars = -5 WHERE repo = :r"), {"r": B})
    with StarHistory.open(location, read_only=True) as history:
        records, unreadable = history.read()
    assert [r.repo for r in records] == [A]
    assert [(u.day, u.repo) for u in unreadable] == [(DAY1.isoformat(), B)]
    assert "stars must be >= 0, got -5" in str(unreadable[0])


def test_a_row_with_a_garbled_day_is_reported_not_fatal(tmp_path) -> None:
    path = tmp_path / "h.db"
    with StarHistory.open(path) as history:
        record_day(history, DAY1, {A: 100})
    with contextlib.closing(sqlite3.connect(path)) as raw:
        raw.execute("UPDATE star_history SET day = 'someday'")
        raw.commit()
    with StarHistory.open(path, read_only=True) as history:
        records, unreadable = history.read()
    assert records == [] and [(u.day, u.repo) for u in unreadable] == [("someday", A)]


# --- passwords ---------------------------------------------------------------------------
SECRET = "Sup3r-s3cret-pw"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:5432/db",
        f"postgresql://postgres:{SECRET}@db.example:5432/db",
        f"postgresql+psycopg://postgres@127.0.0.1:5432/db?password={SECRET}",
    ],
)
def test_a_url_with_a_password_is_refused_without_showing_it(url) -> None:
    with pytest.raises(ValueError, match="PGPASSWORD") as refused:
        StarHistory.open(url)
    assert SECRET not in str(refused.value) and SECRET not in repr(refused.value)
    assert refused.value.__cause__ is None and refused.value.__context__ is None


def test_a_malformed_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError) as refused:
        StarHistory.open(f"postgresql+psycopg://u:{SECRET}@[bad")
    assert SECRET not in str(refused.value) and refused.value.__cause__ is None


def test_urls_get_the_psycopg_driver() -> None:
    assert database_url("postgresql://me@h:5/db").drivername == "postgresql+psycopg"
    assert database_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(ValueError, match="unsupported"):
        database_url("mysql://me@h/db")


@needs_postgres
def test_postgres_password_comes_from_the_environment_only(
    postgres_cluster, postgres_location, monkeypatch
) -> None:
    password = postgres_cluster.password
    with pytest.raises(ValueError, match="PGPASSWORD") as refused:
        StarHistory.open(postgres_cluster.url)  # the cluster's own URL holds the password
    assert password not in str(refused.value)
    with StarHistory.open(postgres_location) as history:
        assert password not in repr(history) and "postgresql+psycopg" in repr(history)
    monkeypatch.delenv("PGPASSWORD")
    with pytest.raises(Exception, match="password") as no_password:  # noqa: B017
        StarHistory.open(postgres_location)
    assert password not in str(no_password.value)


# --- processes: kill safety and concurrent writers -------------------------------------
# The writer loads history.py on its own: the package `github_stars.core` imports Prefect,
# which costs seconds per process.
WRITER = """
import datetime as dt, importlib.util, sys, time
from pathlib import Path
spec = importlib.util.spec_from_file_location("star_history_alone", sys.argv[1])
store = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(store)
location, day, count, delay, markers, go = sys.argv[2:8]
reverse = sys.argv[8] == "reverse"
day, count, delay = dt.date.fromisoformat(day), int(count), float(delay)
while go != "-" and not Path(go).exists():
    time.sleep(0.005)
with store.StarHistory.open(location) as history:
    numbers = range(count - 1, -1, -1) if reverse else range(count)
    for i in numbers:
        now = dt.datetime.now(dt.UTC)
        history.record(store.StarRecord(day, f"owner{i}/Repo{i}", 1000 + i, i, i, now, "test"))
        if markers != "-":
            (Path(markers) / str(i)).touch()  # after the commit returned: row i is written
        time.sleep(delay)
"""


@contextlib.contextmanager
def writer(location: str, count: int, delay: float = 0.0, markers="-", go="-", order="forward"):
    """A process recording `count` rows of DAY1; killed on exit if still running."""
    args = [history_module.__file__, location, DAY1.isoformat(), str(count), str(delay)]
    args += [str(markers), str(go), order]
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=PROCESS_TIMEOUT)


def writer_row(i: int) -> StarRecord:
    """The writer's row `i` (as WRITER makes it)."""
    return StarRecord(DAY1, f"owner{i}/Repo{i}", 1000 + i, i, i, dt.datetime.now(dt.UTC), "test")


def wait_until(condition, timeout: float = PROCESS_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_killed_writer_loses_no_committed_row(location, tmp_path) -> None:
    markers, total, kill_after = tmp_path / "committed", 100, 10
    markers.mkdir()
    with writer(location, total, delay=0.01, markers=markers) as process:
        wait_until(lambda: len(list(markers.iterdir())) >= kill_after or process.poll() is not None)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=PROCESS_TIMEOUT)
    assert process.returncode == -signal.SIGKILL
    committed = {f"owner{marker.name}/repo{marker.name}" for marker in markers.iterdir()}
    with StarHistory.open(location) as history:
        stored = {r.repo.lower() for r in history.records()}
        assert len(committed) >= kill_after and len(stored) < total  # killed mid-way
        assert committed - stored == set()  # rows lost: none
        for i in range(total):  # the re-run of the full day completes it
            history.record(writer_row(i))
        assert history.count() == total and history.days() == [DAY1]
        assert len({r.repo.lower() for r in history.records()}) == total


def test_two_writers_of_the_same_day_make_one_row_per_repository(location, tmp_path) -> None:
    go, total = tmp_path / "go", 40
    with (
        writer(location, total, go=go) as first,
        writer(location, total, go=go, order="reverse") as second,
    ):
        go.touch()  # both open the (new) store at once, then write the same rows
        outputs = [p.communicate(timeout=PROCESS_TIMEOUT) for p in (first, second)]
    for process, (_, stderr) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, stderr.decode()[-2000:]
    with StarHistory.open(location) as history:
        assert history.count() == total
        assert len({r.repo.lower() for r in history.records()}) == total


def test_connections_opening_a_new_sqlite_store_at_once_all_get_it(tmp_path) -> None:
    """SQLite refuses one of two connections that switch a new file to WAL at the same moment
    ("database is locked", at once): the store's connection set-up tries again, so every
    writer opening a new store at once gets it. (Without the retry: about 4 in 100 failed.)"""
    rounds, at_once = 100, 4

    def set_up(path: Path, start: threading.Barrier) -> str:
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            start.wait()
            history_module._on_sqlite_connect(connection, None)  # what each engine runs
            return connection.execute("PRAGMA journal_mode").fetchone()[0]
        finally:
            connection.close()

    with ThreadPoolExecutor(at_once) as pool:
        for n in range(rounds):
            path, start = tmp_path / f"new-{n}.db", threading.Barrier(at_once)
            modes = list(pool.map(set_up, [path] * at_once, [start] * at_once))
            assert modes == ["wal"] * at_once, f"round {n}: {modes}"


def test_a_reader_and_a_writer_do_not_lock_each_other_out(tmp_path) -> None:
    location, total = str(tmp_path / "history.db"), 60
    with StarHistory.open(location) as history, writer(location, total, delay=0.002) as process:
        counts = []
        while process.poll() is None:
            counts.append(history.count())
            history.frame()
            time.sleep(0.01)
        _, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert counts == sorted(counts) and history.count() == total


# --- the report --------------------------------------------------------------------------
A, B, C = "PrefectHQ/prefect", "pandas-dev/pandas", "numpy/numpy"


@pytest.fixture
def known_frame(tmp_path) -> pd.DataFrame:
    """Three days; C has no row on DAY2 (its fetch failed)."""
    with StarHistory.open(tmp_path / "known.db") as history:
        record_day(history, DAY1, {A: 100, B: 50, C: 10})
        record_day(history, DAY2, {A: 110, B: 50})
        record_day(history, DAY3, {A: 125, B: 45, C: 20})
        return history.frame()


def test_frame_dtypes(known_frame) -> None:
    assert pd.api.types.is_datetime64_any_dtype(known_frame["day"])
    assert str(known_frame["fetched_at"].dt.tz) == "UTC"
    assert known_frame["stars"].dtype == "int64" and len(known_frame) == 8


def test_stars_by_day(known_frame) -> None:
    table = report.stars_by_day(known_frame)
    nan = float("nan")
    expected = pd.DataFrame(
        {C: [10.0, nan, 20.0], B: [50.0, 50.0, 45.0], A: [100.0, 110.0, 125.0]},
        index=pd.DatetimeIndex(pd.to_datetime([DAY1, DAY2, DAY3]), name="day"),
    )
    pd.testing.assert_frame_equal(
        table, expected, check_names=False, check_freq=False, check_index_type=False
    )


def test_gains_per_day(known_frame) -> None:
    gains = report.gains_per_day(known_frame)
    assert list(gains.index) == [pd.Timestamp(DAY2), pd.Timestamp(DAY3)]
    assert gains[A].tolist() == [10.0, 15.0] and gains[B].tolist() == [0.0, -5.0]
    assert gains[C].isna().all()  # no row on DAY2: no gain on DAY2 nor on DAY3


def test_a_day_without_any_row_is_a_gap_too() -> None:
    frame = pd.DataFrame({"day": [DAY1, DAY3], "repo": [A, A.lower()], "stars": [1, 5]})
    table = report.stars_by_day(frame)
    assert list(table.columns) == [A.lower()]  # one repository, its latest spelling
    assert table[A.lower()].tolist()[0::2] == [1.0, 5.0] and math.isnan(table.iloc[1, 0])
    assert report.gains_per_day(frame)[A.lower()].isna().all()


def test_top_movers(known_frame) -> None:
    movers = report.top_movers(known_frame)
    assert list(movers.columns) == [
        *("repo", "stars_then", "stars_now", "gain", "gain_percent", "estimated")
    ]
    assert not movers["estimated"].any()
    assert movers[["repo", "stars_then", "stars_now", "gain"]].values.tolist() == [
        [A, 100, 125, 25],
        [C, 10, 20, 10],
        [B, 50, 45, -5],
    ]
    assert movers["gain_percent"].tolist() == pytest.approx([25.0, 100.0, -10.0])
    last_day = report.top_movers(known_frame, days=1)  # DAY2..DAY3: C has one row only
    assert last_day["repo"].tolist() == [A, B]
    assert last_day["gain_percent"].tolist() == pytest.approx([100 * 15 / 110, -10.0])
    assert report.top_movers(known_frame, n=1)["repo"].tolist() == [A]
    assert report.top_movers(known_frame.iloc[0:0]).empty


def test_plots(known_frame) -> None:
    stars = report.plot_stars_over_time(known_frame, title="Stars")
    lines = {
        line.get_label(): np.ma.filled(line.get_ydata(), np.nan)
        for line in stars.axes[0].get_lines()
    }
    assert set(lines) == {A, B, C} and math.isnan(lines[C][1])  # the gap is a gap
    assert stars.axes[0].get_title() == "Stars"
    gains = report.plot_gains(known_frame)
    assert gains.axes[0].patches  # bars
    for figure in (stars, gains, report.plot_gains(known_frame, kind="line")):
        plt.close(figure)


def test_save_history_writes_csv_rows_and_a_png(known_frame, tmp_path) -> None:
    csv_path, chart_path = tmp_path / "out" / "history.csv", tmp_path / "charts" / "stars.png"
    report.save_history(known_frame, csv_path=csv_path, chart_path=chart_path)
    written = pd.read_csv(csv_path)
    assert list(written.columns) == list(report.COLUMNS) and report.COLUMNS[-1] == "source"
    assert set(written["source"]) == {"observed"}
    assert len(written) == 8 and not written.duplicated(["day", "repo"]).any()
    assert written[written["repo"] == C]["day"].tolist() == [DAY1.isoformat(), DAY3.isoformat()]
    assert chart_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def backfilled_frame(tmp_path) -> pd.DataFrame:
    """A backfilled on DAY1 and DAY2, observed on DAY3; B observed on DAY1 and DAY3; no row
    at all on DAY3 + 1; C observed on DAY3 + 2."""
    after, later = DAY3 + dt.timedelta(days=1), DAY3 + dt.timedelta(days=2)
    with StarHistory.open(tmp_path / "mixed.db") as history:
        history.record_many([estimate(DAY1, A, 90), estimate(DAY2, A, 95)])
        record_day(history, DAY1, {B: 50})
        record_day(history, DAY3, {A: 100, B: 52})
        record_day(history, later, {C: 7})
        assert history.days() == [DAY1, DAY2, DAY3, later] and after not in history.days()
        return history.frame()


def test_the_report_tells_estimates_and_missing_days(backfilled_frame) -> None:
    estimated = report.estimated_by_day(backfilled_frame)
    assert estimated.shape == report.stars_by_day(backfilled_frame).shape
    assert estimated[A].tolist() == [True, True, False, False, False]
    assert not estimated[B].any() and not estimated[C].any()
    assert report.missing_days(backfilled_frame) == [pd.Timestamp(DAY3 + dt.timedelta(days=1))]
    assert report.missing_days(backfilled_frame.iloc[0:0]) == []
    movers = report.top_movers(backfilled_frame, days=7).set_index("repo")
    assert movers.loc[A, "estimated"] and not movers.loc[B, "estimated"]


def test_the_chart_draws_backfilled_days_dashed(backfilled_frame) -> None:
    figure = report.plot_stars_over_time(backfilled_frame)
    lines = figure.axes[0].get_lines()
    dashed = [line for line in lines if line.get_linestyle() == "--"]
    solid = {line.get_label(): line for line in lines if line.get_linestyle() == "-"}
    assert {line.get_label() for line in dashed} == {A, B, C}  # every row, under the solid
    assert np.isnan(np.ma.filled(solid[A].get_ydata(), np.nan)[:2]).all()  # A's estimates
    assert np.ma.filled(solid[A].get_ydata(), np.nan)[2] == 100
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == [C, B, A, "observed", "backfilled (estimate)"]
    plt.close(figure)
    observed_only = report.plot_stars_over_time(backfilled_frame[backfilled_frame["repo"] != A])
    assert {line.get_linestyle() for line in observed_only.axes[0].get_lines()} == {"-"}
    plt.close(observed_only)
