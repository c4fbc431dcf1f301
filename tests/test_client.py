"""The client turns every API outcome into data or a typed error."""

import threading
import time

import pytest

from github_stars import client
from github_stars.errors import (
    BadResponse,
    InvalidRepoName,
    RateLimited,
    RateLimitWaitTooLong,
    RepoNotFound,
    TransientError,
)


def test_sends_githubs_headers_and_bearer_token(sim, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "sentinel-token")
    headers = client.request_headers()
    assert headers["Authorization"] == "Bearer sentinel-token"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["User-Agent"]
    client.fetch_repo("psf/requests")
    assert sim.requests()[-1]["authenticated"] is True


def test_no_token_no_authorization_header(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert "Authorization" not in client.request_headers()


def test_follows_renames(sim):
    assert client.fetch_repo("kennethreitz/requests")["full_name"] == "psf/requests"


def test_invalid_name_makes_no_request(sim):
    with pytest.raises(InvalidRepoName):
        client.fetch_repo("../etc")
    assert sim.request_count() == 0


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (404, RepoNotFound, "not found"),
        (500, TransientError, "server error 500"),
        (503, TransientError, "server error 503"),
        ("reset", TransientError, "connection failed"),
        ("non_json", BadResponse, "not valid JSON"),
        ("truncated", BadResponse, "not valid JSON"),
        ("missing_stars", BadResponse, "stargazers_count"),
        (429, RateLimited, "rate limited"),
        (403, RateLimited, "rate limited"),
    ],
)
def test_each_fault_becomes_a_typed_error(sim, fault, error, message):
    sim.configure(faults={"psf/requests": [fault]}, retry_after=2)
    with pytest.raises(error, match=message):
        client.fetch_repo("psf/requests")


def test_rate_limited_carries_the_wait(sim):
    sim.configure(faults={"psf/requests": [429]}, retry_after=3)
    with pytest.raises(RateLimited) as caught:
        client.fetch_repo("psf/requests")
    assert caught.value.wait_seconds == 3


def test_timeout_is_transient(sim, monkeypatch):
    import httpx

    sim.configure(faults={"psf/requests": ["hang"]}, hang_seconds=2)
    with client.make_http_client(httpx.Timeout(0.5)) as http, pytest.raises(TransientError,
                                                                             match="timed out"):
        client.fetch_repo("psf/requests", http)


def test_connection_refused_is_transient(monkeypatch):
    from github_stars.simulator import free_port

    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientError, match="connection failed"):
        client.fetch_repo("psf/requests")


def test_get_repo_waits_as_told_then_succeeds(sim):
    sim.configure(faults={"psf/requests": [429, 429]}, retry_after=1)
    waits = []
    stats = client.get_repo("psf/requests", sleep=waits.append, max_wait=5)
    assert stats["full_name"] == "psf/requests"
    assert waits == pytest.approx([1.0, 1.0], abs=0.2)
    assert sim.request_count() == 3


def test_get_repo_refuses_waits_over_the_maximum(sim):
    sim.configure(faults={"psf/requests": [429]}, retry_after=120)
    with pytest.raises(RateLimitWaitTooLong, match="more than the maximum of 10 s"):
        client.get_repo("psf/requests", sleep=pytest.fail, max_wait=10)
    assert sim.request_count() == 1


def test_rate_limit_wait_from_reset_header():
    import httpx

    reply = httpx.Response(403, headers={"X-RateLimit-Remaining": "0",
                                         "X-RateLimit-Reset": "1030"})
    assert client.rate_limit_wait(reply, now=1000) == 30
    assert client.rate_limit_wait(httpx.Response(403)) is None  # a plain 403 is not a limit


def test_get_repo_gives_up_after_its_waits_without_a_last_useless_sleep(sim):
    sim.configure(faults={"psf/requests": [429] * 6}, retry_after=1)
    waits = []
    with pytest.raises(RateLimited):
        client.get_repo("psf/requests", sleep=waits.append, max_wait=5)
    assert waits == pytest.approx([1.0] * client.MAX_RATE_LIMIT_WAITS, abs=0.2)
    assert sim.request_count() == client.MAX_RATE_LIMIT_WAITS + 1
    assert client.API_PAUSE.remaining(client.pause_key()) > 0.5  # the next call waits too


def test_a_refusal_pauses_every_other_request_to_the_api(sim):
    """One thread's 429 keeps another thread's request back until Retry-After has passed."""
    sim.configure(faults={"psf/requests": [429]}, retry_after=1)
    refused_first = threading.Thread(target=client.get_repo, args=("psf/requests",))
    refused_first.start()
    deadline = time.monotonic() + 10
    while not client.API_PAUSE.remaining(client.pause_key()) and time.monotonic() < deadline:
        time.sleep(0.01)  # until the first thread has seen its refusal
    assert client.get_repo("pydantic/pydantic")["full_name"] == "pydantic/pydantic"
    refused_first.join(timeout=10)
    refusal, *later = sim.requests()
    assert refusal["status"] == 429 and {e["status"] for e in later} == {200}
    assert min(e["t_start"] for e in later) >= refusal["t_end"] + 1 - 0.05


def test_a_pause_longer_than_the_maximum_fails_at_once_without_a_request(sim):
    sim.configure(faults={"psf/requests": [429]}, retry_after=120)
    with pytest.raises(RateLimitWaitTooLong):
        client.get_repo("psf/requests", max_wait=10)
    with pytest.raises(RateLimitWaitTooLong, match="pause requests for 1[12][0-9] s more"):
        client.get_repo("pydantic/pydantic", sleep=pytest.fail, max_wait=10)
    assert sim.request_count() == 1  # the second repository sent nothing
