"""Where a star history lives, and how it is opened: SQLAlchemy URLs and engines.

A location is a filesystem path (an SQLite file, created with its folders) or an SQLAlchemy
URL (`sqlite:///...`, `postgresql+psycopg://user@host:port/db`). A URL must not hold a
password: the location is a Prefect flow parameter, which Prefect stores. PostgreSQL's
password comes from `PGPASSWORD` or `~/.pgpass`, as for any libpq client. An in-memory SQLite
database is refused: it would keep nothing.

A store opened for writing uses SQLite in WAL mode (a reader never blocks the writer); one
opened for reading only (`read_only`) changes nothing: an SQLite file is opened `mode=ro`
with no journal-mode switch, PostgreSQL in read-only transactions.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError

SQLITE_BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for another process's write lock
WAL_SWITCH_RETRY_S = 0.01  # between tries of the switch to WAL that SQLite refused at once
CONNECT_TIMEOUT_S = 10
SECRET_QUERY_KEYS = frozenset({"password", "sslpassword"})
IN_MEMORY = "an in-memory SQLite database keeps nothing once the run ends: give a file path"


def shown_url(url: URL) -> str:
    """`url` without any password, for messages and repr."""
    safe = url.difference_update_query(SECRET_QUERY_KEYS)
    return safe.render_as_string(hide_password=True)


def database_url(location: str | os.PathLike[str]) -> URL:
    """The SQLAlchemy URL for `location` (a path or a URL); ValueError if it holds a password,
    names an unsupported database or an in-memory SQLite one."""
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
            f"the history location {shown_url(url)} must not contain a password (it is stored "
            "as a Prefect flow parameter); set PGPASSWORD or use ~/.pgpass instead"
        )
    url = _with_driver(url)
    if url.get_backend_name() == "sqlite" and sqlite_file(url) is None:
        database = url.database or ""
        if database.startswith("file:") and "memory" not in database + str(url.query):
            raise ValueError("an SQLite file: URI is not supported: give a path or sqlite:///PATH")
        raise ValueError(IN_MEMORY)
    return url


def _with_driver(url: URL) -> URL:
    backend = url.get_backend_name()
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")  # the only PostgreSQL driver we ship
    if backend == "sqlite":
        return url
    raise ValueError(f"unsupported database {backend!r}: use an SQLite path or PostgreSQL URL")


def sqlite_file(url: URL) -> Path | None:
    """The file of an SQLite URL; None for an in-memory database (`sqlite://`, `:memory:`,
    `file:...` URIs, `mode=memory`)."""
    database = url.database or ""
    memory = url.query.get("mode") == "memory"
    if database in ("", ":memory:") or database.startswith("file:") or memory:
        return None
    return Path(database)


def location_problem(text: str) -> str | None:
    """Why `text` cannot be a history location (None when it can); never repeats a password."""
    try:
        database_url(text)
    except ValueError as exc:
        return str(exc)
    return None


def resolve_location(text: str) -> str:
    """`text` as a flow parameter: a path, or an SQLite URL's file, made absolute (a served
    flow runs in another working directory); another database URL as given."""
    if "://" not in text:
        return str(Path(text).expanduser().absolute())
    url = sa.make_url(text)
    file = sqlite_file(url) if url.get_backend_name() == "sqlite" else None
    if file is None or file.is_absolute():
        return text
    return url.set(database=str(file.expanduser().absolute())).render_as_string(hide_password=False)


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


def _read_only_sqlite(file: Path) -> Any:
    """A connection that cannot write `file` (nor create it): `mode=ro`, `query_only`."""
    connection = sqlite3.connect(
        f"file:{quote(str(file))}?mode=ro",
        uri=True,
        timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        check_same_thread=False,
    )
    connection.execute("PRAGMA query_only = ON")
    return connection


def create_history_engine(url: URL, *, read_only: bool = False) -> Engine:
    """An engine for `url`: SQLite in WAL mode with a busy timeout, or psycopg. `read_only`:
    nothing is created or changed (SQLite `mode=ro`; PostgreSQL read-only transactions)."""
    if url.get_backend_name() == "sqlite":
        file = sqlite_file(url)
        if file is None:
            raise ValueError(IN_MEMORY)
        if read_only:
            return sa.create_engine(url, creator=lambda: _read_only_sqlite(file))
        file.parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = sa.create_engine(url, connect_args=connect_args)
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S}
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
