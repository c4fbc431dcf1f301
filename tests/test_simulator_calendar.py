"""The simulator lives through days: a calendar, a `Date` that follows it, and star histories.

The figures are pure functions of repository name and day (`simulator/calendar.py`); the
server serves the day its clock shows (`simulator/clock.py`). Most tests move a frozen calendar
with `advance`/`set_day`, so they are instant; one lets a fast clock run for a second.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from github_stars.simulator import free_port, start_simulator
from github_stars.simulator.__main__ import parse_args
from github_stars.simulator.calendar import (
    SHAPE_SHARES,
    SHAPES,
    example_repos,
    figures_on,
    launch_day,
    repo_on_day,
    shape_of,
    star_series,
    stars_on,
)
from github_stars.simulator.snapshot import SNAPSHOT_DATE, load_snapshot, repo_json

UA = {"User-Agent": "github-stars-calendar-tests"}
TOKEN = {"Authorization": "Bearer not-a-real-token"}
SNAPSHOT_DAY = datetime.fromisoformat(SNAPSHOT_DATE).replace(tzinfo=UTC)
DAYS = 30
# Five repositories of the three shapes, among the most starred.
FIVE = [*example_repos("steady", 2), *example_repos("spike", 2), *example_repos("losing", 1)]


def get(sim, path: str, **headers: str) -> httpx.Response:
    return httpx.get(sim.url + path, headers=UA | headers, timeout=10)


def date_of(reply: httpx.Response) -> datetime:
    """The answer's one `Date` header, parsed."""
    assert len(reply.headers.get_list("date")) == 1  # the server adds no second one
    return parsedate_to_datetime(reply.headers["date"])


def gains(series: list[int]) -> list[int]:
    return [after - before for before, after in zip(series, series[1:], strict=False)]


@pytest.fixture
def cal(sim):
    """The test's simulator; default knobs (no calendar) again afterwards."""
    yield sim
    sim.reset(settings=True)


# --- the figures: pure functions ------------------------------------------------------------
def test_day_zero_is_the_snapshot():
    base = "http://127.0.0.1:1"
    for key, repo in load_snapshot().items():
        row = repo.row
        expected = (int(row["stargazers_count"]), int(row["forks_count"]))
        assert figures_on(repo.full_name, 0) == expected, key
    for repo in list(load_snapshot().values())[:100]:
        assert repo_on_day(repo, base, 0) == repo_json(repo, base)


def test_figures_are_a_pure_function_of_name_and_day():
    for name in FIVE:
        assert star_series(name, DAYS) == star_series(name, DAYS)
        assert figures_on(name.upper(), 12) == figures_on(name.lower(), 12)
        assert shape_of(name.upper()) == shape_of(name)


def test_shapes_have_their_documented_shares_and_the_top_50_has_each():
    names = [repo.full_name for repo in load_snapshot().values()]
    counts = {shape: sum(shape_of(n) == shape for n in names) for shape in SHAPES}
    for shape, share in SHAPE_SHARES.items():
        assert abs(counts[shape] / len(names) - share) < 0.02, (shape, counts)
    assert {shape_of(n) for n in names[:50]} == set(SHAPES)
    for shape in SHAPES:
        examples = example_repos(shape, 3)
        assert len(examples) == 3 and all(shape_of(n) == shape for n in examples)
        assert names.index(examples[0]) < 50
    with pytest.raises(ValueError, match="shape"):
        example_repos("flat")


@pytest.mark.parametrize("name", FIVE)
def test_each_shape_over_30_days(name):
    series = star_series(name, DAYS)
    daily = gains(series)
    forks = [figures_on(name, day).forks for day in range(DAYS + 1)]
    assert min(gains(forks)) >= 0 and forks[-1] > forks[0]  # forks grow slowly, every shape
    shape = shape_of(name)
    if shape == "steady":
        assert min(daily) >= 0 and series[-1] > series[0]
        assert len(set(daily)) > 5  # it varies from day to day
    elif shape == "spike":
        launch = launch_day(name)
        assert 3 <= launch <= 20
        biggest = max(daily)
        assert daily.index(biggest) + 1 == launch  # gains[i] is day i+1's
        assert biggest > 10 * statistics.median(daily) and biggest >= 300
        assert daily[launch] > 2 * statistics.median(daily)  # still elevated the day after
        assert min(daily) >= 0
    else:
        assert shape == "losing"
        assert max(daily) <= 0 and series[-1] < series[0] and min(series) >= 0


def test_a_losing_repository_never_goes_below_zero():
    names = [repo.full_name for repo in load_snapshot().values()]
    smallest = [n for n in reversed(names) if shape_of(n) == "losing"][0]
    assert stars_on(smallest, 10_000) == 0
    assert min(star_series(smallest, 200)) == 0


def test_a_day_must_be_a_non_negative_integer():
    for day in (-1, 1.5, True):
        with pytest.raises(ValueError, match="day"):
            figures_on("psf/requests", day)
    with pytest.raises(KeyError, match="not in the snapshot"):
        stars_on("nobody/nothing", 1)


# --- the server -----------------------------------------------------------------------------
def test_without_a_calendar_nothing_changes(cal):
    assert cal.settings()["day_seconds"] is None and cal.settings()["start_date"] is None
    calendar = cal.calendar()
    assert (calendar["on"], calendar["day"], calendar["date"]) == (False, 0, SNAPSHOT_DATE)
    for name in FIVE:
        reply = get(cal, f"/repos/{name}")
        assert abs(date_of(reply).timestamp() - time.time()) < 5  # real time
        assert reply.json()["stargazers_count"] == stars_on(name, 0)
    time.sleep(1.1)
    assert cal.calendar()["day"] == 0  # no clock runs


def test_advance_moves_the_figures_and_the_date(cal):
    name = example_repos("spike", 1)[0]
    launch = launch_day(name)
    answer = cal.advance(launch)
    assert (answer["on"], answer["running"], answer["day"]) == (True, False, launch)
    expected = SNAPSHOT_DAY + timedelta(days=launch)
    assert answer["date"] == expected.date().isoformat()
    assert answer["now"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
    for path in (f"/repos/{name}", "/rate_limit", "/repos/nobody/nothing", "/_simulator/health"):
        assert date_of(get(cal, path)) == expected, path
    body = get(cal, f"/repos/{name}").json()
    assert body["stargazers_count"] == body["watchers_count"] == stars_on(name, launch)
    assert body["stargazers_count"] - stars_on(name, launch - 1) >= 300  # launch day
    assert body["forks_count"] == body["network_count"] == figures_on(name, launch).forks
    assert cal.advance(2)["day"] == launch + 2
    assert cal.set_day(0)["day"] == 0
    assert get(cal, f"/repos/{name}").json() == repo_json(load_snapshot()[name.lower()], cal.url)


def test_a_running_clock_moves_the_date(cal):
    cal.configure(day_seconds=0.5)
    first = get(cal, "/repos/psf/requests")
    started = time.monotonic()
    time.sleep(1.0)
    second = get(cal, "/repos/psf/requests")
    real = time.monotonic() - started
    simulated = (date_of(second) - date_of(first)).total_seconds() / 86400
    assert simulated >= 1.5 and abs(simulated - real / 0.5) < 0.5  # ~2 days for ~1 s
    assert date_of(first) - SNAPSHOT_DAY < timedelta(days=1)
    calendar = cal.calendar()
    assert calendar["running"] and calendar["day"] >= 2
    day = (date_of(second) - SNAPSHOT_DAY).days
    assert second.json()["stargazers_count"] == stars_on("psf/requests", day)
    # An advance adds whole days to the running clock.
    before = cal.calendar()["day"]
    assert cal.advance(10)["day"] - before in (10, 11, 12)


def test_start_date_relabels_the_days(cal):
    cal.configure(start_date="2025-12-01")
    calendar = cal.calendar()
    assert (calendar["on"], calendar["running"], calendar["day"]) == (True, False, 0)
    reply = get(cal, "/repos/psf/requests")
    assert reply.headers["date"] == "Mon, 01 Dec 2025 00:00:00 GMT"
    assert reply.json()["stargazers_count"] == stars_on("psf/requests", 0)  # day 0: snapshot
    assert cal.advance(2)["date"] == "2025-12-03"
    assert get(cal, "/rate_limit").headers["date"] == "Wed, 03 Dec 2025 00:00:00 GMT"


def test_when_the_clock_restarts(cal):
    cal.advance(5)
    cal.update(latency=0.0)  # other knobs: the calendar keeps its day
    cal.reset()  # the log only
    assert cal.calendar()["day"] == 5
    cal.update(start_date=SNAPSHOT_DATE)  # naming a calendar knob restarts it
    assert cal.calendar()["day"] == 0
    cal.advance(3)
    cal.reset(settings=True)  # defaults again: no calendar
    assert cal.calendar() | {"now": None} == {
        "on": False,
        "running": False,
        "day": 0,
        "date": SNAPSHOT_DATE,
        "now": None,
        "day_seconds": None,
        "start_date": SNAPSHOT_DATE,
    }


def test_bad_calendar_knobs_and_jumps_are_rejected(cal):
    for knobs in ({"day_seconds": 0}, {"day_seconds": -1}, {"day_seconds": "fast"}):
        with pytest.raises(ValueError, match="day_seconds"):
            cal.configure(**knobs)
    for start in ("2026-02-30", "26-01-24", "2026-01-24T00:00:00", 20260124):
        with pytest.raises(ValueError, match="start_date"):
            cal.configure(start_date=start)
    with pytest.raises(ValueError, match="integer"):
        cal.advance(1.5)
    with pytest.raises(ValueError, match="negative"):
        cal.set_day(-1)
    with pytest.raises(ValueError, match="between 0"):
        cal.advance(-1)
    reply = httpx.post(cal.url + "/_simulator/calendar", json={"days": 1}, timeout=10)
    assert reply.status_code == 400
    assert cal.calendar()["on"] is False  # nothing moved


@pytest.mark.parametrize("auth", [{}, TOKEN], ids=["anonymous", "token"])
def test_etags_follow_the_days(cal, auth):
    name = example_repos("steady", 1)[0]
    first = get(cal, f"/repos/{name}", **auth)
    etag = first.headers["etag"]
    assert get(cal, f"/repos/{name}", **auth, **{"If-None-Match": etag}).status_code == 304
    cal.advance(1)
    changed = get(cal, f"/repos/{name}", **auth, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    body = changed.json()
    assert body["stargazers_count"] == stars_on(name, 1) > first.json()["stargazers_count"]
    digest = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()
    assert changed.headers["etag"] == f'"{digest}"'  # still the body's
    again = get(cal, f"/repos/{name}", **auth, **{"If-None-Match": changed.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == changed.headers["etag"]
    assert date_of(again) == SNAPSHOT_DAY + timedelta(days=1)


@pytest.mark.timeout(120)
def test_two_simulators_serve_the_same_days(cal):
    other = start_simulator(free_port())
    try:
        for server in (cal, other):
            server.set_day(7)
        for name in FIVE:
            ours, theirs = get(cal, f"/repos/{name}").json(), get(other, f"/repos/{name}").json()
            assert ours["stargazers_count"] == theirs["stargazers_count"] == stars_on(name, 7)
            assert ours["forks_count"] == theirs["forks_count"]
    finally:
        other.stop()


def test_the_command_line_takes_the_calendar_knobs():
    args = parse_args(["--day-seconds", "0.5", "--start-date", "2026-01-01"])
    assert (args.day_seconds, args.start_date) == (0.5, "2026-01-01")
