"""The simulator's knobs: what lessons and tests set at start or at run time."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

FAULT_KINDS = {"ok", "non_json", "truncated", "missing_stars", "reset", "hang"}
NUMBER_TYPES = {"float", "int", "int | None", "float | None"}
MAX_KNOB = 1e12  # any number knob: seconds, counts, a seed


@dataclass
class SimulatorSettings:
    """All knobs, with defaults that behave like a healthy GitHub.

    `faults` scripts the responses to successive requests per repository, e.g.
    `{"psf/requests": [503, 503, "ok"]}`; entries are HTTP status codes or one of
    `FAULT_KINDS`. `failure_rate` picks failures deterministically from
    `(seed, repository, attempt)`, so a run's faults do not depend on request order.
    `refuse_nth` answers the Nth request for an existing repository since the last reset
    with `429` and `Retry-After`, whichever repository it asks for: a refusal mid-run however
    the requests are ordered.
    `day_seconds` and `start_date` turn on the simulated calendar (see `clock.py`): `None`
    for both means no calendar, the snapshot's figures and real time.
    """

    latency: float = 0.0  # seconds added to every API response
    jitter: float = 0.0  # extra uniform random latency in [0, jitter)
    failure_rate: float = 0.0  # share of repository requests answered with a failure status
    failure_statuses: list[int] = field(default_factory=lambda: [500, 502, 503])
    seed: int = 0
    fail_first: int = 0  # the first N requests per repository fail ...
    fail_first_status: int = 503  # ... with this status
    rate_limit: int = 5000  # primary limit: requests per window and identity
    rate_limit_window: float = 3600.0
    rate_limit_status: int = 403  # GitHub answers 403 or 429 when the primary limit is hit
    secondary_limit: int | None = None  # at most this many requests ...
    secondary_window: float = 1.0  # ... in any window of this many seconds, else 429
    retry_after: int = 1  # the Retry-After (s) sent with secondary-limit 429s
    refuse_nth: int | None = None  # the Nth repository request, whichever repository: 429
    hang_seconds: float = 30.0  # how long a "hang" fault keeps the client waiting
    faults: dict[str, list[int | str]] = field(default_factory=dict)
    day_seconds: float | None = None  # real seconds one simulated day lasts (None: no clock)
    start_date: str | None = None  # the date of day 0, YYYY-MM-DD (None: the snapshot's)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SimulatorSettings:
        """Build and validate settings; unknown names and bad values raise `ValueError`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown simulator setting(s): {', '.join(unknown)}")
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        self._validate_numbers()
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        if min(self.latency, self.jitter, self.rate_limit_window, self.secondary_window) < 0:
            raise ValueError("latency, jitter and windows must not be negative")
        if self.rate_limit < 0 or self.fail_first < 0:
            raise ValueError("rate_limit and fail_first must not be negative")
        if self.refuse_nth is not None and self.refuse_nth < 1:
            raise ValueError("refuse_nth must be at least 1 (or null for none)")
        if self.secondary_limit is not None and self.secondary_limit < 1:
            raise ValueError("secondary_limit must be at least 1 (or null for none)")
        if self.rate_limit_status not in (403, 429):
            raise ValueError("rate_limit_status must be 403 or 429")
        statuses = [*self.failure_statuses, self.fail_first_status]
        if any(not (400 <= s <= 599) for s in statuses):
            raise ValueError("failure statuses must be HTTP error codes (400-599)")
        if not isinstance(self.faults, dict) or not isinstance(self.failure_statuses, list):
            raise ValueError("faults must be an object of lists, failure_statuses a list")
        for repo, script in self.faults.items():
            if not isinstance(script, list):
                raise ValueError(f"faults[{repo!r}] must be a list of steps")
            for step in script:
                if isinstance(step, str) and step not in FAULT_KINDS:
                    raise ValueError(f"faults[{repo!r}]: unknown kind {step!r}")
                if isinstance(step, bool) or not isinstance(step, int | str):
                    raise ValueError(f"faults[{repo!r}]: a step is a status or a kind")
                if isinstance(step, int) and not (200 <= step <= 599):
                    raise ValueError(f"faults[{repo!r}]: bad status {step}")
        self.faults = {repo.lower(): list(script) for repo, script in self.faults.items()}
        self._validate_calendar()

    def _validate_numbers(self) -> None:
        """Every number knob is a finite number no larger than `MAX_KNOB` (JSON can say
        `1e400`, read as infinity, or a 400-digit integer)."""
        numbers = [f.name for f in fields(self) if f.type in NUMBER_TYPES]
        for name in numbers:
            value = getattr(self, name)
            if value is None and "None" in type(self).__dataclass_fields__[name].type:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, not {type(value).__name__}")
            if not (abs(value) <= MAX_KNOB and math.isfinite(value)):  # no float of a big int
                raise ValueError(f"{name} must be a finite number of at most {MAX_KNOB:g}")
        statuses = self.failure_statuses if isinstance(self.failure_statuses, list) else []
        for status in (*statuses, self.fail_first_status):
            if isinstance(status, bool) or not isinstance(status, int):
                raise ValueError("failure statuses must be integers")

    def _validate_calendar(self) -> None:
        seconds = self.day_seconds
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise ValueError("day_seconds must be a number of seconds (or null for none)")
            if not (math.isfinite(seconds) and seconds > 0):
                raise ValueError("day_seconds must be a positive number (or null for none)")
            self.day_seconds = float(seconds)
        if self.start_date is not None and not _is_iso_date(self.start_date):
            raise ValueError("start_date must be a date as YYYY-MM-DD (or null for the snapshot's)")


def _is_iso_date(text: object) -> bool:
    """Whether `text` is a real calendar date written `YYYY-MM-DD`."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
