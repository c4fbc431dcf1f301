"""Every day, through the flow (`github_stars.pipeline` = step `daily`) and the simulator's
calendar: a day-aware cache, a history with one row per repository and day, gaps for failures
filled the next day, a month with the three shapes, PostgreSQL, the API's day whatever the
machine's time zone, and the `history` command."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from github_stars.cli.history import main as history_main
from github_stars.core.star_history import StarHistory, StarRecord
from github_stars.pipeline import show_stars
from github_stars.reports.history_report import gains_per_day, stars_by_day
from github_stars.servers.postgres import SUPERUSER, PostgresCluster, postgres_available
from github_stars.simulator.calendar import example_repos, launch_day, shape_of, stars_on

pytestmark = pytest.mark.timeout(600)

REPOS = ["PrefectHQ/prefect", "pydantic/pydantic", "numpy/numpy"]
# Five repositories with the three shapes: two steady, two spikes (launch days 18 and 9),
# one losing.
MONTH_REPOS = [*example_repos("steady", 2), *example_repos("spike", 2), *example_repos("losing", 1)]
DAYS = 30
CLI_TIMEOUT = 240
UNAVAILABLE = postgres_available()


def fetched_today(sim) -> int:
    """Repository requests the simulator answered since its last reset."""
    return len(sim.requests())


def rows_by_key(history: StarHistory) -> dict[tuple[dt.date, str], StarRecord]:
    return {(r.day, r.repo.lower()): r for r in history.records()}


def calendar_date(sim) -> dt.date:
    return dt.date.fromisoformat(sim.calendar()["date"])


# --- the day in the cache key, and a history that keeps each day once ----------------------
def test_a_re_run_the_same_day_adds_nothing_and_a_new_day_fetches_again(sim, settings, tmp_path):
    location = str(tmp_path / "stars.db")
    flow = show_stars.with_options(name="daily-rerun")
    sim.set_day(3)
    first = flow(REPOS, settings, history=location)
    assert [r.ok and not r.cached for r in first] == [True] * 3 and fetched_today(sim) == 3
    with StarHistory.open(location) as history:
        day3 = rows_by_key(history)
    assert {day for day, _ in day3} == {calendar_date(sim)}
    assert {repo: row.stars for (_, repo), row in day3.items()} == {
        repo.lower(): stars_on(repo, 3) for repo in REPOS
    }

    sim.reset()  # empty the request log; the day stays
    again = flow(REPOS, settings, history=location)
    assert [r.cached for r in again] == [True] * 3 and fetched_today(sim) == 0
    with StarHistory.open(location) as history:
        assert history.count() == 3
        assert rows_by_key(history) == day3  # the first fetch of the day is kept as it was

    sim.advance(1)
    sim.reset()
    next_day = flow(REPOS, settings, history=location)
    assert [r.cached for r in next_day] == [False] * 3 and fetched_today(sim) == 3
    assert [r.stars for r in next_day] == [stars_on(repo, 4) for repo in REPOS]
    with StarHistory.open(location) as history:
        assert history.count() == 6 and len(history.days()) == 2


def test_a_failing_repository_gets_no_row_and_the_next_day_fills_it(sim, settings, tmp_path):
    location = str(tmp_path / "stars.db")
    flow = show_stars.with_options(name="daily-gap")
    failing = REPOS[1]
    sim.set_day(7)
    sim.update(faults={failing: [503] * 4})  # every attempt of the day fails
    results = flow(REPOS, settings, history=location)
    assert [r.ok for r in results] == [True, False, True]
    assert "503" in results[1].error  # reported, with why
    with StarHistory.open(location) as history:
        assert sorted(repo for _, repo in rows_by_key(history)) == sorted(
            r.lower() for r in REPOS if r != failing
        )
    sim.advance(1)  # the next day the API answers again (the script of faults is spent)
    results = flow(REPOS, settings, history=location)
    assert all(r.ok for r in results)
    with StarHistory.open(location) as history:
        frame = history.frame()
    assert len(frame) == 5 and (frame["stars"] > 0).all()  # a gap, never a zero
    table = stars_by_day(frame)
    assert table[failing].isna().tolist() == [True, False]
    assert table[failing].iloc[-1] == stars_on(failing, 8)


# --- a month: the three shapes, through the flow and the store -------------------------------
def test_thirty_days_of_five_repositories_have_the_three_shapes(sim, settings, tmp_path):
    assert [shape_of(r) for r in MONTH_REPOS] == ["steady"] * 2 + ["spike"] * 2 + ["losing"]
    location = str(tmp_path / "month.db")
    flow = show_stars.with_options(name="daily-month")
    for day in range(1, DAYS + 1):
        sim.set_day(day)
        results = flow(MONTH_REPOS, settings, history=location)
        assert all(r.ok and not r.cached for r in results), (day, results)
    flow(MONTH_REPOS, settings, history=location)  # a re-run of the last day adds nothing
    with StarHistory.open(location) as history:
        frame = history.frame()
    assert len(frame) == DAYS * len(MONTH_REPOS)
    assert not frame.duplicated(["day", "repo"]).any()
    days = day_numbers(frame)
    assert frame["stars"].tolist() == [
        stars_on(r, d) for r, d in zip(frame["repo"], days, strict=True)
    ]

    table = stars_by_day(frame)
    gains = gains_per_day(frame)
    assert len(table) == DAYS and not table.isna().any().any()
    steady, spikes, (losing,) = MONTH_REPOS[:2], MONTH_REPOS[2:4], MONTH_REPOS[4:]
    for repo in steady:
        assert (gains[repo] >= 0).all() and table[repo].iloc[-1] > table[repo].iloc[0]
    for repo in spikes:
        biggest = gains[repo].idxmax()
        assert (biggest - table.index[0]).days + 1 == launch_day(repo)  # day 1 is the first row
        assert gains[repo].max() >= 5 * gains[repo].median()
    assert (gains[losing] <= 0).all() and table[losing].iloc[-1] < table[losing].iloc[0]


def day_numbers(frame: pd.DataFrame) -> list[int]:
    """The simulated day of each row (the history's first day is day 1)."""
    first = frame["day"].min()
    return [(day - first).days + 1 for day in frame["day"]]


# --- PostgreSQL, through the flow ------------------------------------------------------------
@pytest.mark.skipif(UNAVAILABLE is not None, reason=f"no PostgreSQL here: {UNAVAILABLE}")
def test_the_history_on_postgresql_through_the_flow(sim, settings, monkeypatch, tmp_path):
    flow = show_stars.with_options(name="daily-postgres")
    with PostgresCluster(database="history", start_timeout=60) as cluster:
        monkeypatch.setenv("PGPASSWORD", cluster.password)  # the password never in the URL
        monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
        location = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{cluster.port}/history"
        sim.set_day(2)
        flow(REPOS, settings, history=location)
        again = flow(REPOS, settings, history=location)
        assert all(r.cached for r in again)
        sim.advance(1)
        flow(REPOS, settings, history=location)
        with StarHistory.open(location) as history:
            frame = history.frame()
            assert history.count() == 6 and len(history.days()) == 2
    assert not frame.duplicated(["day", "repo"]).any()
    assert frame["stars"].tolist() == [
        stars_on(r, d) for d in (2, 3) for r in sorted(REPOS, key=str.lower)
    ]


# --- the API's day, whatever the machine's time zone --------------------------------------
def test_the_day_is_the_apis_whatever_the_machine_time_zone(sim, tmp_path):
    """The API's clock stands at 00:00:00 UTC of day 10, the evening before in Honolulu
    (UTC-10): the one-shot command, run there, keeps the API's date."""
    location = tmp_path / "stars.db"
    sim.set_day(10)
    done = subprocess.run(
        [sys.executable, "-m", "github_stars", "--quiet", "--history", str(location), REPOS[0]],
        env=os.environ | {"TZ": "Pacific/Honolulu"},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with StarHistory.open(location) as history:
        assert history.days() == [calendar_date(sim)] and history.count() == 1
    assert calendar_date(sim) == dt.date(2026, 1, 24) + dt.timedelta(days=10)


# --- the `history` command ---------------------------------------------------------------
def write_history(location, days: int = 9) -> None:
    """`days` days of the month's repositories (the calendar's figures); day 4 misses one."""
    start = dt.date(2026, 1, 24)
    with StarHistory.open(location) as history:
        for day in range(days):
            for repo in MONTH_REPOS:
                if day == 4 and repo == MONTH_REPOS[0]:
                    continue
                fetched = dt.datetime(2026, 1, 24, 6, tzinfo=dt.UTC) + dt.timedelta(days=day)
                record = StarRecord(
                    start + dt.timedelta(days=day), repo, stars_on(repo, day), 1, 2, fetched, "t"
                )
                history.record(record)


def test_history_command_prints_tables_and_writes_csv_and_chart(tmp_path, capsys):
    location = tmp_path / "stars.db"
    write_history(location)
    csv, chart = tmp_path / "out" / "history.csv", tmp_path / "out" / "stars.png"
    assert history_main([str(location), "--csv", str(csv), "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert f"Star history in {location}: 44 rows, 5 repositories, 9 days" in out
    assert "Stars per day, last 7 days" in out and "Top movers over the last 7 days" in out
    lines = out.splitlines()
    header = lines[lines.index("Stars per day, last 7 days (-: no row that day):") + 1]
    assert header.split() == ["01-26", "01-27", "01-28", "01-29", "01-30", "01-31", "02-01"]
    gapped = MONTH_REPOS[0]
    line = next(line for line in lines if line.startswith(gapped))  # days 2, 3, 4 (no row)
    assert line.split()[1:4] == [f"{stars_on(gapped, 2):,}", f"{stars_on(gapped, 3):,}", "-"]

    rows = pd.read_csv(csv)
    assert len(rows) == 44 and "repo" in rows.columns
    assert not rows.duplicated(["day", "repo"]).any()
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_history_command_refuses_what_it_cannot_read(tmp_path, capsys):
    assert history_main([str(tmp_path / "none.db")]) == 2
    assert "no history at" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        history_main(["postgresql://me:secret@127.0.0.1/db"])
    assert exited.value.code == 2
    assert "secret" not in capsys.readouterr().err
