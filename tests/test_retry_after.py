"""Honouring GitHub's Retry-After: a refusal pauses every task of the process, up to a maximum."""

import threading
import time

import pytest

from github_stars.errors import RateLimited, RateLimitWaitTooLong
from github_stars.rate_limiting import ensure_pipeline_rate_limit
from github_stars.retry_after import GITHUB_PAUSE, ApiPause, pause_key
from github_stars.tasks import fetch_stats


@pytest.fixture
def fetch(sim):
    """The finished task's body, called directly (Prefect's retries are tested elsewhere)."""
    ensure_pipeline_rate_limit()
    return fetch_stats.fn


def test_a_refusal_is_waited_out_before_the_next_attempt(fetch, sim):
    sim.configure(faults={"encode/httpx": [429, 429]}, retry_after=1)
    for _ in range(2):
        with pytest.raises(RateLimited):
            fetch("encode/httpx", max_wait=5)
    assert fetch("encode/httpx", max_wait=5)["full_name"] == "encode/httpx"
    log = sim.requests()
    assert [e["status"] for e in log] == [429, 429, 200]
    assert all(
        later["t_start"] >= earlier["t_end"] + 1 - 0.05
        for earlier, later in zip(log, log[1:], strict=False)
    )


def test_a_wait_over_the_maximum_is_refused_without_sleeping(fetch, sim):
    sim.configure(faults={"encode/httpx": [429]}, retry_after=120)
    started = time.monotonic()
    with pytest.raises(RateLimitWaitTooLong, match="more than the maximum of 10 s"):
        fetch("encode/httpx", max_wait=10)
    assert time.monotonic() - started < 5 and sim.request_count() == 1


def test_a_refusal_pauses_every_other_task(fetch, sim):
    """One thread's 429 keeps another thread's request back until Retry-After has passed."""
    sim.configure(faults={"encode/httpx": [429]}, retry_after=1)
    refused_first = threading.Thread(
        target=lambda: pytest.raises(RateLimited, fetch, "encode/httpx")
    )
    refused_first.start()
    deadline = time.monotonic() + 10
    while not GITHUB_PAUSE.remaining(pause_key()) and time.monotonic() < deadline:
        time.sleep(0.01)  # until the first thread has seen its refusal
    assert fetch("encode/starlette")["full_name"] == "encode/starlette"
    refused_first.join(timeout=10)
    refusal, later = sim.requests()
    assert (refusal["status"], later["status"]) == (429, 200)
    assert later["t_start"] >= refusal["t_end"] + 1 - 0.05


def test_a_pause_longer_than_the_maximum_fails_at_once_without_a_request(fetch, sim):
    sim.configure(faults={"encode/httpx": [429]}, retry_after=120)
    with pytest.raises(RateLimitWaitTooLong):
        fetch("encode/httpx", max_wait=10)
    with pytest.raises(RateLimitWaitTooLong, match="pause requests for 1[12][0-9] s more"):
        fetch("encode/starlette", max_wait=10)
    assert sim.request_count() == 1  # the second repository sent nothing


def test_a_longer_pause_is_kept_and_pauses_are_per_key():
    now = [100.0]
    pause = ApiPause(clock=lambda: now[0])
    pause.pause("api", 30)
    pause.pause("api", 5)
    now[0] += 10
    assert pause.remaining("api") == 20 and pause.remaining("other") == 0
    pause.clear()
    assert pause.remaining("api") == 0
