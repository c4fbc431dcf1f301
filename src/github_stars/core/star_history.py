"""A star history store: one row per repository and day, of one API, in SQLite or PostgreSQL.

    with open_history("data/history.db", api.identity) as history:  # the pipeline, per run
        history.keep(day, result, asked_at)
    with StarHistory.open("data/history.db", read_only=True) as history:  # `history`
        records, unreadable = history.read()

The table `star_history` has the primary key (`day`, `repo_key`), `repo_key` being the
lower-cased `owner/repo` (GitHub names are case-insensitive); counts are BIGINT. Each write is
a native upsert committed on its own, one short transaction per row: re-runs never duplicate
a row and a killed writer loses nothing it already wrote. Only successful fetches are stored:
a repository that failed on a day has no row that day, a gap and never a zero.

A store belongs to one API: the table `star_history_meta` names it (`api`), written by the
first writer (for a store made before it existed, the one API its rows name). Opening it for
another API raises `HistoryOfAnotherApi` before anything is written, so the simulator's
snapshot and live figures never share a history. A row is replaced only by a fresher answer
(a later `fetched_at`) that did not come from Prefect's cache: which answers Prefect's cache
holds (another `PREFECT_HOME`, another spelling of a name) never decides what is kept.

Each row has a `source`: `observed` (the daily pipeline) or `backfilled` (an estimate from the
API's star history, `github_stars.backfill`). An observed row is never replaced by a
backfilled one; a backfilled row is replaced by any observed one (even from Prefect's cache:
it is that day's own figure), and by a fresher backfilled one. A store made before the column
existed gets it when opened for writing (its rows were all observed); read only, its rows
read as observed.

Locations and engines: `history_locations`; the record and its checks: `history_records`.
A failure of the store itself is a `HistoryError` in one line (never a password).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.schema import CreateTable

from github_stars.core.errors import HistoryError, HistoryOfAnotherApi
from github_stars.core.history_locations import (  # re-exported: the store's public names
    _on_sqlite_connect,
    create_history_engine,
    database_url,
    location_problem,
    resolve_location,
    shown_url,
)
from github_stars.core.history_records import (
    BACKFILLED,
    COLUMNS,
    OBSERVED,
    StarRecord,
    UnreadableRow,
    read_stored,
    record_row,
    record_values,
    validate_record,
)
from github_stars.core.repo_result import RepoResult

if TYPE_CHECKING:
    import pandas as pd

TABLE = "star_history"
META_TABLE = "star_history_meta"
API_KEY = "api"
COUNT_COLUMNS = ("stars", "forks", "watchers")
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
    sa.Column("stars", sa.BigInteger, nullable=False),
    sa.Column("forks", sa.BigInteger, nullable=True),
    sa.Column("watchers", sa.BigInteger, nullable=True),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.Column("api", sa.String(255), nullable=False),
    sa.Column("source", sa.String(16), nullable=False, server_default=OBSERVED),
)
history_meta = sa.Table(
    META_TABLE,
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)
UPDATED = ("repo", "stars", "forks", "watchers", "fetched_at", "api", "source")
ADD_SOURCE = f"ALTER TABLE {TABLE} ADD COLUMN source VARCHAR(16) NOT NULL DEFAULT '{OBSERVED}'"


def one_line(exc: BaseException) -> str:
    """`Type: first line of the message`: a database error in one line."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def create_tables(engine: sa.Engine) -> None:
    """CREATE TABLE IF NOT EXISTS, safe when several processes start at once; an older store
    gets the `source` column; on PostgreSQL, its counts are widened to BIGINT."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:  # IF NOT EXISTS alone races on pg_type
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CREATE_LOCK_KEY)))
        conn.execute(CreateTable(star_history, if_not_exists=True))
        conn.execute(CreateTable(history_meta, if_not_exists=True))
        if postgres:
            _widen_counts(conn)
            _add_source(conn)  # under the lock: one process adds it
    if not postgres:
        try:
            with engine.begin() as conn:
                _add_source(conn)
        except OperationalError as exc:  # another process added it since we looked
            if "duplicate column" not in str(exc):
                raise


def has_source(conn: sa.Connection) -> bool:
    """Whether the history table has the `source` column (a store made before has not)."""
    return "source" in {column["name"] for column in sa.inspect(conn).get_columns(TABLE)}


def _add_source(conn: sa.Connection) -> None:
    if not has_source(conn):
        conn.execute(sa.text(ADD_SOURCE))  # every row an older store holds was observed


def _widen_counts(conn: sa.Connection) -> None:
    narrow = conn.execute(
        sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :table "
            "AND table_schema = current_schema() AND data_type = 'integer'"
        ),
        {"table": TABLE},
    ).scalars()
    for name in set(narrow) & set(COUNT_COLUMNS):  # names from our own list only
        conn.execute(sa.text(f'ALTER TABLE {TABLE} ALTER COLUMN "{name}" TYPE BIGINT'))


# --- the store ---------------------------------------------------------------------------
class StarHistory:
    """The star history at a location, of one API: `keep` or `record` rows, read them back.

    `api`: the API this store is opened for (the run's `GitHubApi.identity`); a store that
    keeps another API's figures raises `HistoryOfAnotherApi`. `read_only`: nothing is
    created or changed (the `history` command), and a location without a history raises
    `HistoryError`.
    """

    def __init__(
        self, location: str | os.PathLike[str], api: str | None = None, *, read_only: bool = False
    ) -> None:
        self.url = database_url(location)
        self.read_only = read_only
        self.engine = create_history_engine(self.url, read_only=read_only)
        self.has_source = True  # the `source` column (added when opened for writing)
        try:
            if read_only:
                self.api = self._existing_api()
                with self.engine.connect() as conn:
                    self.has_source = has_source(conn)
            else:
                create_tables(self.engine)
                self.api = self._claim(api) if api else self._stored_api()
        except HistoryError:
            self.engine.dispose()
            raise
        except (SQLAlchemyError, OSError) as exc:
            self.engine.dispose()
            raise HistoryError(f"cannot open the star history at {self}: {one_line(exc)}") from None

    @classmethod
    def open(
        cls, location: str | os.PathLike[str], api: str | None = None, *, read_only: bool = False
    ) -> StarHistory:
        """Open (and, unless `read_only`, create if missing) the history at a path or URL."""
        return cls(location, api, read_only=read_only)

    def __repr__(self) -> str:
        return f"StarHistory({self})"

    def __str__(self) -> str:
        return shown_url(self.url) if self.url.get_backend_name() != "sqlite" else self.url.database

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

    # --- the API the store belongs to ----------------------------------------------
    def _stored_api(self) -> str | None:
        query = sa.select(history_meta.c.value).where(history_meta.c.name == API_KEY)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def _existing_api(self) -> str | None:
        """For reading: check there is a history here; the API it names, if any."""
        tables = set(sa.inspect(self.engine).get_table_names())
        if TABLE not in tables:
            raise HistoryError(f"{self} holds no star history (no table {TABLE!r})")
        return self._stored_api() if META_TABLE in tables else None

    def _claim(self, api: str) -> str:
        """The store's API, recorded now if it has none; `HistoryOfAnotherApi` unless `api`."""
        stored = self._stored_api()
        if stored is None:
            query = sa.select(star_history.c.api).distinct().limit(3)
            with self.engine.connect() as conn:
                found = list(conn.execute(query).scalars())
            if len(found) > 1:
                raise HistoryError(
                    f"the star history at {self} holds rows of several APIs "
                    f"({', '.join(sorted(found))}); keep each API's rows in a history of its own"
                )
            values = {"name": API_KEY, "value": found[0] if found else api}
            insert = self._insert(history_meta).values(**values)
            with self.engine.begin() as conn:  # the first writer's API wins, atomically
                conn.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
            stored = self._stored_api()
        if stored != api:
            raise HistoryOfAnotherApi(
                f"the star history at {self} keeps the figures of {stored}, not of {api}: a "
                "history holds one API's figures (give this API a history of its own)"
            )
        return stored

    # --- writing ---------------------------------------------------------------------
    def _insert(self, table: sa.Table) -> Any:
        dialect = sqlite if self.engine.dialect.name == "sqlite" else postgresql
        return dialect.insert(table)

    def _upsert(self, source: str, replace: bool) -> Any:
        """The upsert of rows of `source`, by the rules of the module's docstring."""
        insert = self._insert(star_history)
        kept, new = star_history.c, insert.excluded
        fresher = kept.fetched_at < new.fetched_at
        if source == OBSERVED:  # it replaces an estimate, and an older observation if fresh
            where = (kept.source == BACKFILLED) | fresher if replace else kept.source == BACKFILLED
        elif replace:  # an estimate replaces only an older estimate
            where = (kept.source == BACKFILLED) & fresher
        else:
            return insert.on_conflict_do_nothing(index_elements=["day", "repo_key"])
        changes = {name: new[name] for name in UPDATED}
        return insert.on_conflict_do_update(
            index_elements=["day", "repo_key"], set_=changes, where=where
        )

    def record(self, record: StarRecord, *, replace: bool = True) -> None:
        """Upsert one row, committed on its own (see `record_many`)."""
        self.record_many([record], replace=replace)

    def record_many(self, records: Iterable[StarRecord], *, replace: bool = True) -> None:
        """Upsert rows in one transaction: all of them are written, or none.

        A row for the same day and repository is replaced by the rules of the module's
        docstring: by a record of the same source fetched later (`replace=True`; False: an
        answer from a cache, which only fills a missing row), and a backfilled row by any
        observed one. The store's API is the records' (recorded by the first record); another
        API's record raises `HistoryOfAnotherApi`.
        """
        records = list(records)
        for record in records:
            if not isinstance(record, StarRecord):
                raise TypeError(f"expected a StarRecord, got {type(record).__name__}")
            validate_record(record)
        if self.read_only:
            raise HistoryError(f"the star history at {self} is open for reading only")
        if not records:
            return
        try:
            for api in {record.api for record in records}:
                self.api = self._claim(api) if self.api is None else self.api
                if api != self.api:
                    self._claim(api)  # raises, saying which API the store keeps
            by_source: dict[str, list[dict[str, Any]]] = {}
            for record in records:
                row = {"repo_key": record.repo_key, **record_row(record)}
                by_source.setdefault(record.source, []).append(row)
            with self.engine.begin() as conn:
                for source, rows in by_source.items():
                    conn.execute(self._upsert(source, replace), rows)
        except (SQLAlchemyError, OSError) as exc:
            raise HistoryError(
                f"could not write {_rows_named(records)} to the star history at {self} "
                f"({one_line(exc)}); the rows written before it stay"
            ) from None

    def keep(self, day: dt.date, result: RepoResult, asked_at: dt.datetime) -> None:
        """Keep `result` as `day`'s row of its repository (the pipeline's call, as each
        result arrives): nothing for a failure; an answer from Prefect's cache never replaces
        a row (it fills a missing one); a fresh answer replaces an older fetch's row."""
        if not result.ok:
            return
        if self.api is None:
            raise HistoryError("open the history with its API (open_history) to keep rows")
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
    def read(self) -> tuple[list[StarRecord], list[UnreadableRow]]:
        """Every row, ordered by day, then repository (case-insensitively): the valid ones as
        records, the others as `UnreadableRow`s (their day and repository, and why)."""
        raw = sa.types.NullType()  # no conversion by SQLAlchemy: each row is checked alone
        columns = [sa.type_coerce(star_history.c[name], raw).label(name) for name in COLUMNS]
        if not self.has_source:  # a store made before the column, read only: all observed
            columns[COLUMNS.index("source")] = sa.literal(OBSERVED).label("source")
        query = sa.select(*columns).order_by(star_history.c.day, star_history.c.repo_key)
        records, unreadable = [], []
        try:
            with self.engine.connect() as conn:
                for row in conn.execute(query):
                    found = read_stored(dict(zip(COLUMNS, row, strict=True)))
                    (records if isinstance(found, StarRecord) else unreadable).append(found)
        except SQLAlchemyError as exc:
            raise HistoryError(f"cannot read the star history at {self}: {one_line(exc)}") from None
        return records, unreadable

    def records(self) -> list[StarRecord]:
        """Every readable row, ordered by day, then repository (see `read`)."""
        return self.read()[0]

    def frame(self) -> pd.DataFrame:
        """The readable rows as a DataFrame (see `records_frame` for the columns and dtypes)."""
        return records_frame(self.records())

    def days(self) -> list[dt.date]:
        """The days that have at least one readable row, in order."""
        return sorted({record.day for record in self.records()})

    def repositories(self) -> list[str]:
        """The repositories the history holds, one spelling each, ordered case-insensitively."""
        query = sa.select(star_history.c.repo_key, star_history.c.repo).distinct()
        try:
            with self.engine.connect() as conn:
                spellings = dict(conn.execute(query).tuples().all())
        except SQLAlchemyError as exc:
            raise HistoryError(f"cannot read the star history at {self}: {one_line(exc)}") from None
        return [spellings[key] for key in sorted(spellings)]

    def count(self) -> int:
        """How many rows (repository-days) the history holds."""
        query = sa.select(sa.func.count()).select_from(star_history)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


def _rows_named(records: list[StarRecord]) -> str:
    """`owner/repo's row of DAY`, `... rows of DAY to DAY`, or `N rows`, for messages."""
    first, last = min(r.day for r in records), max(r.day for r in records)
    repos = {record.repo_key for record in records}
    if len(repos) > 1:
        return f"{len(records):,} rows of {len(repos)} repositories"
    if len(records) == 1:
        return f"{records[0].repo}'s row of {first}"
    return f"{records[0].repo}'s {len(records):,} rows of {first} to {last}"


def records_frame(records: list[StarRecord]) -> pd.DataFrame:
    """Columns day, repo, stars, forks, watchers, fetched_at, api, source; one row per record.

    `day` is datetime64 (midnight, no time zone), `stars` int64, `forks` and `watchers`
    nullable Int64, `fetched_at` datetime64 in UTC.
    """
    import pandas as pd  # here: only reading a frame needs pandas

    frame = pd.DataFrame([record_values(r) for r in records], columns=COLUMNS)
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
    """The history at `location` (a path or a database URL) for the API `api` (the run's
    `GitHubApi.identity`), or `NoHistory` for None. A store that keeps another API's figures
    raises `HistoryOfAnotherApi`, before the run sends any request."""
    return NoHistory() if location is None else StarHistory.open(location, api)


__all__ = [
    "COLUMNS",
    "HistoryError",
    "HistoryOfAnotherApi",
    "NoHistory",
    "StarHistory",
    "StarRecord",
    "UnreadableRow",
    "_on_sqlite_connect",
    "create_history_engine",
    "create_tables",
    "database_url",
    "location_problem",
    "open_history",
    "records_frame",
    "resolve_location",
]
