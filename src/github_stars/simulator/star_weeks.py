"""Stars given per day over a repository's life, served as GitHub's star history serves them.

`GET /repos/{owner}/{repo}/stargazers/history` answers weeks of seven days, newest first, in
pages: `{"week": <Unix time of the week's Sunday, 00:00 UTC>, "total": <sum of days>, "days":
[<stars given on each day, Sunday first>]}`. Stars given, not net: an un-star is in no day.

Pure functions of the repository's (lower-cased) full name and the calendar (`clock.py`):

- from its creation (`created_at`; a repository the snapshot says was created after its date
  starts on day 0) to day 0, its snapshot's stars, given along a launch (a share of them in
  the first days, decaying) and a steady rate that moves in a straight line to the calendar's
  own mean daily gain on day 0 (none for a `losing` repository), so the two meet: falling
  for a young repository that gathered its stars fast, rising for an old one (from 0 at the
  most, when its stars are too few to reach the calendar's rate). They sum to the snapshot's
  `stargazers_count` exactly;
- from day 1 to the simulated today, the calendar's own daily gain
  (`calendar.figures_on`); a day whose count falls (a `losing` repository) has none given,
  its loss being un-stars, which the history does not report;
- with the calendar off, no day after day 0 has any (the figures do not move), and the weeks
  run to the real date the answer's `Date` shows.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from github_stars.simulator.calendar import shape_of, stars_on, steady_gain, unit_hash
from github_stars.simulator.snapshot import load_snapshot

WEEK_DAYS = 7
DEFAULT_PER_PAGE, MAX_PER_PAGE = 30, 100  # GitHub's rule for its paginated lists


@dataclass(frozen=True)
class Lifetime:
    """How a repository gathered its day-0 stars: from day `first` (its creation, <= 0), a
    `launch_share` of them in a launch decaying over `launch_days`, the rest at a rate going
    in a straight line from `start_rate` on its first day to `end_rate` on day 0."""

    first: int
    stars: int
    launch_share: float
    launch_days: float
    start_rate: float
    end_rate: float

    @property
    def days(self) -> int:
        """Days from its creation to day 0, both included."""
        return 1 - self.first

    def stars_by(self, age: int) -> int:
        """Stars given by the end of day `age` of its life (0: its creation day)."""
        if age < 0 or not self.stars:
            return 0
        if age >= self.days - 1:
            return self.stars
        elapsed, span = age + 1, self.days
        launch = (1 - math.exp(-elapsed / self.launch_days)) / (
            1 - math.exp(-span / self.launch_days)
        )
        start, change = self.start_rate, (self.end_rate - self.start_rate) / (span - 1)
        steady = (start * elapsed + change * elapsed * (elapsed - 1) / 2) / (
            start * span + change * span * (span - 1) / 2
        )
        share = self.launch_share * launch + (1 - self.launch_share) * steady
        return math.floor(self.stars * share + 0.5)


@functools.lru_cache(maxsize=8192)
def lifetime(full_name: str, start: date) -> Lifetime:
    """The `Lifetime` of a snapshot repository whose day 0 is `start`."""
    key = full_name.lower()
    row = load_snapshot()[key].row
    first = min((date.fromisoformat(row["created_at"]) - start).days, 0)
    stars, share = int(row["stargazers_count"]), 0.05 + 0.30 * unit_hash("launch-share", key)
    # A straight line whose days sum to the steady stars: twice their mean a day at the most.
    most = 2 * (1 - share) * stars / (1 - first)
    end = min(0.0 if shape_of(key) == "losing" else steady_gain(key), most)
    return Lifetime(
        first=first,
        stars=stars,
        launch_share=share,
        launch_days=3.0 + 27.0 * unit_hash("launch-days", key),
        start_rate=most - end,
        end_rate=end,
    )


def stars_given(full_name: str, day: int, start: date, last_day: int) -> int:
    """Stars given on day `day` (0 = `start`, negative before) when the calendar stands at
    `last_day`: none before its creation nor after `last_day`."""
    life = lifetime(full_name, start)
    if day < life.first or day > last_day:
        return 0
    if day <= 0:
        age = day - life.first
        return life.stars_by(age) - life.stars_by(age - 1)
    return max(0, stars_on(full_name, day) - stars_on(full_name, day - 1))


def week_start(day: date) -> date:
    """The Sunday on or before `day` (GitHub's weeks start on Sunday)."""
    return day - timedelta(days=(day.weekday() + 1) % WEEK_DAYS)


def unix_midnight(day: date) -> int:
    return int(datetime.combine(day, time(0), UTC).timestamp())


def history_page(
    full_name: str, start: date, today: date, last_day: int, page: int, per_page: int
) -> tuple[list[dict[str, object]], bool]:
    """Page `page` (from 1) of `per_page` weeks, newest first, from `today`'s week back to
    the creation's; and whether a later page has weeks."""
    created = start + timedelta(days=lifetime(full_name, start).first)
    newest = week_start(today)
    weeks = max(0, (newest - week_start(created)).days // WEEK_DAYS + 1)
    first, last = (page - 1) * per_page, min(page * per_page, weeks)
    answer = []
    for index in range(first, last):
        sunday = newest - timedelta(weeks=index)
        days = [
            0 if day > today else stars_given(full_name, (day - start).days, start, last_day)
            for day in (sunday + timedelta(days=n) for n in range(WEEK_DAYS))
        ]
        answer.append({"week": unix_midnight(sunday), "total": sum(days), "days": days})
    return answer, page * per_page < weeks


def pagination(query: dict[str, str]) -> tuple[int, int]:
    """`(page, per_page)` from a query: GitHub's defaults for a missing or unusable value,
    `per_page` at most `MAX_PER_PAGE`."""

    def number(name: str, default: int) -> int:
        try:
            value = int(query.get(name, ""))
        except ValueError:  # not a number, or more digits than Python converts
            return default
        return value if value >= 1 else default

    return number("page", 1), min(number("per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)


def link_header(base_url: str, repo_id: int, page: int, per_page: int, more: bool) -> str:
    """GitHub's `Link` for page `page`, in its numeric form (`/repositories/{id}/...`):
    `prev` and `first` after the first page, `next` while a later page has weeks."""
    url = f"{base_url}/repositories/{repo_id}/stargazers/history?per_page={per_page}&page="
    links = []
    if page > 1:
        links.append(f'<{url}{page - 1}>; rel="prev"')
    if more:
        links.append(f'<{url}{page + 1}>; rel="next"')
    if page > 1:
        links.append(f'<{url}1>; rel="first"')
    return ", ".join(links)
