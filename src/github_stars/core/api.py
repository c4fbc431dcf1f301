"""`GitHubApi`: the API one run talks to, as a value its tasks receive.

    with GitHubApi.open(settings) as api:          # in the flow: one per run
        fetch_stats.map(names, api=unmapped(api))  # ... and every task gets it

A `GitHubApi` is frozen: the run's `Settings`, the identity its answers are cached under, and
the run's id. What a run needs to send requests, the HTTP client, the request counter,
GitHub's pause and the rate-limit slot taker (`RunResources`), are built the first time a task
asks, in each process the run reaches, and owned by the run there (`OwnedResources`): the
flow's value is shared by the run's threads and closes them when the flow's `with` block ends;
the copies Dask sends with each task travel without them and share those of their run in the
worker, closed once no copy of the run is left there.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx
from prefect import get_client

from github_stars.core.client import RequestCounter, RequestCounts, fetch_repo, make_http_client
from github_stars.core.credentials import run_token
from github_stars.core.errors import RateLimited, TransientError
from github_stars.core.observers import notify_opened
from github_stars.core.pause import ApiPause, PrefectVariablePauses, variable_name
from github_stars.core.rate_limits import SlotBatcher
from github_stars.settings import SIMULATOR_SERVICE, USER_AGENT, Settings

NOW_ATTEMPTS = 4  # tries at reading the API's date before a run gives up


def api_identity(settings: Settings) -> str:
    """The API as cache keys see it: its URL, or `github-stars-simulator@DATE` for the simulator.

    A server is the bundled simulator when it says so: its `/_simulator/health` answers
    `service: github-stars-simulator` and a snapshot date. Every such simulator, on any port,
    serves the same snapshot, so they share one identity (and cached results); any other
    server is known by its URL. The real API is never asked.
    """
    if settings.live:
        return settings.api_url
    try:
        reply = httpx.get(
            f"{settings.api_url}/_simulator/health",
            timeout=min(2.0, settings.timeout or 2.0),
            headers={"User-Agent": USER_AGENT},
        )  # never the token
        health = reply.json() if reply.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return settings.api_url
    snapshot = health.get("snapshot_date") if isinstance(health, dict) else None
    if health.get("service") == SIMULATOR_SERVICE and isinstance(snapshot, str) and snapshot:
        return f"{SIMULATOR_SERVICE}@{snapshot}"
    return settings.api_url


class RunResources:
    """One run's HTTP client, request counter, pause and slot taker, in one process."""

    def __init__(self, settings: Settings) -> None:
        token = run_token(settings)  # only to the API configured where the command started
        self.counter = RequestCounter()
        self.http = make_http_client(settings, self.counter, token)
        self._prefect = get_client(sync_client=True) if settings.share_pause else None
        store = None
        if self._prefect is not None:
            self._prefect.__enter__()
            store = PrefectVariablePauses(self._prefect, variable_name(settings.api_url, token))
        self.pause = ApiPause(settings.max_wait, store)
        self.slots = SlotBatcher(settings.rate_limit_name, settings.budget)

    def close(self) -> None:
        self.http.close()
        if self._prefect is not None:
            self._prefect.__exit__(None, None, None)


class OwnedResources:
    """The `RunResources` of one run in this process: built on first use, closed by `close()`
    or once no value of the run refers to them any more. A pickled copy of the run's value (a
    Dask task's) carries none: unpickled, it shares those of the copies of the same run alive
    in that process, or starts new ones (`resources_of_run`)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._lock = threading.Lock()
        self._made: RunResources | None = None
        self._closer: weakref.finalize | None = None

    def __reduce__(self) -> tuple[Callable[[str], OwnedResources], tuple[str]]:
        return (resources_of_run, (self.run_id,))

    def get(self, settings: Settings) -> RunResources:
        with self._lock:
            if self._made is None:
                self._made = RunResources(settings)
                self._closer = weakref.finalize(self, self._made.close)
            return self._made

    def close(self) -> None:
        with self._lock:
            closer, self._made, self._closer = self._closer, None, None
        if closer is not None:
            closer()


# The runs alive in this process, each shared by the copies of its value that Dask's tasks
# bring (their threads then share one client, pause and slot taker, as a flow's threads do).
# Weak: an entry goes with the last value of its run, so no live run's client is ever closed.
_LIVE: weakref.WeakValueDictionary[str, OwnedResources] = weakref.WeakValueDictionary()
_LIVE_LOCK = threading.Lock()


def resources_of_run(run_id: str) -> OwnedResources:
    """The resources of the run `run_id` in this process, shared by the copies of its value
    alive here; a run no value refers to any more is not kept (`_LIVE` is weak)."""
    with _LIVE_LOCK:
        found = _LIVE.get(run_id)
        if found is None:
            found = _LIVE[run_id] = OwnedResources(run_id)
        return found


@dataclass(frozen=True)
class GitHubApi:
    """The API a run talks to: its settings, its identity for cache keys, the run's id."""

    settings: Settings
    identity: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    owned: OwnedResources = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "owned", resources_of_run(self.run_id))

    @classmethod
    def open(cls, settings: Settings) -> GitHubApi:
        """The API of a new run (asks a simulator who it is, once: see `api_identity`); the
        run's observer, if its caller set one (`observing`), learns of it."""
        api = cls(settings, api_identity(settings))
        notify_opened(api)
        return api

    # --- the run's resources, owned by this value ------------------------------------------
    @property
    def resources(self) -> RunResources:
        return self.owned.get(self.settings)

    def close(self) -> None:
        """Close the HTTP client (and the Prefect client of a shared pause) of this value."""
        self.owned.close()

    def __enter__(self) -> GitHubApi:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- what tasks do with it ---------------------------------------------------------------
    def get_repo(self, full_name: str) -> dict[str, Any]:
        """`GET /repos/{owner}/{repo}`: the repository's JSON, or a typed error
        (`RepoNotFound`, `RateLimited`, `TransientError`, ...)."""
        return fetch_repo(self.resources.http, full_name)

    def wait_out_pause(self, github_repo: str) -> None:
        """Wait until no pause GitHub asked this run for holds (`RateLimitWaitTooLong` if it
        is longer than `settings.max_wait`)."""
        self.resources.pause.wait_out(github_repo)

    def pause(self, refusal: RateLimited) -> None:
        """Pause every request of this run as GitHub's `refusal` asks."""
        self.resources.pause.honour(refusal)

    def take_request_slot(self) -> None:
        """Take one request's slots of the run's rate limit (batched per process)."""
        self.resources.slots.take()

    def counts(self) -> RequestCounts:
        """What this run sent from this process so far."""
        return self.resources.counter.snapshot()

    def now(self) -> datetime:
        """The API's clock: the `Date` of its answer to `GET /rate_limit` (a request GitHub
        does not count against the rate limit), in UTC. Asked up to `NOW_ATTEMPTS` times
        with backoff: one broken connection must not cost a day."""
        problem = ""
        for attempt in range(NOW_ATTEMPTS):
            if attempt:
                time.sleep(self.settings.retry_delay * 2 ** (attempt - 1))
            try:
                response = self.resources.http.get("/rate_limit")
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            stamp = response.headers.get("Date")
            if stamp:
                return parsedate_to_datetime(stamp).astimezone(UTC)
            problem = f"HTTP {response.status_code} without a Date header"
        raise TransientError(
            f"{self.settings.api_url}: could not read the API's date after {NOW_ATTEMPTS} "
            f"attempts ({problem})"
        )

    def today(self) -> date:
        """The API's date (UTC), whatever this machine's time zone."""
        return self.now().date()
