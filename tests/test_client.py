"""The client turns every API outcome into data or a typed error."""

import pytest

from github_stars import client
from github_stars.errors import (
    BadResponse,
    InvalidRepoName,
    RateLimited,
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
    with (
        client.make_http_client(httpx.Timeout(0.5)) as http,
        pytest.raises(TransientError, match="timed out"),
    ):
        client.fetch_repo("psf/requests", http)


def test_connection_refused_is_transient(monkeypatch):
    from github_stars.simulator import free_port

    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientError, match="connection failed"):
        client.fetch_repo("psf/requests")


def test_rate_limit_wait_from_reset_header():
    import httpx

    reply = httpx.Response(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1030"})
    assert client.rate_limit_wait(reply, now=1000) == 30
    assert client.rate_limit_wait(httpx.Response(403)) is None  # a plain 403 is not a limit


def test_request_counts_keep_the_lowest_remaining_of_the_newest_window():
    import httpx

    def reply(remaining: int, reset: int) -> httpx.Response:
        headers = {
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Reset": str(reset),
        }
        return httpx.Response(200, headers=headers)

    counter = client.RequestCounter()
    for response in (reply(4990, 100), reply(4988, 100), reply(4989, 100)):  # out of order
        counter.record(response)
    assert (counter.snapshot().rate_remaining, counter.snapshot().requests) == (4988, 3)
    counter.record(reply(4999, 200))  # the window reset
    counter.record(reply(4987, 100))  # a late answer from the old window
    assert (counter.snapshot().rate_remaining, counter.snapshot().rate_reset) == (4999, 200)
