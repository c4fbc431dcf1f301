"""Honouring GitHub's Retry-After: a refusal pauses every task of the run, up to a maximum.

The pause belongs to one run (`GitHubApi.pause`): the run's threads share it; another run,
even against the same API in the same process, has a pause of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from github_stars.core import GitHubApi, RateLimited, RateLimitWaitTooLong, Settings
from github_stars.core.pause import ApiPause, variable_name
from github_stars.pipeline import fetch_stats

Fetch = Callable[[str], dict]


@pytest.fixture
def fetch(sim, settings) -> Iterator[Callable[..., Fetch]]:
    """`fetch(max_wait)`: the finished task's body for a new run with that `max_wait`, called
    directly (Prefect's retries are tested elsewhere); the run's API is its `api`."""
    runs: list[GitHubApi] = []

    def for_run(max_wait: float = 60.0) -> Fetch:
        api = GitHubApi.open(settings.with_changes(max_wait=max_wait))
        runs.append(api)
        day = api.today()

        def run(github_repo: str) -> dict:
            return fetch_stats.fn(github_repo, api, day)

        run.api = api
        return run

    yield for_run
    for api in runs:
        api.close()


def test_a_refusal_is_waited_out_before_the_next_attempt(fetch, sim):
    sim.configure(faults={"encode/httpx": [429, 429]}, retry_after=1)
    run = fetch(max_wait=5)
    for _ in range(2):
        with pytest.raises(RateLimited):
            run("encode/httpx")
    assert run("encode/httpx")["full_name"] == "encode/httpx"
    log = sim.requests()
    assert [e["status"] for e in log] == [429, 429, 200]
    assert all(
        later["t_start"] >= earlier["t_end"] + 1 - 0.05
        for earlier, later in zip(log, log[1:], strict=False)
    )


def test_a_wait_over_the_maximum_is_refused_without_sleeping(fetch, sim):
    sim.configure(faults={"encode/httpx": [429]}, retry_after=120)
    run = fetch(max_wait=10)
    started = time.monotonic()
    with pytest.raises(RateLimitWaitTooLong, match="more than the maximum of 10 s"):
        run("encode/httpx")
    assert time.monotonic() - started < 5 and sim.request_count() == 1


def test_a_refusal_pauses_every_other_task(fetch, sim):
    """One thread's 429 keeps another thread's request back until Retry-After has passed."""
    sim.configure(faults={"encode/httpx": [429]}, retry_after=1)
    run = fetch()
    refused_first = threading.Thread(target=lambda: pytest.raises(RateLimited, run, "encode/httpx"))
    refused_first.start()
    deadline = time.monotonic() + 10
    while not run.api.resources.pause.remaining() and time.monotonic() < deadline:
        time.sleep(0.01)  # until the first thread has seen its refusal
    assert run("encode/starlette")["full_name"] == "encode/starlette"
    refused_first.join(timeout=10)
    refusal, later = sim.requests()
    assert (refusal["status"], later["status"]) == (429, 200)
    assert later["t_start"] >= refusal["t_end"] + 1 - 0.05


def test_a_pause_longer_than_the_maximum_fails_at_once_without_a_request(fetch, sim):
    sim.configure(faults={"encode/httpx": [429]}, retry_after=120)
    run = fetch(max_wait=10)
    with pytest.raises(RateLimitWaitTooLong):
        run("encode/httpx")
    with pytest.raises(RateLimitWaitTooLong, match="pause requests for 1[12][0-9] s more"):
        run("encode/starlette")
    assert sim.request_count() == 1  # the second repository sent nothing


def test_the_next_run_starts_without_the_last_runs_pause(fetch, sim):
    """A pause is the run's: a run after a refused one sends at once (nothing to clear)."""
    sim.configure(faults={"encode/httpx": [429]}, retry_after=120)
    with pytest.raises(RateLimitWaitTooLong):
        fetch(max_wait=10)("encode/httpx")
    # A pause of 120 s still holding would refuse at once (RateLimitWaitTooLong).
    assert fetch(max_wait=10)("encode/starlette")["full_name"] == "encode/starlette"
    assert sim.request_count() == 2


def test_a_longer_pause_is_kept_and_each_pause_is_its_own():
    now = [100.0]
    pause = ApiPause(max_wait=60, clock=lambda: now[0])
    other = ApiPause(max_wait=60, clock=lambda: now[0])
    pause.pause(30)
    pause.pause(5)
    now[0] += 10
    assert pause.remaining() == 20 and other.remaining() == 0


def test_a_wait_sleeps_as_long_as_the_pause_and_looks_again():
    now = [100.0]
    slept = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
        if len(slept) == 1:
            pause.pause(2)  # another task was refused meanwhile

    pause = ApiPause(max_wait=10, clock=lambda: now[0], sleep=sleep)
    pause.pause(3)
    pause.wait_out("encode/httpx")
    assert slept == [3, 2] and pause.remaining() == 0


def test_a_shared_pause_is_per_api_and_token_and_never_names_the_token():
    token = "ghp_sentinel_token"
    names = {
        variable_name("https://api.github.com", token),
        variable_name("https://api.github.com", None),
        variable_name("https://api.github.com", "another"),
        variable_name("https://github.example.com/api/v3", token),
    }
    assert len(names) == 4
    assert variable_name("https://api.github.com", token) == variable_name(
        "https://api.github.com", token
    )
    assert not any(token in name for name in names)
    assert Settings().share_pause is False  # in memory only, unless a run spans processes
