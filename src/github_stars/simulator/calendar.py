"""Star history: each repository's figures on simulated day `d` after the snapshot (day 0).

Pure functions of the repository's (lower-cased) full name and the day index: no randomness
that depends on time or request order. Day 0 is the snapshot exactly. Every repository has
one of three shapes, picked by a hash of its name (`SHAPE_SHARES`):

- `steady`: a small daily gain (`r` = 0.02-0.1% of its stars, at least 0.1 a day) that varies
  deterministically from day to day between 0 and `2r`; never negative;
- `spike`: the steady gain plus a launch on one day in 3..20: a jump of 5-20% of its stars
  (at least 300), then extra gains halving every day (30%, 15%, ... of the jump);
- `losing`: a small net daily loss (0.01-0.04% of its stars, at least 0.1 a day), never
  below 0.

`forks_count` grows slowly for every shape (a spike adds one fork per 20 of its extra stars).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, NamedTuple

from github_stars.simulator.snapshot import SnapshotRepo, load_snapshot, repo_json

SHAPES = ("steady", "spike", "losing")
# Share of repositories of each shape. With these shares and the salt "shape", the 50
# most-starred snapshot repositories hold all three (see the simulator's README).
SHAPE_SHARES = {"spike": 0.10, "losing": 0.05, "steady": 0.85}
LAUNCH_DAYS = (3, 20)  # a spike's launch day, both ends included
MIN_JUMP = 300


class Figures(NamedTuple):
    """A repository's counts on one day."""

    stars: int
    forks: int


def unit_hash(*parts: object) -> float:
    """A deterministic number in [0, 1) from `parts` (SHA-256 of their joined text)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return int(digest[:13], 16) / 16**13


def _snapshot_row(full_name: str) -> SnapshotRepo:
    try:
        return load_snapshot()[full_name.lower()]
    except KeyError:
        raise KeyError(f"{full_name!r} is not in the snapshot") from None


def shape_of(full_name: str) -> str:
    """`"steady"`, `"spike"` or `"losing"`: the repository's shape, from its name's hash."""
    draw = unit_hash("shape", full_name.lower())
    if draw < SHAPE_SHARES["spike"]:
        return "spike"
    if draw < SHAPE_SHARES["spike"] + SHAPE_SHARES["losing"]:
        return "losing"
    return "steady"


def _drift(key: str, rate: float, day: int, salt: str) -> int:
    """`rate * day` plus a per-day jitter in [0, rate), rounded down: 0 on day 0, never falling.

    Day to day it moves by between 0 and `2 * rate`, a deterministic variation.
    """
    jitter = rate * unit_hash(salt, key, day) if day else 0.0
    return math.floor(rate * day + jitter)


def launch_day(full_name: str) -> int:
    """The day of a repository's launch spike (for any shape; only `spike` uses it)."""
    first, last = LAUNCH_DAYS
    return first + math.floor(unit_hash("launch", full_name.lower()) * (last - first + 1))


def _spike_extra(key: str, stars0: int, day: int) -> int:
    """A spike's extra stars by `day`: the jump on launch day, then a halving tail (60%)."""
    launch = launch_day(key)
    if day < launch:
        return 0
    jump = max(MIN_JUMP, round(stars0 * (0.05 + 0.15 * unit_hash("jump", key))))
    return jump + math.floor(0.6 * jump * (1 - 0.5 ** (day - launch)))


def _check_day(day: int) -> None:
    if isinstance(day, bool) or not isinstance(day, int) or day < 0:
        raise ValueError(f"day must be a non-negative integer, not {day!r}")


def steady_gain(full_name: str) -> float:
    """The mean daily gain of a `steady` or `spike` repository (a spike's launch aside)."""
    key = full_name.lower()
    stars0 = int(_snapshot_row(key).row["stargazers_count"])
    return max(0.1, stars0 * (0.0002 + 0.0008 * unit_hash("rate", key)))


def figures_on(full_name: str, day: int) -> Figures:
    """Stars and forks of a snapshot repository on `day` (0 = the snapshot's)."""
    _check_day(day)
    row = _snapshot_row(full_name).row
    key = full_name.lower()
    stars0, forks0 = int(row["stargazers_count"]), int(row["forks_count"])
    shape = shape_of(key)
    fork_rate = 0.02 + forks0 * (0.0001 + 0.0003 * unit_hash("fork-rate", key))
    forks = forks0 + _drift(key, fork_rate, day, "fork-day")
    if shape == "losing":
        loss = max(0.1, stars0 * (0.0001 + 0.0003 * unit_hash("rate", key)))
        return Figures(max(0, stars0 - _drift(key, loss, day, "day")), forks)
    stars = stars0 + _drift(key, steady_gain(key), day, "day")
    if shape == "spike":
        extra = _spike_extra(key, stars0, day)
        stars, forks = stars + extra, forks + extra // 20
    return Figures(stars, forks)


def stars_on(full_name: str, day: int) -> int:
    """`stargazers_count` of a snapshot repository on `day`."""
    return figures_on(full_name, day).stars


def repo_on_day(repo: SnapshotRepo, base_url: str, day: int) -> dict[str, Any]:
    """The `full-repository` body of `repo` on `day`: the snapshot's, with that day's counts.

    `watchers_count`/`watchers` mirror the stars and `forks`/`network_count` the forks, as in
    `repo_json`; everything else is the snapshot's.
    """
    body = repo_json(repo, base_url)
    if day == 0:
        return body
    stars, forks = figures_on(repo.full_name, day)
    for field in ("stargazers_count", "watchers_count", "watchers"):
        body[field] = stars
    for field in ("forks_count", "forks", "network_count"):
        body[field] = forks
    return body


def star_series(full_name: str, days: int) -> list[int]:
    """Stars on days 0..`days` (both included)."""
    return [stars_on(full_name, day) for day in range(days + 1)]


def example_repos(shape: str, n: int = 3) -> list[str]:
    """The `n` most-starred snapshot repositories of `shape`, as full names."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, not {shape!r}")
    names = (repo.full_name for repo in load_snapshot().values())
    return [name for name in names if shape_of(name) == shape][:n]
