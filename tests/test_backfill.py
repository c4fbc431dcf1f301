"""The backfill (`github_stars.backfill`, `python -m github_stars history PATH --backfill`):
every day back to the first star from the API's star history, kept apart from what was
observed.

Backfill, then daily runs, then backfill again on one store (SQLite and PostgreSQL): no
duplicate, no observed row replaced, a source for every row, estimates that are the
simulator's own figures where it models no un-star. A failing repository is reported and the
others' rows stay; a refusal pauses and the walk completes; a run killed half-way and run
again completes without duplicates; an answer in GitHub's observed shape is read, and a next
page outside the API is never asked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from test_history import needs_postgres, postgres_cluster, postgres_location  # noqa: F401

from github_stars import backfill as backfill_module
from github_stars.backfill import backfill_stars
from github_stars.cli.history import main as history_main
from github_stars.core.star_history import StarHistory
from github_stars.pipeline import show_stars
from github_stars.servers import free_port
from github_stars.settings import Settings
from github_stars.simulator.calendar import shape_of, stars_on
from github_stars.simulator.snapshot import SNAPSHOT_DATE
from github_stars.simulator.star_weeks import lifetime, stars_given

pytestmark = pytest.mark.timeout(300)

DAY0 = dt.date.fromisoformat(SNAPSHOT_DATE)
# Recent repositories (one page of 30 weeks each), one of each shape.
STEADY, SPIKE, LOSING = "obra/superpowers", "fission-ai/OpenSpec", "tencentcloudadp/youtu-agent"
REPOS = [STEADY, SPIKE, LOSING]
PROCESS_TIMEOUT = 120.0


def day_of(index: int) -> dt.date:
    return DAY0 + dt.timedelta(days=index)


def rows(location: str) -> dict[tuple[str, dt.date], tuple[int, str, dt.datetime]]:
    with StarHistory.open(location, read_only=True) as history:
        found = history.records()
    keyed = {(r.repo.lower(), r.day): (r.stars, r.source, r.fetched_at) for r in found}
    assert len(keyed) == len(found)  # one row per repository and day
    return keyed


def first_star(name: str) -> int:
    """The day index of a repository's first star in the simulator's model."""
    day = lifetime(name, DAY0).first
    while not stars_given(name, day, DAY0, 0):
        day += 1
    return day


def true_stars(name: str, day: int, today: int) -> int:
    """What the estimate of `day` made on `today` is when no un-star is missed: the stars
    given up to that day (the calendar's count from day 0 on)."""
    if day >= 0:
        return stars_on(name, day)
    given_after = sum(stars_given(name, d, DAY0, today) for d in range(day + 1, 1))
    return stars_on(name, 0) - given_after


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_postgres)])
def location(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "stars.db")
    return request.getfixturevalue("postgres_location")


def test_backfill_then_daily_runs_then_backfill_again(sim, settings, location, monkeypatch):
    """One store: the backfill's estimates, observed rows that replace them and are never
    replaced, a re-run the same day that adds nothing, and a later backfill that fills only
    what was not observed."""
    assert [shape_of(name) for name in REPOS] == ["steady", "spike", "losing"]
    monkeypatch.setattr(backfill_module, "PER_PAGE", 5)  # several pages per repository
    sim.set_day(2)
    first = backfill_stars.with_options(name="backfill-1")(REPOS, settings, location)
    assert [(r.ok, r.cached) for r in first] == [(True, False)] * 3, first
    pages = [e for e in sim.requests() if e["path"].endswith("/stargazers/history")]
    assert len(pages) > 2 * len(REPOS)  # walked by its `next` links
    backfilled = rows(location)
    for name in REPOS:
        key = name.lower()
        days = sorted(day for repo, day in backfilled if repo == key)
        assert days == [day_of(d) for d in range(first_star(name), 3)], name
        assert {backfilled[key, day][1] for day in days} == {"backfilled"}
    for name in (STEADY, SPIKE):  # no un-star in the model: the estimate is exact
        for index in range(first_star(name), 3):
            assert backfilled[name.lower(), day_of(index)][0] == true_stars(name, index, 2)
    # A losing repository: its un-stars since day 0 are not in the history, so the estimate of
    # day 0 is today's count, below what day 0 had.
    assert backfilled[LOSING.lower(), DAY0][0] == stars_on(LOSING, 2) < stars_on(LOSING, 0)

    sim.reset()
    again = backfill_stars.with_options(name="backfill-2")(REPOS, settings, location)
    assert [r.cached for r in again] == [True] * 3 and sim.requests() == []
    assert rows(location) == backfilled  # the same rows, as they were

    for index in (2, 3, 4):  # the daily pipeline, the same day's first; its own cache entries
        sim.set_day(index)
        daily = show_stars.with_options(name="daily")(REPOS, settings, history=location)
        assert [r.stars for r in daily] == [stars_on(name, index) for name in REPOS]
    observed = rows(location)
    sim.reset()
    later = backfill_stars.with_options(name="backfill-3")(REPOS, settings, location)
    assert [(r.ok, r.cached) for r in later] == [(True, False)] * 3  # a new day asks again
    final = rows(location)
    assert {source for _, source, _ in final.values()} == {"backfilled", "observed"}
    for name in REPOS:
        key = name.lower()
        assert sorted(day for repo, day in final if repo == key) == [
            day_of(d) for d in range(first_star(name), 5)
        ]
        for index in (2, 3, 4):  # observed: never replaced
            assert final[key, day_of(index)] == observed[key, day_of(index)]
            assert final[key, day_of(index)][:2] == (stars_on(name, index), "observed")
        older = [final[key, day_of(d)] for d in range(first_star(name), 2)]
        assert {source for _, source, _ in older} == {"backfilled"}
        assert {fetched.date() for _, _, fetched in older} == {day_of(4)}  # the fresher
    print(f"\n{location.split('://')[0]}: {len(final):,} rows after backfill, 3 days, backfill")


def test_a_failing_repository_is_reported_and_the_others_are_kept(sim, settings, tmp_path):
    """Server errors are retried (then reported), a 404 and a bad name are not; a refusal
    pauses the walk as GitHub asks, and it completes."""
    location = str(tmp_path / "stars.db")
    sim.set_day(1)
    sim.update(faults={SPIKE: [503] * 4}, refuse_nth=3, retry_after=1)
    names = [STEADY, SPIKE, "nobody/nothing", "not a name", LOSING]
    results = backfill_stars.with_options(name="backfill-faults")(names, settings, location)
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert "server error 503 (gave up after 4 attempts)" in results[1].error
    assert results[2].error == "not found (404)" and results[3].error_kind == "invalid name"
    log = sim.requests()
    assert sum(e["kind"] == "429" for e in log) == 1  # refused once, then paused and retried
    assert sum(e["repo"] == SPIKE.lower() for e in log) == 4
    kept = rows(location)
    assert {repo for repo, _ in kept} == {STEADY.lower(), LOSING.lower()}
    assert kept[STEADY.lower(), day_of(1)][0] == stars_on(STEADY, 1)


# --- the command line: killed half-way, then run again ---------------------------------------
def backfill_command(location: str, *names: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "github_stars", "history", location, "--backfill", *names],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its process group, to kill it whole
    )


def test_a_killed_backfill_keeps_its_rows_and_a_re_run_completes_it(sim, tmp_path):
    """A short history is written while long ones are still walked (each request slowed);
    SIGKILL to the whole command; run again, it completes: the rows written before the kill
    are kept as they were, every day has one row."""
    location = str(tmp_path / "stars.db")
    short, long = STEADY, ["psf/requests", "django/django"]  # 1 page; about 27 pages each
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"} | {"GITHUB_API_URL": sim.url}
    sim.set_day(1)
    sim.update(latency=0.15)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        process = stack.enter_context(backfill_command(location, short, *long, env=env))
        stack.callback(lambda: process.poll() is None and os.killpg(process.pid, signal.SIGKILL))
        while not (os.path.exists(location) and short_rows(location)):
            assert process.poll() is None, process.communicate()[1].decode()[-3000:]
            assert time.monotonic() - started < PROCESS_TIMEOUT, "no row written"
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=PROCESS_TIMEOUT)
    before = rows(location)
    assert {repo for repo, _ in before} == {short.lower()}  # the long walks were cut
    sim.update(latency=0.0)
    done = subprocess.run(
        [sys.executable, "-m", "github_stars", "history", location, "--backfill", short, *long],
        env=env,
        capture_output=True,
        timeout=PROCESS_TIMEOUT,
    )
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, stderr[-3000:]
    after = rows(location)
    assert {key: after[key] for key in before} == before  # kept as they were
    for name in (short, *long):
        assert sorted(day for repo, day in after if repo == name.lower()) == [
            day_of(d) for d in range(first_star(name), 2)
        ]
        assert f"{name}: " in stdout and "days backfilled" in stdout
    assert "estimates" in stdout and f"{len(after):,} rows ({len(after):,} backfilled" in stdout
    done_line = next(line for line in stderr.splitlines() if line.startswith("Done:"))
    print(f"\nkilled after {time.monotonic() - started:.1f} s; re-run: {done_line}")


def short_rows(location: str) -> int:
    try:
        with StarHistory.open(location, read_only=True) as history:
            return history.count()
    except Exception:  # the file is being created: not a store yet
        return 0


# --- the command line's usage and what it shows ----------------------------------------------
def test_the_command_line_backfills_a_new_history_and_shows_the_difference(
    sim, tmp_path, monkeypatch, capsys
):
    location, csv_path = str(tmp_path / "new" / "stars.db"), tmp_path / "history.csv"
    monkeypatch.setenv("GITHUB_API_URL", sim.url)
    sim.set_day(3)
    assert history_main([location, "--backfill", STEADY, "nobody/nothing"]) == 1
    out = capsys.readouterr()
    assert "nobody/nothing: error: not found (404)" in out.out
    assert f"{STEADY}: " in out.out and "Done: 2 repositories" in out.err
    sim.set_day(5)
    show_stars([STEADY], Settings.from_environment(), history=location)  # day 5 observed
    sim.set_day(7)
    code = history_main([location, "--backfill", "--csv", str(csv_path), "--days", "4"])
    out = capsys.readouterr()
    assert code == 0 and f"{STEADY}: " in out.out  # the history's own repository
    assert "Days with no row at all" not in out.err  # the backfill filled days 4 and 6
    table = out.out.split("Stars per day")[1]
    assert "*: backfilled, an estimate" in table
    assert f"{stars_on(STEADY, 5):,} " in table and f"{stars_on(STEADY, 6):,}*" in table
    written = pd.read_csv(csv_path)
    assert set(written["source"]) == {"observed", "backfilled"}
    assert written.loc[written["day"] == str(day_of(5)), "source"].tolist() == ["observed"]


def test_usage_errors_bad_lines_and_another_apis_history(sim, tmp_path, monkeypatch, capsys):
    location, repos = str(tmp_path / "stars.db"), tmp_path / "repos.txt"
    with pytest.raises(SystemExit) as usage:
        history_main([location, "--from", str(repos)])
    assert usage.value.code == 2 and "go with --backfill" in capsys.readouterr().err
    with StarHistory.open(location, "https://api.github.com"):
        pass
    monkeypatch.setenv("GITHUB_API_URL", sim.url)
    assert history_main([location, "--backfill", STEADY]) == 2
    assert "keeps the figures of https://api.github.com" in capsys.readouterr().err
    assert sim.requests() == []  # refused before any request
    repos.write_text(f"{STEADY}\nnot-a-name\n")
    sim.set_day(1)
    assert history_main([str(tmp_path / "new.db"), "--backfill", "--from", str(repos)]) == 1
    out = capsys.readouterr()
    assert f"{repos}:2: invalid name" in out.err and "1 bad input line" in out.err
    assert f"{STEADY}: " in out.out and "days backfilled" in out.out  # the others are kept


# --- GitHub's observed shape, from a stand-in ---------------------------------------------------
OBSERVED_WEEK = {"week": 1677369600, "total": 36, "days": [0, 0, 0, 10, 15, 4, 7]}


@contextlib.contextmanager
def stand_in(next_page: str | None):
    """An API on 127.0.0.1 answering the observed week for `a/b` (its `Link` naming
    `next_page`) and `c/d` (no more pages), and a count of 36; it records every request's path
    and `Authorization` header."""
    seen: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.append((self.path, self.headers.get("Authorization")))
            headers = {"Date": format_datetime(dt.datetime.now(dt.UTC), usegmt=True)}
            if self.path.endswith("/stargazers/count"):
                body: object = {"count": 36}
            elif "/stargazers/history" in self.path:
                body = [OBSERVED_WEEK]
                if self.path.startswith("/repos/a/b/") and next_page:
                    headers["Link"] = f'<{next_page}>; rel="next"'
            else:
                body = {}
            data = json.dumps(body).encode()
            self.send_response(200 if body != {} else 404)
            for name, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


SENTINEL = "ghp_backfill_not_a_real_token_0123456789"


def test_the_observed_shape_is_read_and_the_token_stays_with_its_api(
    tmp_path, monkeypatch, capsys, own_result_storage
):
    """The observed week, read into rows; the token sent to the configured API only (a next
    page outside it is never asked), and in none of the outputs, the results Prefect keeps or
    the history."""
    location = str(tmp_path / "stars.db")
    with contextlib.ExitStack() as stack:
        outside, asked_outside = stack.enter_context(stand_in(None))
        next_page = f"{outside}/repositories/1/stargazers/history?page=2"
        api, asked = stack.enter_context(stand_in(next_page))
        monkeypatch.setenv("GITHUB_API_URL", api)  # the configured API: it gets the token
        monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
        settings = Settings(api_url=api, retry_delay=0.05)
        flow = backfill_stars.with_options(name="backfill-observed-shape")
        outside_link, observed = flow(["a/b", "c/d"], settings, location)
    assert not outside_link.ok and "next page is outside the API" in outside_link.error
    assert asked_outside == []  # never asked: the token stays with its API
    assert [path for path, _ in asked if path.startswith("/repos/a/b/")] == [
        "/repos/a/b/stargazers/count",
        "/repos/a/b/stargazers/history?per_page=30&page=1",
    ]  # a bad answer is not retried
    assert {auth for path, auth in asked if path.startswith("/repos/")} == {f"Bearer {SENTINEL}"}
    assert observed.ok and observed.stars == 36
    kept = rows(location)
    first = dt.date(2023, 3, 1)  # the observed week's first star: its Wednesday
    assert min(day for _, day in kept) == first and kept["c/d", first][0] == 10
    assert [kept["c/d", first + dt.timedelta(days=n)][0] for n in range(4)] == [10, 25, 29, 36]
    assert {source for _, source, _ in kept.values()} == {"backfilled"}
    output = capsys.readouterr()
    kept_files = [p for p in [*tmp_path.rglob("*")] if p.is_file()]
    assert any(p.is_relative_to(own_result_storage) for p in kept_files)  # results were kept
    assert SENTINEL not in output.out + output.err + repr([outside_link, observed])
    assert [p.name for p in kept_files if SENTINEL.encode() in p.read_bytes()] == []
