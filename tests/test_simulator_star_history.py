"""The simulator's star history (`simulator/star_weeks.py`): consistent with its snapshot and its
calendar, paginated as GitHub paginates, rate-limited and faulted like every request.

The model is a pure function of name and day, so most checks are direct and instant; the
server's are against the test's simulator with a frozen calendar.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from github_stars.simulator.calendar import example_repos, shape_of, stars_on, steady_gain
from github_stars.simulator.snapshot import SNAPSHOT_DATE, load_snapshot
from github_stars.simulator.star_weeks import (
    MAX_PER_PAGE,
    history_page,
    lifetime,
    pagination,
    stars_given,
)

UA = {"User-Agent": "github-stars-star-history-tests"}
DAY0 = date.fromisoformat(SNAPSHOT_DATE)
SHAPES = {shape: example_repos(shape, 2) for shape in ("steady", "spike", "losing")}
NAMES = [name for names in SHAPES.values() for name in names]


def every_week(name: str, day: int, per_page: int = 30) -> list[dict]:
    weeks, page, more = [], 1, True
    while more:
        found, more = history_page(name, DAY0, DAY0 + timedelta(days=day), day, page, per_page)
        weeks += found
        page += 1
    return weeks


def unstars(name: str, day: int) -> int:
    return sum(max(0, stars_on(name, d - 1) - stars_on(name, d)) for d in range(1, day + 1))


@pytest.mark.parametrize("name", NAMES)
def test_the_stars_given_add_up_to_the_snapshot_and_the_calendar(name):
    life = lifetime(name, DAY0)
    before = sum(stars_given(name, d, DAY0, 0) for d in range(life.first, 1))
    assert before == int(load_snapshot()[name.lower()].row["stargazers_count"])
    for day in (0, 9, 30):
        total = sum(week["total"] for week in every_week(name, day))
        assert total == stars_on(name, day) + unstars(name, day), day


@pytest.mark.parametrize("name", NAMES)
def test_days_inside_the_calendar_are_the_calendars_own(name):
    for day in range(1, 31):
        gain = stars_on(name, day) - stars_on(name, day - 1)
        assert stars_given(name, day, DAY0, 30) == max(gain, 0), day
    assert stars_given(name, 5, DAY0, 4) == 0  # a day the calendar has not reached


def test_a_launch_then_a_steady_rate_that_meets_the_calendars():
    """Before day 0: more stars a day in its first two weeks than over the next year; then a
    rate in a straight line to the calendar's own mean daily gain on day 0 (when its stars
    allow: an old repository's may fall short, never beyond), never below 0."""
    for name in NAMES:
        life = lifetime(name, DAY0)
        per_day = [stars_given(name, d, DAY0, 0) for d in range(life.first, 1)]
        assert min(per_day) >= 0
        if life.days > 400:
            assert statistics.mean(per_day[:14]) > statistics.mean(per_day[30:395]), name
        calendar = 0.0 if shape_of(name) == "losing" else steady_gain(name)
        assert life.end_rate <= calendar and life.start_rate >= 0
        if life.start_rate > 0:  # the calendar's rate was reachable: the two meet
            assert life.end_rate == calendar
        alone = replace(life, launch_share=0.0)  # no launch: its stars all at the steady rate
        last = alone.stars_by(life.days - 1) - alone.stars_by(life.days - 2)
        assert abs(last - life.end_rate / (1 - life.launch_share)) <= 1, name


def test_a_repository_the_snapshot_says_was_created_after_its_date_starts_on_day_0():
    late = next(r for r in load_snapshot().values() if r.row["created_at"] > SNAPSHOT_DATE)
    life = lifetime(late.full_name, DAY0)
    assert life.first == 0 and stars_given(late.full_name, 0, DAY0, 0) == life.stars


def test_pages_split_the_weeks_as_github_paginates():
    name = SHAPES["steady"][0]
    whole = every_week(name, 12, per_page=MAX_PER_PAGE)
    assert every_week(name, 12, per_page=7) == whole == every_week(name, 12, per_page=1)
    today = DAY0 + timedelta(days=12)
    beyond, more = history_page(name, DAY0, today, 12, len(whole) + 1, 1)
    assert (beyond, more) == ([], False)
    assert pagination({}) == (1, 30) and pagination({"page": "2", "per_page": "500"}) == (2, 100)
    assert pagination({"page": "0", "per_page": "x"}) == (1, 30)
    assert pagination({"page": "9" * 5000}) == (1, 30)  # more digits than Python converts


# --- the server ----------------------------------------------------------------------------------
def get(sim, path: str, **headers: str) -> httpx.Response:
    return httpx.get(sim.url + path, headers=UA | headers, timeout=10)


def test_the_server_answers_the_model_by_name_and_by_id_and_follows_renames(sim):
    sim.set_day(4)
    name = "psf/requests"
    by_name = get(sim, f"/repos/{name}/stargazers/history?per_page=5&page=2")
    numeric = f"/repositories/{load_snapshot()[name].id}/stargazers/history"
    by_id = get(sim, f"{numeric}?per_page=5&page=2")
    assert by_name.json() == by_id.json() == every_week(name, 4, per_page=5)[5:10]
    assert by_name.headers["link"] == by_id.headers["link"]
    moved = get(sim, "/repos/kennethreitz/requests/stargazers/history?per_page=5&page=2")
    assert moved.status_code == 301
    assert moved.headers["location"] == f"{sim.url}{numeric}?per_page=5&page=2"
    assert httpx.get(moved.headers["location"], headers=UA).json() == by_name.json()
    sim.reset(settings=True)


def sunday(week: dict) -> date:
    return datetime.fromtimestamp(week["week"], UTC).date()


def test_without_a_calendar_the_weeks_run_to_the_real_date_with_no_star_after_day_0(sim):
    name = SHAPES["spike"][0]
    reply = get(sim, f"/repos/{name}/stargazers/history?per_page=100")
    weeks, today = reply.json(), parsedate_to_datetime(reply.headers["date"]).date()
    assert reply.status_code == 200 and today > DAY0  # real time: the calendar is off
    assert sunday(weeks[0]) <= today < sunday(weeks[0]) + timedelta(days=7)
    after_day_0 = [
        stars
        for week in weeks
        for n, stars in enumerate(week["days"])
        if sunday(week) + timedelta(days=n) > DAY0
    ]
    assert after_day_0 and set(after_day_0) == {0}  # the figures do not move


def test_the_star_history_is_rate_limited_counted_and_faulted_like_every_request(sim):
    sim.configure(rate_limit=3, faults={"psf/requests": [503]})
    path = "/repos/psf/requests/stargazers/history"
    statuses = [get(sim, path).status_code for _ in range(3)]
    refused = get(sim, "/repos/psf/requests/stargazers/count")
    assert statuses == [503, 200, 200] and refused.status_code == 403
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert [e["kind"] for e in sim.requests()] == ["503", "ok", "ok", "primary_limit"]
    assert all(e["path"].startswith("/repos/psf/requests/stargazers/") for e in sim.requests())
    sim.reset(settings=True)
    missing = get(sim, "/repos/nobody/x/stargazers/history")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
