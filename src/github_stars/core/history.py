"""A star history store: one row per repository and day, in SQLite or PostgreSQL.

    with StarHistory.open("data/history.db") as history:
        history.record(StarRecord(day, "PrefectHQ/prefect", 21000, 1900, 180, now, api))
        frame = history.frame()

The table `star_history` has the primary key (`day`, `repo_key`), `repo_key` being the
lower-cased `owner/repo` (GitHub names are case-insensitive). `record` is a native upsert
committed on its own, one short transaction per row: re-runs never duplicate a row and a
killed writer loses nothing it already wrote. Only successful fetches are stored (`stars` is
an int >= 0): a repository that failed on a day has no row that day, a gap and never a zero.

A location is a filesystem path (an SQLite file, created with its folders) or an SQLAlchemy
URL (`sqlite:///...`, `postgresql+psycopg://user@host:port/db`). A URL must not hold a
password: the location is a Prefect flow parameter, which Prefect stores. PostgreSQL's
password comes from `PGPASSWORD` or `~/.pgpass`, as for any libpq client.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError
from sqlalchemy.schema import CreateTable

from github_stars.core.results import RepoResult

if TYPE_CHECKING:
    import pandas as pd

TABLE = "star_history"
SQLITE_BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for another process's write lock
WAL_SWITCH_RETRY_S = 0.01  # between tries of the switch to WAL that SQLite refused at once
CONNECT_TIMEOUT_S = 10
SECRET_QUERY_KEYS = frozenset({"password", "sslpassword"})
# Any constant: serialises CREATE TABLE IF NOT EXISTS across processes on PostgreSQL.
CREATE_LOCK_KEY = 0x5354_4152_5348_4953  # "STARSHIS"

metadata = sa.MetaData()


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware UTC datetime on every dialect (SQLite stores it naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


star_history = sa.Table(
    TABLE,
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("repo_key", sa.String(255), primary_key=True),
    sa.Column("repo", sa.String(255), nullable=False),
    sa.Column("stars", sa.Integer, nullable=False),
    sa.Column("forks", sa.Integer, nullable=True),
    sa.Column("watchers", sa.Integer, nullable=True),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.Column("api", sa.String(255), nullable=False),
)
UPDATED = ("repo", "stars", "forks", "watchers", "fetched_at", "api")


@dataclass(frozen=True)
class StarRecord:
    """One repository's counts on one day, as fetched from `api` at `fetched_at` (UTC).

    Validated on creation: `stars` is an int >= 0 (a bool is not), `forks` and `watchers`
    are ints >= 0 or None, `day` is a date (not a datetime), `fetched_at` is timezone-aware.
    """

    day: dt.date
    repo: str
    stars: int
    forks: int | None
    watchers: int | None
    fetched_at: dt.datetime
    api: str

    def __post_init__(self) -> None:
        validate_record(self)

    @property
    def repo_key(self) -> str:
        """The case-insensitive key: `owner/repo` lower-cased."""
        return self.repo.lower()


COLUMNS = [f.name for f in fields(StarRecord)]


def _row(record: StarRecord) -> dict[str, Any]:
    return dict(zip(COLUMNS, astuple(record), strict=True))


def _check_count(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def _check_repo(repo: object) -> None:
    if not isinstance(repo, str):
        raise TypeError(f"repo must be a str like 'owner/repo', got {type(repo).__name__}")
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts) or repo != repo.strip() or len(repo) > 255:
        raise ValueError(f"repo must look like 'owner/repo', got {repo!r}")


def validate_record(record: StarRecord) -> None:
    """Raise TypeError/ValueError unless `record` is a storable success."""
    if isinstance(record.day, dt.datetime) or not isinstance(record.day, dt.date):
        raise TypeError(f"day must be a datetime.date, got {type(record.day).__name__}")
    _check_repo(record.repo)
    _check_count("stars", record.stars)
    _check_count("forks", record.forks, optional=True)
    _check_count("watchers", record.watchers, optional=True)
    if not isinstance(record.fetched_at, dt.datetime) or record.fetched_at.tzinfo is None:
        raise ValueError("fetched_at must be a timezone-aware datetime (UTC)")
    if not isinstance(record.api, str) or not record.api:
        raise ValueError("api must be a non-empty str naming the API that answered")


# --- locations ---------------------------------------------------------------------------
def _shown(url: URL) -> str:
    """`url` without any password, for messages and repr."""
    safe = url.difference_update_query(SECRET_QUERY_KEYS)
    return safe.render_as_string(hide_password=True)


def database_url(location: str | os.PathLike[str]) -> URL:
    """The SQLAlchemy URL for `location` (a path or a URL); ValueError if it holds a password."""
    text = os.fspath(location)
    if "://" not in text:
        path = Path(text).expanduser().absolute()
        return URL.create("sqlite+pysqlite", database=str(path))
    try:
        url = sa.make_url(text)
    except ArgumentError:
        scheme = text.split("://", 1)[0]
        raise ValueError(f"not a database URL (scheme {scheme!r})") from None
    if url.password is not None or SECRET_QUERY_KEYS & set(url.query):
        raise ValueError(
            f"the history location {_shown(url)} must not contain a password (it is stored "
            "as a Prefect flow parameter); set PGPASSWORD or use ~/.pgpass instead"
        )
    return _with_driver(url)


def _with_driver(url: URL) -> URL:
    backend = url.get_backend_name()
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")  # the only PostgreSQL driver we ship
    if backend == "sqlite":
        return url
    raise ValueError(f"unsupported database {backend!r}: use an SQLite path or PostgreSQL URL")


def _sqlite_file(url: URL) -> Path | None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Wait for other processes' locks, then use WAL: readers and a writer do not block.

    Two connections switching a new file to WAL at once: SQLite refuses one of them at once
    ("database is locked", without waiting), so the switch is tried again until the busy
    timeout. (Once the file is in WAL mode, the switch is a no-op.)
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(WAL_SWITCH_RETRY_S)
    finally:
        cursor.close()


def create_history_engine(url: URL) -> Engine:
    """An engine for `url`: SQLite in WAL mode with a busy timeout, or psycopg."""
    if url.get_backend_name() == "sqlite":
        file = _sqlite_file(url)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = sa.create_engine(url, connect_args=connect_args)
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S}
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def create_table(engine: Engine) -> None:
    """CREATE TABLE IF NOT EXISTS, safe when several processes start at once."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # IF NOT EXISTS alone races on pg_type
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CREATE_LOCK_KEY)))
        conn.execute(CreateTable(star_history, if_not_exists=True))


# --- the store ---------------------------------------------------------------------------
class StarHistory:
    """The star history at a location: `record` rows, read them back as records or a frame."""

    def __init__(self, location: str | os.PathLike[str], api: str = "") -> None:
        self.url = database_url(location)
        self.api = api  # the API whose answers a run keeps here (`keep`)
        self.engine = create_history_engine(self.url)
        try:
            create_table(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    @classmethod
    def open(cls, location: str | os.PathLike[str]) -> StarHistory:
        """Open (and create if missing) the history at a path or database URL."""
        return cls(location)

    def __repr__(self) -> str:
        return f"StarHistory({_shown(self.url)!r})"

    def close(self) -> None:
        """Close the store's connections."""
        self.engine.dispose()

    def __enter__(self) -> StarHistory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------
    def _insert(self) -> Any:
        dialect = sqlite if self.engine.dialect.name == "sqlite" else postgresql
        return dialect.insert(star_history)

    def record(self, record: StarRecord, *, replace: bool = True) -> None:
        """Upsert one row, committed on its own.

        `replace=True`: a row for the same day and repository is updated with `record`.
        `replace=False`: an existing row is kept (an answer from a cache keeps the first
        fetch's `fetched_at`).
        """
        if not isinstance(record, StarRecord):
            raise TypeError(f"expected a StarRecord, got {type(record).__name__}")
        validate_record(record)
        insert = self._insert().values(repo_key=record.repo_key, **_row(record))
        keys = ["day", "repo_key"]
        if replace:
            changes = {name: insert.excluded[name] for name in UPDATED}
            statement = insert.on_conflict_do_update(index_elements=keys, set_=changes)
        else:
            statement = insert.on_conflict_do_nothing(index_elements=keys)
        with self.engine.begin() as conn:
            conn.execute(statement)

    def keep(self, day: dt.date, result: RepoResult, asked_at: dt.datetime) -> None:
        """Keep `result` as `day`'s row of its repository (the pipeline's call, as each
        result arrives): nothing for a failure; an answer from Prefect's cache keeps the row
        an earlier run of the day wrote."""
        if not result.ok:
            return
        record = StarRecord(
            day=day,
            repo=result.repo,
            stars=result.stars,
            forks=result.stats.get("forks_count"),
            watchers=result.stats.get("subscribers_count"),
            fetched_at=asked_at,
            api=self.api,
        )
        self.record(record, replace=not result.cached)

    # --- reading ---------------------------------------------------------------------
    def records(self) -> list[StarRecord]:
        """Every row, ordered by day, then repository (case-insensitively)."""
        columns = [star_history.c[name] for name in COLUMNS]
        query = sa.select(*columns).order_by(star_history.c.day, star_history.c.repo_key)
        with self.engine.connect() as conn:
            return [StarRecord(*row) for row in conn.execute(query)]

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (see `records_frame` for the columns and dtypes)."""
        return records_frame(self.records())

    def days(self) -> list[dt.date]:
        """The days that have at least one row, in order."""
        query = sa.select(star_history.c.day).distinct().order_by(star_history.c.day)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def count(self) -> int:
        """How many rows (repository-days) the history holds."""
        query = sa.select(sa.func.count()).select_from(star_history)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


def records_frame(records: list[StarRecord]) -> pd.DataFrame:
    """Columns day, repo, stars, forks, watchers, fetched_at, api; one row per record.

    `day` is datetime64 (midnight, no time zone), `stars` int64, `forks` and `watchers`
    nullable Int64, `fetched_at` datetime64 in UTC.
    """
    import pandas as pd  # here: only reading a frame needs pandas

    frame = pd.DataFrame([_row(r) for r in records], columns=COLUMNS)
    frame["day"] = pd.to_datetime(frame["day"])
    frame["fetched_at"] = pd.to_datetime(frame["fetched_at"], utc=True)
    return frame.astype({"stars": "int64", "forks": "Int64", "watchers": "Int64"})


class NoHistory:
    """What a run without a history location keeps: nothing."""

    def keep(self, day: dt.date, result: RepoResult, asked_at: dt.datetime) -> None:
        pass

    def __enter__(self) -> NoHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def open_history(location: str | None, api: str) -> StarHistory | NoHistory:
    """The history at `location` (a path or a database URL) for the answers of `api`, or
    `NoHistory` for None."""
    return NoHistory() if location is None else StarHistory(location, api)


def location_problem(text: str) -> str | None:
    """Why `text` cannot be a history location (None when it can); never repeats a password."""
    try:
        database_url(text)
    except ValueError as exc:
        return str(exc)
    return None


def resolve_location(text: str) -> str:
    """`text` as a flow parameter: a database URL as given, a path made absolute (a served
    flow runs in another working directory)."""
    if "://" in text:
        return text
    return str(Path(text).expanduser().absolute())
