"""A run's API turns every outcome of a request into data or a typed error."""

from __future__ import annotations

import re

import httpx
import pytest
from stand_in import StandIn

from github_stars.core import (
    BadResponse,
    GitHubApi,
    InvalidRepoName,
    RateLimited,
    RepoNotFound,
    TransientError,
)
from github_stars.core.client import (
    MAX_BODY_BYTES,
    RequestCounter,
    parse_repo,
    rate_limit_wait,
    request_headers,
)
from github_stars.servers import free_port
from github_stars.settings import read_token


@pytest.fixture
def api(settings):
    """The API of one run against the test's simulator."""
    with GitHubApi.open(settings) as opened:
        yield opened


def test_sends_githubs_headers_and_the_token_to_the_configured_api(sim, settings, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "sentinel-token")
    headers = request_headers(read_token())
    assert headers["Authorization"] == "Bearer sentinel-token"
    assert headers["X-GitHub-Api-Version"] == "2026-03-10"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["User-Agent"]
    with StandIn(upstream=sim.url) as configured:  # GITHUB_API_URL names it: the token goes
        monkeypatch.setenv("GITHUB_API_URL", configured.url)
        with GitHubApi.open(settings.with_changes(api_url=configured.url)) as api:
            api.get_repo("psf/requests")  # the token is read where the request is made
    assert configured.authorizations("/repos/") == ["Bearer sentinel-token"]
    with GitHubApi.open(settings) as api:  # the bundled simulator: never
        api.get_repo("psf/requests")
    assert sim.requests()[-1]["authenticated"] is False


def test_no_token_no_authorization_header(sim, settings, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert read_token() is None and read_token({"GITHUB_TOKEN": ""}) is None
    assert "Authorization" not in request_headers(read_token())
    with GitHubApi.open(settings) as api:
        api.get_repo("psf/requests")
    assert sim.requests()[-1]["authenticated"] is False


def test_follows_renames(api):
    assert api.get_repo("kennethreitz/requests")["full_name"] == "psf/requests"


def test_invalid_name_makes_no_request(sim, api):
    with pytest.raises(InvalidRepoName):
        api.get_repo("../etc")
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
def test_each_fault_becomes_a_typed_error(sim, api, fault, error, message):
    sim.configure(faults={"psf/requests": [fault]}, retry_after=2)
    with pytest.raises(error, match=message):
        api.get_repo("psf/requests")


def test_rate_limited_carries_the_wait(sim, api):
    sim.configure(faults={"psf/requests": [429]}, retry_after=3)
    with pytest.raises(RateLimited) as caught:
        api.get_repo("psf/requests")
    assert caught.value.wait_seconds == 3


def test_timeout_is_transient(sim, settings):
    sim.configure(faults={"psf/requests": ["hang"]}, hang_seconds=2)
    with (
        GitHubApi.open(settings.with_changes(timeout=0.5)) as api,
        pytest.raises(TransientError, match="timed out"),
    ):
        api.get_repo("psf/requests")


def test_connection_refused_is_transient(settings):
    nobody = settings.with_changes(api_url=f"http://127.0.0.1:{free_port()}")
    with GitHubApi.open(nobody) as api, pytest.raises(TransientError, match="connection failed"):
        api.get_repo("psf/requests")


def test_rate_limit_wait_from_reset_header():
    reply = httpx.Response(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1030"})
    assert rate_limit_wait(reply, now=1000) == 30
    assert rate_limit_wait(httpx.Response(403)) is None  # a plain 403 is not a limit


def test_request_counts_keep_the_lowest_remaining_of_the_newest_window():
    def reply(remaining: int, reset: int, path: str = "/repos/o/r") -> httpx.Response:
        headers = {
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Reset": str(reset),
        }
        request = httpx.Request("GET", f"https://api.github.com{path}")
        return httpx.Response(200, headers=headers, request=request)

    counter = RequestCounter()
    for response in (reply(4990, 100), reply(4988, 100), reply(4989, 100)):  # out of order
        counter.record(response)
    assert (counter.snapshot().rate_remaining, counter.snapshot().requests) == (4988, 3)
    counter.record(reply(4999, 200))  # the window reset
    counter.record(reply(4987, 100))  # a late answer from the old window
    assert (counter.snapshot().rate_remaining, counter.snapshot().rate_reset) == (4999, 200)
    counter.record(reply(1, 300, path="/rate_limit"))  # asking for the limit is not a request
    assert (counter.snapshot().requests, counter.snapshot().rate_remaining) == (5, 4999)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"stargazers_count": -1, "forks_count": 1}, "impossible 'stargazers_count' (-1)"),
        ({"stargazers_count": 1, "forks_count": "x"}, "no integer 'forks_count' (got str)"),
        ({"stargazers_count": 1}, "no integer 'forks_count'"),
        ({"stargazers_count": 1.5, "forks_count": 1}, "no integer 'stargazers_count'"),
        ({"stargazers_count": True, "forks_count": 1}, "no integer 'stargazers_count'"),
        ({"stargazers_count": 2**63, "forks_count": 1}, "impossible 'stargazers_count'"),
        ({"stargazers_count": 10**40, "forks_count": 1}, "(a 41-digit number)"),
        ({"stargazers_count": 1, "forks_count": 1, "subscribers_count": -5}, "subscribers"),
        ([1, 2], "expected a JSON object, got list"),
    ],
)
def test_a_body_that_is_not_a_valid_repository_is_a_bad_response(body, message):
    reply = httpx.Response(200, json=body)
    with pytest.raises(BadResponse, match=re.escape(message)):
        parse_repo(reply, "o/r")


def test_counts_up_to_a_bigint_and_absent_optional_counts_are_valid():
    body = {"stargazers_count": 2**31 + 1, "forks_count": 0, "subscribers_count": None}
    assert parse_repo(httpx.Response(200, json=body), "o/r") == body
    huge = httpx.Response(200, content=b" " * (MAX_BODY_BYTES + 1) + b"{}")
    with pytest.raises(BadResponse, match="too large"):
        parse_repo(huge, "o/r")
