"""One row of the star history, `StarRecord`, validated when it is made and when it is read.

A row's `source` says where its figures come from: `observed`, an answer of the repository's
own count that day (the daily pipeline), or `backfilled`, an estimate made later from the
API's star history (`github_stars.backfill`). A row that a store holds but that is not a
valid record (edited by hand, written by another program) is read as an `UnreadableRow` naming
its day and repository: one bad row never makes the rest of a history unreadable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

MAX_COUNT = 2**63 - 1  # a BIGINT
OBSERVED, BACKFILLED = "observed", "backfilled"
SOURCES = (OBSERVED, BACKFILLED)


@dataclass(frozen=True)
class StarRecord:
    """One repository's counts on one day, as fetched from `api` at `fetched_at` (UTC):
    observed that day, or (`source` `backfilled`) estimated from the API's star history.

    Validated on creation: `stars` is an int from 0 to a BIGINT's maximum (a bool is not),
    `forks` and `watchers` are such ints or None, `day` is a date (not a datetime),
    `fetched_at` is timezone-aware, `source` one of `SOURCES`.
    """

    day: dt.date
    repo: str
    stars: int
    forks: int | None
    watchers: int | None
    fetched_at: dt.datetime
    api: str
    source: str = OBSERVED

    def __post_init__(self) -> None:
        validate_record(self)

    @property
    def repo_key(self) -> str:
        """The case-insensitive key: `owner/repo` lower-cased."""
        return self.repo.lower()


COLUMNS = [f.name for f in fields(StarRecord)]
record_values = attrgetter(*COLUMNS)  # a record's values, in `COLUMNS` order


def record_row(record: StarRecord) -> dict[str, Any]:
    """The record as a row: its columns' names and values."""
    return dict(zip(COLUMNS, record_values(record), strict=True))


def _check_count(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    if value > MAX_COUNT:
        raise ValueError(f"{name} must fit a BIGINT, got {value}")


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
    if record.source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {record.source!r}")


@dataclass(frozen=True)
class UnreadableRow:
    """A stored row that is not a valid `StarRecord`: its day and repository as stored, and
    why."""

    day: str
    repo: str
    reason: str

    def __str__(self) -> str:
        return f"{self.day} {self.repo}: {self.reason}"


def _stored_day(value: object) -> dt.date:
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value  # a date from the driver; anything else fails validation


def _stored_moment(value: object) -> dt.datetime:
    """A stored `fetched_at` in UTC (SQLite keeps it as naive UTC text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value


def read_stored(values: dict[str, Any]) -> StarRecord | UnreadableRow:
    """A stored row's raw values (by column) as a `StarRecord`, or why they are not one."""
    try:
        return StarRecord(
            day=_stored_day(values["day"]),
            repo=values["repo"],
            stars=values["stars"],
            forks=values["forks"],
            watchers=values["watchers"],
            fetched_at=_stored_moment(values["fetched_at"]),
            api=values["api"],
            source=values["source"],
        )
    except (TypeError, ValueError, OverflowError) as exc:
        return UnreadableRow(str(values["day"]), str(values["repo"]), str(exc))
