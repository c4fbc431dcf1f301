"""Settings read from the environment at call time (never logged; only the API's identity,
probed once per URL, is remembered)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

LIVE_API_URL = "https://api.github.com"
DEFAULT_REPOS = ["PrefectHQ/prefect", "pydantic/pydantic", "huggingface/transformers"]
# The finished pipeline's limit, counted in slot units (`rate_limiting`); the lessons' steps
# use the seed tutorial's `github-api`, one slot per request.
RATE_LIMIT_NAME = "github-api-units"
USER_AGENT = "resilient-pipelines-github-stars/0.1"


def api_base_url() -> str:
    """Base URL of the GitHub API: `GITHUB_API_URL`, else the real API."""
    return os.environ.get("GITHUB_API_URL", "").rstrip("/") or LIVE_API_URL


SIMULATOR_SERVICE = "github-stars-simulator"
_identities: dict[str, str] = {}
_identities_lock = threading.Lock()


def api_identity() -> str:
    """The API as cache keys see it: its URL, or `github-stars-simulator@DATE` for the simulator.

    A server is the bundled simulator when it says so: its `/_simulator/health` answers
    `service: github-stars-simulator` and a snapshot date. Every such simulator, on any port,
    serves the same snapshot, so they share one identity (and cached results); any other
    server, on loopback or not, is known by its URL. Asked once per URL per process; never
    asked of the real API.
    """
    url = api_base_url()
    with _identities_lock:
        if url not in _identities:
            _identities[url] = url if url == LIVE_API_URL else _probe_identity(url)
        return _identities[url]


def _probe_identity(url: str) -> str:
    """`github-stars-simulator@DATE` if `url` serves the simulator's health page, else `url`."""
    import httpx  # here, so that reading settings stays cheap

    try:
        reply = httpx.get(
            f"{url}/_simulator/health",
            timeout=min(2.0, request_timeout()),
            headers={"User-Agent": USER_AGENT},
        )  # never the token
        health = reply.json() if reply.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return url
    if not isinstance(health, dict):
        return url
    date = health.get("snapshot_date")
    if health.get("service") == SIMULATOR_SERVICE and isinstance(date, str) and date:
        return f"{SIMULATOR_SERVICE}@{date}"
    return url


def github_token() -> str | None:
    """The token from `GITHUB_TOKEN`, if any. Only `client.py` sends it; nothing prints it."""
    return os.environ.get("GITHUB_TOKEN") or None


def max_rate_limit_wait() -> float:
    """Longest wait (s) we accept when the API says `Retry-After`/reset: `GITHUB_STARS_MAX_WAIT`."""
    return float(os.environ.get("GITHUB_STARS_MAX_WAIT", "60"))


def request_timeout() -> float:
    """Seconds an API request may take before it counts as a (retried) timeout:
    `GITHUB_STARS_TIMEOUT` (default 10)."""
    return float(os.environ.get("GITHUB_STARS_TIMEOUT", "10"))


def retry_base_delay() -> float:
    """Base of the exponential retry backoff in seconds: `GITHUB_STARS_RETRY_DELAY` (default 1)."""
    return float(os.environ.get("GITHUB_STARS_RETRY_DELAY", "1"))


@dataclass(frozen=True)
class RateBudget:
    """A global concurrency limit used as a rate limit: burst `limit`, refill `per_second`."""

    limit: int
    per_second: float


def rate_budget() -> RateBudget:
    """The request budget for the configured API.

    Real GitHub: 60 requests/hour without a token (limit 60, decay 60/3600 ~ 0.0167 slots/s),
    5,000/hour with one. Any other URL (the local simulator) gets 50 requests/s. Overridden
    with `GITHUB_STARS_RATE_LIMIT` and `GITHUB_STARS_RATE_PER_SECOND`.
    """
    if os.environ.get("GITHUB_STARS_RATE_LIMIT"):
        return RateBudget(
            int(os.environ["GITHUB_STARS_RATE_LIMIT"]),
            float(os.environ.get("GITHUB_STARS_RATE_PER_SECOND", "1")),
        )
    if api_base_url() != LIVE_API_URL:
        return RateBudget(limit=50, per_second=50.0)
    per_hour = 5000 if github_token() else 60
    return RateBudget(limit=min(per_hour, 100), per_second=per_hour / 3600)


def rate_limit_name() -> str:
    """The finished pipeline's limit: `RATE_LIMIT_NAME`, or one of its own for a budget set
    with `GITHUB_STARS_RATE_LIMIT`, so that runs with different budgets on one Prefect server
    never resize each other's limit."""
    if os.environ.get("GITHUB_STARS_RATE_LIMIT"):
        budget = rate_budget()
        return f"{RATE_LIMIT_NAME}-{budget.limit}-at-{budget.per_second:g}-per-s"
    return RATE_LIMIT_NAME
