"""The simulated calendar: which day it is, and the simulated time every answer's `Date` shows.

Off (the default: no `day_seconds`, no `start_date`, never moved): day 0 (the snapshot's
figures) and real time. Running (`day_seconds` set): starts at `start_date` 00:00:00 UTC when
restarted and runs `86400 / day_seconds` times faster than real time. Frozen (only
`start_date` set, or moved by a jump while `day_seconds` is unset): stands still at 00:00:00 of
its day until the next jump. A jump (`jump`) sets the day and/or advances whole days and turns
an off calendar into a frozen one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from github_stars.simulator.snapshot import SNAPSHOT_DATE

DAY = 86400.0


def http_date(moment: datetime) -> str:
    """RFC 7231's `Date` format, as GitHub sends it: `Sat, 24 Jan 2026 00:00:00 GMT`."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


@dataclass(frozen=True)
class Moment:
    """One reading of the clock: real time, the simulated day and the time the `Date` shows."""

    real: float
    day: int
    when: datetime


@dataclass
class Clock:
    """The calendar's state; `restart` on new knobs, `jump` on a control request."""

    day_seconds: float | None = None
    start_date: str | None = None
    moved: bool = False
    base: float = 0.0  # simulated seconds since start_date 00:00 at `origin`
    origin: float = field(default_factory=time.time)

    @property
    def on(self) -> bool:
        return self.day_seconds is not None or self.start_date is not None or self.moved

    @property
    def start(self) -> date:
        return date.fromisoformat(self.start_date or SNAPSHOT_DATE)

    @property
    def max_day(self) -> int:
        """The last day whose date a `datetime` can hold."""
        return (date.max - self.start).days - 1

    def restart(self, day_seconds: float | None, start_date: str | None) -> None:
        """Back to day 0 at 00:00:00 now, with these knobs."""
        self.day_seconds, self.start_date = day_seconds, start_date
        self.moved, self.base, self.origin = False, 0.0, time.time()

    def elapsed(self, now: float) -> float:
        """Simulated seconds since `start_date` 00:00:00 at real time `now`."""
        seconds = self.base
        if self.day_seconds is not None:
            seconds += (now - self.origin) * DAY / self.day_seconds
        return min(max(seconds, 0.0), self.max_day * DAY)

    def jump(self, day: int | None = None, advance_days: int = 0) -> None:
        """Set the day (to its 00:00:00) if given, then advance whole days; raises ValueError."""
        now = time.time()
        for name, value in (("day", day or 0), ("advance_days", advance_days)):
            if abs(value) > self.max_day:  # before any arithmetic: 10**400 days is no float
                raise ValueError(f"{name} must stay between 0 and {self.max_day}")
        seconds = self.elapsed(now) if day is None else day * DAY
        seconds += advance_days * DAY
        if not 0 <= seconds // DAY <= self.max_day:
            raise ValueError(f"the day must stay between 0 and {self.max_day}")
        self.base, self.origin, self.moved = seconds, now, True

    def read(self) -> Moment:
        """The clock now; off: day 0 and real time."""
        now = time.time()
        if not self.on:
            return Moment(now, 0, datetime.fromtimestamp(now, UTC))
        seconds = self.elapsed(now)
        when = datetime.combine(self.start, datetime.min.time(), UTC) + timedelta(seconds=seconds)
        return Moment(now, int(seconds // DAY), when)

    def describe(self, moment: Moment | None = None) -> dict[str, Any]:
        """The `GET /_simulator/calendar` body."""
        moment = moment or self.read()
        return {
            "on": self.on,
            "running": self.day_seconds is not None,
            "day": moment.day,
            "date": (self.start + timedelta(days=moment.day)).isoformat(),
            "now": moment.when.replace(tzinfo=None, microsecond=0).isoformat() + "Z",
            "day_seconds": self.day_seconds,
            "start_date": self.start.isoformat(),
        }
