"""A hostile API: every fault is retried, waited out or reported, never leaked or cached.

Complements test_client.py (one request -> typed error) and test_pipeline.py (503 retried,
404 not retried): here each fault goes through the whole flow, and through the CLI.
"""

from __future__ import annotations

import math
import time
from uuid import UUID

import pytest
from cli_process import run_cli
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.utilities.math import lower_clamp_multiple

from github_stars.core import RepoResult, Settings, rate_limits
from github_stars.core import api as api_module
from github_stars.core.api import NOW_ATTEMPTS
from github_stars.pipeline import fetch_stats, show_stars
from github_stars.simulator import free_port
from github_stars.simulator.snapshot import snapshot_stars
from github_stars.steps import at_scale

STARS = snapshot_stars()
ATTEMPTS = fetch_stats.retries + 1  # 1 try + 3 retries
JITTER = fetch_stats.retry_jitter_factor


def run_flow(repos: list[str], settings: Settings) -> tuple[list[RepoResult], UUID]:
    """Run the flow; its results and its flow-run id (to read task states back)."""
    state = show_stars(repos, settings, return_state=True)
    return state.result(), state.state_details.flow_run_id


def retry_delays(flow_run_id: UUID, expected: int, timeout: float = 30.0) -> list[float]:
    """Seconds each `AwaitingRetry` state of the flow's fetch task scheduled ahead.

    The server records states asynchronously (in batches), so this polls until `expected`
    `AwaitingRetry` states are there or `timeout` passes.
    """
    deadline = time.monotonic() + timeout
    flow_runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    with get_client(sync_client=True) as prefect:
        while True:
            task_runs = [
                t
                for t in prefect.read_task_runs(flow_run_filter=flow_runs)
                if t.name.startswith("fetch_stats")
            ]
            states = sorted(
                (s for t in task_runs for s in prefect.read_task_run_states(t.id)),
                key=lambda s: s.timestamp,
            )
            waits = [s for s in states if s.name == "AwaitingRetry"]
            if len(waits) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return [(s.state_details.scheduled_time - s.timestamp).total_seconds() for s in waits]


def repo_log(sim, repo: str, expected: int, timeout: float = 10.0) -> list[dict]:
    """The simulator's log for `repo`, once it holds `expected` entries (hangs log late)."""
    deadline = time.monotonic() + timeout
    while True:
        log = [e for e in sim.requests() if e["repo"] == repo.lower()]
        if len(log) >= expected or time.monotonic() > deadline:
            return log
        time.sleep(0.1)


# --- server errors, timeouts, broken connections ------------------------------------------
@pytest.mark.parametrize(
    ("status", "repo"),
    [(500, "python-poetry/poetry"), (502, "pantsbuild/pex"), (503, "pypa/pipenv")],
)
def test_a_burst_of_server_errors_is_retried_with_backoff(sim, settings, status, repo):
    sim.configure(faults={repo: [status] * (ATTEMPTS - 1)})
    (result,), flow_run_id = run_flow([repo], settings)
    assert result.stars == STARS[repo]
    assert [e["status"] for e in repo_log(sim, repo, ATTEMPTS)] == [status] * 3 + [200]
    # Exponential backoff, as Prefect scheduled it: base * 2**n, jittered within bounds.
    base = settings.retry_delay
    delays = retry_delays(flow_run_id, expected=ATTEMPTS - 1)
    assert len(delays) == ATTEMPTS - 1
    for n, delay in enumerate(delays):
        planned = base * 2**n
        assert planned * lower_clamp_multiple(1 + JITTER) - 0.01 <= delay
        assert delay <= planned * (1 + JITTER) + 0.01


@pytest.mark.parametrize(
    ("fault", "repo", "reason"),
    [
        (500, "pytest-dev/pytest", "server error 500"),
        (502, "tqdm/tqdm", "server error 502"),
        ("reset", "encode/starlette", "connection failed (RemoteProtocolError"),
        ("hang", "encode/uvicorn", "timed out (ReadTimeout)"),
    ],
)
def test_retry_budget_spent_then_a_clear_error(sim, settings, fault, repo, reason):
    sim.configure(faults={repo: [fault] * ATTEMPTS}, hang_seconds=1.0)
    (result,) = show_stars([repo], settings.with_changes(timeout=0.3))
    assert result.error_kind == "transient"
    assert reason in result.error
    assert f"gave up after {ATTEMPTS} attempts" in result.error
    assert len(repo_log(sim, repo, ATTEMPTS)) == ATTEMPTS


def test_timeouts_are_retried_until_the_api_answers(sim, settings):
    sim.configure(faults={"duckdb/duckdb": ["hang", "hang"]}, hang_seconds=1.0)
    started = time.perf_counter()
    (result,) = show_stars(["duckdb/duckdb"], settings.with_changes(timeout=0.3))
    assert result.stars == STARS["duckdb/duckdb"]
    assert time.perf_counter() - started >= 2 * 0.3  # two requests gave up after 0.3 s each
    assert len(repo_log(sim, "duckdb/duckdb", 3)) == 3


def test_connection_refused_is_retried_then_reported(settings, monkeypatch):
    # Step 09, the finished pipeline's fetch_stats without the API's date: that is asked first
    # by the finished pipeline (the test below).
    nobody = settings.with_changes(api_url=f"http://127.0.0.1:{free_port()}")  # nobody listens
    attempts: list[float] = []
    real_fetch = api_module.fetch_repo

    def counting_fetch(http, name: str):
        attempts.append(time.monotonic())
        return real_fetch(http, name)

    # `GitHubApi.get_repo` makes its one request with `fetch_repo`: count them
    monkeypatch.setattr(api_module, "fetch_repo", counting_fetch)
    (result,) = at_scale.show_stars(["residentmario/missingno"], nobody)
    assert result.error_kind == "transient"
    assert "connection failed (ConnectError" in result.error and "refused" in result.error
    assert len(attempts) == ATTEMPTS
    base, floor = settings.retry_delay, lower_clamp_multiple(1 + JITTER)
    gaps = [later - earlier for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert all(gap >= base * 2**n * floor - 0.01 for n, gap in enumerate(gaps)), gaps


def test_an_api_that_never_answers_fails_every_repository_in_one_line():
    done = run_cli(
        "residentmario/missingno", "psf/requests", GITHUB_API_URL=f"http://127.0.0.1:{free_port()}"
    )
    assert done.returncode == 1, done.stderr
    reason = f"could not read the API's date after {NOW_ATTEMPTS} attempts (ConnectError"
    lines = done.stdout.splitlines()
    assert [line.split(": error: ")[0] for line in lines] == [
        "residentmario/missingno",
        "psf/requests",
    ]
    assert all(reason in line for line in lines), lines
    assert "The run failed: http://127.0.0.1:" in done.stderr


def test_a_rate_limit_slot_the_prefect_server_refuses_is_retried(sim, settings, monkeypatch):
    from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError

    refusals = ["Unable to acquire concurrency slots on ['github-api']: 503 Service Unavailable"]
    real_rate_limit = rate_limits.rate_limit

    def busy_server_once(*args, **kwargs) -> None:
        if refusals:  # what a busy SQLite-backed server answers under load
            raise ConcurrencySlotAcquisitionError(refusals.pop())
        real_rate_limit(*args, **kwargs)

    monkeypatch.setattr(rate_limits, "rate_limit", busy_server_once)  # the slot taker's call
    (result,) = show_stars(["asottile/pyupgrade"], settings)
    assert result.stars == STARS["asottile/pyupgrade"]
    assert refusals == [] and sim.request_count() == 1


# --- rate limits: wait as told, never hammer, refuse waits over the maximum ---------------
def test_429_retry_after_is_waited_out_even_across_prefects_retries(sim, settings):
    # Prefect's retry (after its short backoff) must still wait for Retry-After, which the
    # run's pause remembers.
    refusals = fetch_stats.retries
    sim.configure(faults={"aio-libs/aiohttp": [429] * refusals}, retry_after=1)
    (result,) = show_stars(["aio-libs/aiohttp"], settings)
    assert result.stars == STARS["aio-libs/aiohttp"]
    log = repo_log(sim, "aio-libs/aiohttp", refusals + 1)
    assert [e["status"] for e in log] == [429] * refusals + [200]
    gaps = [
        later["t_start"] - earlier["t_end"] for earlier, later in zip(log, log[1:], strict=False)
    ]
    assert min(gaps) >= 1.0, gaps  # never before Retry-After


def test_403_rate_limit_waits_until_the_reset_time(sim, settings):
    sim.configure(faults={"aio-libs/yarl": [403]}, retry_after=2)
    (result,) = show_stars(["aio-libs/yarl"], settings)
    assert result.stars == STARS["aio-libs/yarl"]
    refused, accepted = repo_log(sim, "aio-libs/yarl", 2)
    assert refused["status"] == 403 and accepted["status"] == 200
    # X-RateLimit-Reset was at least ceil(time of the refusal + 2 s); we waited for it.
    assert accepted["t_start"] >= math.ceil(refused["t_start"] + 2) - 0.01


def test_a_wait_over_the_maximum_is_refused_clearly(sim, settings):
    sim.configure(faults={"zeromq/pyzmq": [429]}, retry_after=600)
    started = time.perf_counter()
    (result,) = show_stars(["zeromq/pyzmq"], settings.with_changes(max_wait=2))
    assert result.error_kind == "rate limited"
    assert "asked to wait 600 s, more than the maximum of 2 s" in result.error
    assert "--max-wait" in result.error and "GITHUB_STARS_MAX_WAIT" in result.error
    assert sim.request_count() == 1  # no retry, no hammering
    assert time.perf_counter() - started < 60  # and no 10-minute sleep


# --- 404, 301, bodies that are not what we expect -----------------------------------------
def test_renamed_repository_is_followed(sim, settings):
    (result,) = show_stars(["kennethreitz/requests"], settings)
    assert result.stars == STARS["psf/requests"]
    assert result.stats["full_name"] == "psf/requests"
    assert [e["status"] for e in sim.requests()] == [301, 200]


@pytest.mark.parametrize(
    ("fault", "repo", "reason"),
    [
        ("non_json", "marshmallow-code/marshmallow", "response is not valid JSON (text/html"),
        ("truncated", "pylons/pyramid", "response is not valid JSON (application/json"),
        ("missing_stars", "pydata/xarray", "no integer 'stargazers_count'"),
    ],
)
def test_bad_bodies_are_a_specific_error_not_a_keyerror(sim, settings, caplog, fault, repo, reason):
    sim.configure(faults={repo: [fault]})
    (result,) = show_stars([repo], settings)
    assert (result.error_kind, result.stars) == ("bad response", None)
    assert reason in result.error
    assert sim.request_count() == 1  # a wrong body is not retried
    assert "KeyError" not in caplog.text


@pytest.mark.parametrize(
    ("status", "repo", "reason"),
    [
        (401, "pallets/werkzeug", "HTTP 401 (Bad credentials)"),
        (451, "pallets/itsdangerous", "HTTP 451 (Repository access blocked)"),
    ],
)
def test_other_client_errors_are_reported_once_not_retried(sim, settings, status, repo, reason):
    sim.configure(faults={repo: [status]})
    (result,) = show_stars([repo], settings)
    assert (result.error_kind, result.error) == ("http error", reason)
    assert sim.request_count() == 1


# --- errors are never cached ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("script", "repo"),
    [
        ([503] * ATTEMPTS, "sqlalchemy/sqlalchemy"),
        (["missing_stars"], "sqlalchemy/alembic"),
        ([429], "sqlalchemy/mako"),
    ],
)
def test_a_failed_run_is_fetched_again_next_time(sim, settings, script, repo):
    sim.configure(faults={repo: script}, retry_after=30)
    (failed,) = show_stars([repo], settings.with_changes(max_wait=1))
    assert not failed.ok
    sim.reset(settings=True)
    # The next run has a pause of its own (GitHub's pause lives in the run's `GitHubApi`), so
    # it is not held back by the refusal of the run before.
    (again,) = show_stars([repo], settings.with_changes(max_wait=1))
    assert (again.stars, again.cached) == (STARS[repo], False)
    assert sim.request_count() == 1


# --- what a CLI user sees -------------------------------------------------------------------
def test_cli_reports_each_fault_in_one_line_and_exits_1(sim):
    sim.configure(
        faults={
            "tornadoweb/tornado": ["non_json"],
            "benoitc/gunicorn": ["missing_stars"],
            "andialbrecht/sqlparse": [503] * ATTEMPTS,
            "more-itertools/more-itertools": [502, "reset"],
        }
    )
    repos = [
        "tornadoweb/tornado",
        "benoitc/gunicorn",
        "andialbrecht/sqlparse",
        "more-itertools/more-itertools",
        "nobody/nothing-at-all",
    ]
    done = run_cli(*repos, GITHUB_API_URL=sim.url)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "tornadoweb/tornado: error: response is not valid JSON (text/html; charset=utf-8, "
        "55 bytes)",
        "benoitc/gunicorn: error: response has no integer 'stargazers_count'",
        f"andialbrecht/sqlparse: error: server error 503 (gave up after {ATTEMPTS} attempts)",
        f"more-itertools/more-itertools: {STARS['more-itertools/more-itertools']} stars",
        "nobody/nothing-at-all: error: not found (404)",
    ]
    # stderr carries Prefect's logs; its only tracebacks are our typed, expected errors.
    assert uncaught_exceptions(done.stderr) == {"github_stars.core.errors.TransientError"}
    assert "KeyError" not in done.stdout + done.stderr


def test_cli_reports_a_rate_limit_wait_over_the_maximum(sim):
    # A rate limit applies to the whole API: the 600 s pause it asks for would also stop any
    # other repository of the run (tests/test_client.py), so this one runs alone.
    sim.configure(retry_after=600, faults={"praw-dev/praw": [429]})
    done = run_cli("praw-dev/praw", "--max-wait", "5", GITHUB_API_URL=sim.url)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "praw-dev/praw: error: rate limited (429: You have exceeded a secondary rate limit. "
        "Please wait a few minutes before you try again.) - asked to wait 600 s, more than the "
        "maximum of 5 s (use --max-wait or GITHUB_STARS_MAX_WAIT to wait longer)"
    ]
    assert sim.request_count() == 1


def uncaught_exceptions(stderr: str) -> set[str]:
    """The exception type ending each traceback in `stderr`."""
    found = set()
    for block in stderr.split("Traceback (most recent call last):")[1:]:
        last = next(line for line in block.splitlines()[1:] if line and not line[0].isspace())
        found.add(last.split(":", 1)[0])
    return found
