"""Requests to the GitHub REST API and what their answers mean.

`fetch_repo` makes one request and turns every outcome into data or a typed error;
`rate_limit_wait` reads how long GitHub asks a refused client to wait; `RequestCounter` counts
what a run sent. With the HTTP cache on (`http_cache`), each request revalidates a stored answer.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from github_stars.core import http_cache
from github_stars.core.errors import (
    BadResponse,
    RateLimited,
    RepoNotFound,
    TransientError,
    UnexpectedStatus,
)
from github_stars.core.names import validate_repo_name
from github_stars.settings import USER_AGENT, Settings

# The REST API version this client was written for: GitHub answers as that version does.
API_VERSION = "2026-03-10"


def request_headers(token: str | None) -> dict[str, str]:
    """Headers GitHub expects; `Authorization` only with a token."""
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": USER_AGENT,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


@dataclass
class RequestCounts:
    """What a run sent: requests, how many were answered 304, the rate-limit figures.

    `rate_remaining` is the lowest count seen in the newest window (`rate_reset`): concurrent
    responses arrive in any order, so the last one to arrive may carry an older count.
    """

    requests: int = 0
    not_modified: int = 0
    rate_remaining: int | None = None
    rate_limit: int | None = None
    rate_reset: int | None = None


COUNTED_PATHS = ("/repos/", "/repositories/")


class RequestCounter:
    """Thread-safe `RequestCounts`, fed by an httpx response hook on a run's client."""

    def __init__(self) -> None:
        self._counts = RequestCounts()
        self._lock = threading.Lock()

    def record(self, response: httpx.Response) -> None:
        if not response.request.url.path.startswith(COUNTED_PATHS):
            return  # e.g. `GET /rate_limit`, which GitHub does not count either
        caching = response.extensions.get("caching") or {}
        if caching.get("from_cache") and not caching.get("revalidated"):
            return  # answered without a request (never, as every request revalidates)
        with self._lock:
            self._counts.requests += 1
            self._counts.not_modified += bool(
                caching.get("revalidated") and caching.get("from_cache")
            )
            self._record_rate_limit(response.headers)

    def _record_rate_limit(self, headers: httpx.Headers) -> None:
        def number(name: str) -> int | None:
            value = headers.get(name, "")
            return int(value) if value.isdigit() else None

        remaining, reset = number("X-RateLimit-Remaining"), number("X-RateLimit-Reset")
        counts = self._counts
        if remaining is None:
            return
        if counts.rate_remaining is None or (reset or 0) > (counts.rate_reset or 0):
            counts.rate_remaining, counts.rate_reset = remaining, reset  # a new window
        elif reset == counts.rate_reset:
            counts.rate_remaining = min(counts.rate_remaining, remaining)
        else:
            return  # a late response from a window that has since reset
        counts.rate_limit = number("X-RateLimit-Limit") or counts.rate_limit

    def snapshot(self) -> RequestCounts:
        with self._lock:
            return RequestCounts(**vars(self._counts))


def make_http_client(
    settings: Settings, counter: RequestCounter | None = None, token: str | None = None
) -> httpx.Client:
    """An httpx client for `settings`' API: explicit timeouts, follows 301 renames, through the
    HTTP cache when `settings.http_cache` names a folder. `token` is sent as a bearer token."""
    cache = Path(settings.http_cache) if settings.http_cache else None
    headers = request_headers(token) | (http_cache.REVALIDATE if cache else {})
    return httpx.Client(
        base_url=settings.api_url,
        headers=headers,
        timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 5.0)),
        follow_redirects=True,
        transport=http_cache.caching_transport(cache) if cache else None,
        event_hooks={"response": [counter.record] if counter else []},
    )


def rate_limit_wait(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds to wait if `response` is a rate-limit refusal, else None.

    GitHub's rule: `Retry-After` if present; else, when `X-RateLimit-Remaining` is 0, until
    `X-RateLimit-Reset`; else (a 429 without either) a minute.
    """
    if response.status_code not in (403, 429):
        return None
    retry_after = response.headers.get("Retry-After")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            return 60.0
    if response.headers.get("X-RateLimit-Remaining") == "0":
        reset = response.headers.get("X-RateLimit-Reset")
        now = time.time() if now is None else now
        try:
            return max(0.0, float(reset) - now) if reset else 60.0
        except ValueError:
            return 60.0
    if response.status_code == 429:
        return 60.0  # GitHub's advice for secondary limits without a header: wait a minute
    return None


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", "")).strip()
    except (ValueError, AttributeError):
        return ""


# What a repository's answer must hold to be kept: each count an integer from 0 to what a
# BIGINT column stores. A real answer is a few kilobytes; a body beyond `MAX_BODY_BYTES` is not
# a repository.
REQUIRED_COUNTS = ("stargazers_count", "forks_count")
OPTIONAL_COUNTS = ("subscribers_count", "watchers_count")
MAX_COUNT = 2**63 - 1
MAX_BODY_BYTES = 1_000_000


def count_problem(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    """Why `body[name]` is not a count (None when it is, or when it is absent and optional)."""
    if name not in body:
        return f"response has no integer '{name}'" if required else None
    value = body[name]
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return f"response has no integer '{name}' (got {type(value).__name__})"
    if not 0 <= value <= MAX_COUNT:
        shown = str(value) if len(str(value)) <= 24 else f"a {len(str(value))}-digit number"
        return f"response has an impossible '{name}' ({shown})"
    return None


def parse_repo(response: httpx.Response, full_name: str) -> dict[str, Any]:
    """The repository JSON of a 2xx response, or `BadResponse` saying what is wrong: not
    JSON, not an object, too large, or a count that is missing, not an integer, negative or
    beyond what a BIGINT holds. A `BadResponse` fails the task, so it is never cached."""
    size = len(response.content)
    kind = response.headers.get("Content-Type", "unknown content type")
    if size > MAX_BODY_BYTES:
        raise BadResponse(f"{full_name}: response is too large for a repository ({size} bytes)")
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadResponse(
            f"{full_name}: response is not valid JSON ({kind}, {size} bytes)"
        ) from exc
    if not isinstance(body, dict):
        raise BadResponse(f"{full_name}: expected a JSON object, got {type(body).__name__}")
    for name in (*REQUIRED_COUNTS, *OPTIONAL_COUNTS):
        problem = count_problem(body, name, required=name in REQUIRED_COUNTS)
        if problem:
            raise BadResponse(f"{full_name}: {problem}")
    return body


def fetch_repo(http: httpx.Client, full_name: str) -> dict[str, Any]:
    """One `GET /repos/{owner}/{repo}` with `http`: the repository JSON or a typed error."""
    name = validate_repo_name(full_name)
    return parse_repo(get_answer(http, f"/repos/{name}", name), name)


def get_answer(http: httpx.Client, url: str, name: str) -> httpx.Response:
    """One GET of `url` (about repository `name`) with `http`: a 2xx response, or a typed
    error: `TransientError` (timeout, connection, 5xx), `RepoNotFound` (404), `RateLimited`
    (with the wait GitHub asked for) or `UnexpectedStatus`."""
    try:
        response = http.get(url)
    except httpx.TimeoutException as exc:
        raise TransientError(f"{name}: timed out ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise TransientError(f"{name}: connection failed ({type(exc).__name__}: {exc})") from None
    status = response.status_code
    if response.is_success:
        return response
    if status == 404:
        raise RepoNotFound(f"{name}: not found (404)")
    wait = rate_limit_wait(response)
    if wait is not None:
        detail = _message(response) or "rate limit exceeded"
        raise RateLimited(f"{name}: rate limited ({status}: {detail})", wait_seconds=wait)
    if status >= 500:
        raise TransientError(f"{name}: server error {status}")
    detail = _message(response)
    raise UnexpectedStatus(f"{name}: HTTP {status}" + (f" ({detail})" if detail else ""))
