"""The GitHub API simulator: a Starlette app serving the snapshot with GitHub's behaviour.

API routes: `GET /repos/{owner}/{repo}`, its `/stargazers/count` and `/stargazers/history`
(each also as `/repositories/{id}/...`), and `GET /rate_limit`, answered in the shapes of
GitHub's published OpenAPI description (`full-repository`, `basic-error`,
`rate-limit-overview`, the stargazer count) and, for the star history (not in that
description yet), of GitHub's observed answer (`star_weeks.py`), with GitHub's headers (see
`headers.py` and the README next to this file).
Control routes (not part of GitHub's API) under `/_simulator/`: `health`, `settings`
(GET, PUT replaces, PATCH merges), `reset` (POST), `requests` and `stats` (GET), `calendar`
(GET, POST jumps), answered to loopback callers only, changes as JSON only (`guard.py`). With
a calendar on (`clock.py`), figures are those of the simulated day
(`calendar.py`) and every answer's `Date` is simulated time.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import math
import os
import random
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from github_stars.settings import SIMULATOR_SERVICE
from github_stars.simulator.calendar import repo_on_day
from github_stars.simulator.clock import Clock
from github_stars.simulator.guard import ControlGuard
from github_stars.simulator.headers import (
    API_VERSIONS,
    DEFAULT_API_VERSION,
    SimulatedDate,
    api_version,
    apply_github_headers,
    rate_limit_headers,
    request_moment,
)
from github_stars.simulator.knobs import SimulatorSettings
from github_stars.simulator.snapshot import RENAMED_REPOS, SNAPSHOT_DATE, load_snapshot
from github_stars.simulator.star_weeks import history_page, link_header, pagination

DOCS = "https://docs.github.com/rest"
SERVER_ERRORS = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
ERROR_MESSAGES = SERVER_ERRORS | {401: "Bad credentials", 451: "Repository access blocked"}
PRIMARY_LIMIT_MESSAGE = (
    "API rate limit exceeded for {who}. (But here's the good news: Authenticated requests "
    "get a higher rate limit. Check out the documentation for more details.)"
)
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
# `GET /rate_limit` resources other than `core`, whose counters the simulator does not keep:
# name -> (limit without a token, limit with one, window in seconds). Limits with a token are
# those of GitHub's documented example answer; without one, GitHub documents 10 searches a
# minute and no GraphQL access. The simulator never counts requests against these.
UNCOUNTED_RATE_LIMITS = {
    "search": (10, 30, 60),
    "graphql": (0, 5000, 3600),
    "integration_manifest": (5000, 5000, 3600),
    "source_import": (100, 100, 60),
    "actions_runner_registration": (10000, 10000, 3600),
    "scim": (15000, 15000, 3600),
    "dependency_snapshots": (100, 100, 60),
    "code_search": (10, 10, 60),
    "code_scanning_autofix": (10, 10, 60),
}


@dataclass
class RateWindow:
    """A fixed primary-limit window for one identity, like GitHub's hourly reset."""

    started: float
    used: int = 0


# What the simulator remembers is bounded, however long it runs and whoever calls it: the
# newest `LOG_LIMIT` requests, and the rate windows of at most `WINDOW_LIMIT` identities (the
# oldest window goes first; an expired window is forgotten anyway).
LOG_LIMIT = 50_000
WINDOW_LIMIT = 10_000


@dataclass
class SimulatorState:
    """Settings plus everything the simulator has seen since the last reset (bounded)."""

    settings: SimulatorSettings = field(default_factory=SimulatorSettings)
    log: deque = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    attempts: Counter = field(default_factory=Counter)
    windows: OrderedDict[str, RateWindow] = field(default_factory=OrderedDict)
    recent: deque = field(default_factory=deque)
    started_at: float = field(default_factory=time.time)
    reset_at: float = 0.0  # requests that began before this belong to the previous run
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        self.clock.restart(self.settings.day_seconds, self.settings.start_date)

    def reset(self, settings: SimulatorSettings | None = None) -> None:
        """Forget the log, counters and windows; with `settings`, use them and restart the clock."""
        self.reset_at = time.time()
        self.log.clear()
        self.attempts.clear()
        self.windows.clear()
        self.recent.clear()
        if settings is not None:
            self.settings = settings
            self.clock.restart(settings.day_seconds, settings.start_date)

    def apply_settings(self, settings: SimulatorSettings, named: set[str]) -> None:
        """New knobs; the clock restarts if `named` has a calendar knob or its knobs change."""
        old = self.settings
        self.settings = settings
        calendar_knobs = {"day_seconds", "start_date"}
        changed = {k for k in calendar_knobs if getattr(old, k) != getattr(settings, k)}
        if changed or named & calendar_knobs:
            self.clock.restart(settings.day_seconds, settings.start_date)

    def window_for(self, identity: str, now: float) -> RateWindow:
        window = self.windows.get(identity)
        if window is None or now >= window.started + self.settings.rate_limit_window:
            self.windows.pop(identity, None)
            window = self.windows[identity] = RateWindow(started=now)
            while len(self.windows) > WINDOW_LIMIT:  # the oldest window first
                self.windows.popitem(last=False)
        return window

    def rate_headers(self, identity: str, now: float) -> dict[str, str]:
        window = self.window_for(identity, now)
        reset = math.ceil(window.started + self.settings.rate_limit_window)
        return rate_limit_headers(self.settings.rate_limit, window.used, reset)


def _identity(request: Request) -> str:
    auth = request.headers.get("Authorization", "")
    if auth:  # never store the token itself, only a short digest
        return "token:" + hashlib.sha256(auth.encode()).hexdigest()[:12]
    return "ip:" + (request.client.host if request.client else "unknown")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"message": message, "documentation_url": DOCS, "status": str(status)}
    return JSONResponse(body, status_code=status, headers=headers)


def _etag(body: Any) -> str:
    return '"' + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest() + '"'


@functools.lru_cache(maxsize=4096)
def _repo_answer(key: str, base_url: str, day: int = 0) -> tuple[dict[str, Any], str]:
    """The body and ETag of one repository as served at `base_url` on simulated `day`.

    Both never change for the same arguments (day 0: the snapshot's figures). Callers must not
    modify the body: it is shared by all answers for that repository and day.
    """
    body = repo_on_day(load_snapshot()[key], base_url, day)
    return body, _etag(body)


def rate_limit_overview(
    core: dict[str, int], authenticated: bool, now: float, version: str = DEFAULT_API_VERSION
) -> dict[str, Any]:
    """The `GET /rate_limit` body (`rate-limit-overview`): the real `core` window, and
    GitHub's documented limits for the resources the simulator does not count. Version
    2026-03-10 drops the `rate` property (a copy of `core`)."""
    resources = {"core": core | {"resource": "core"}}
    for name, (anonymous, with_token, window) in UNCOUNTED_RATE_LIMITS.items():
        limit = with_token if authenticated else anonymous
        reset = (int(now) // window + 1) * window  # the end of the current fixed window
        resources[name] = {
            "limit": limit,
            "used": 0,
            "remaining": limit,
            "reset": reset,
            "resource": name,
        }
    if version == "2022-11-28":
        return {"resources": resources, "rate": dict(resources["core"])}
    return {"resources": resources}


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """`If-None-Match` as HTTP compares it: a list of tags, weak (`W/"..."`) or strong, or `*`."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


NO_USER_AGENT_MESSAGE = (
    "Request forbidden by administrative rules. "
    "Please make sure your request has a User-Agent header."
)
UNSUPPORTED_VERSION_MESSAGE = "Unsupported X-GitHub-Api-Version; supported versions: " + (
    ", ".join(API_VERSIONS)
)


class ResetResponse(Response):
    """Declares a long body, sends part of it and ends: the client sees a broken connection."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(b"", 200, headers, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        headers.append((b"content-length", b"4096"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"id": 1, "na', "more_body": True})
        raise ConnectionResetError("simulated connection reset")


# What a repository route serves, named by its path after the repository's.
REPOSITORY, STARGAZER_COUNT, STAR_HISTORY = "", "/stargazers/count", "/stargazers/history"


def _without_stars(body: Any) -> Any:
    """`body` without the field that holds its stars (the `missing_stars` fault)."""
    if isinstance(body, list):
        return [_without_stars(week) for week in body]
    return {k: v for k, v in body.items() if k not in ("stargazers_count", "count", "total")}


class GitHubSimulator:
    """Request handling; one instance per server process."""

    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.state = SimulatorState(settings=settings or SimulatorSettings())
        self.repos = load_snapshot()
        self.by_id = {repo.id: repo for repo in self.repos.values()}

    # --- API routes -------------------------------------------------------------------
    def _full_name(self, request: Request) -> str | None:
        """The repository a route names: `{owner}/{repo}`, or `{repo_id}` (None if unknown)."""
        params = request.path_params
        if "repo_id" in params:
            repo = self.by_id.get(int(params["repo_id"]))
            return repo.full_name if repo else None
        return f"{params['owner']}/{params['repo']}"

    async def get_repo(self, request: Request) -> Response:
        return await self._serve(request, self._full_name(request), REPOSITORY)

    async def get_stargazer_count(self, request: Request) -> Response:
        """`{"count": N}`, the repository's stars (GitHub's "Get stargazer count")."""
        return await self._serve(request, self._full_name(request), STARGAZER_COUNT)

    async def get_star_history(self, request: Request) -> Response:
        """The weeks of stars given, newest first, paginated (`star_weeks.py`)."""
        return await self._serve(request, self._full_name(request), STAR_HISTORY)

    async def get_rate_limit(self, request: Request) -> Response:
        """GitHub's `rate-limit-overview`; like GitHub, asking does not count against a limit."""
        started = time.time()
        headers = self.state.rate_headers(_identity(request), started)
        if not request.headers.get("User-Agent"):
            self._record(request, None, 403, started, "no_user_agent")
            return apply_github_headers(_error(403, NO_USER_AGENT_MESSAGE, headers), request)
        version = api_version(request)
        if version is None:
            self._record(request, None, 400, started, "unsupported_version")
            return apply_github_headers(_error(400, UNSUPPORTED_VERSION_MESSAGE), request)
        core = {
            "limit": int(headers["X-RateLimit-Limit"]),
            "remaining": int(headers["X-RateLimit-Remaining"]),
            "used": int(headers["X-RateLimit-Used"]),
            "reset": int(headers["X-RateLimit-Reset"]),
        }
        authenticated = bool(request.headers.get("Authorization"))
        body = rate_limit_overview(core, authenticated, started, version)
        headers["ETag"] = etag = _etag(body)
        if _etag_matches(request.headers.get("If-None-Match"), etag):
            self._record(request, None, 304, started, "not_modified")
            return apply_github_headers(Response(status_code=304, headers=headers), request)
        self._record(request, None, 200, started, "rate_limit")
        return apply_github_headers(JSONResponse(body, headers=headers), request)

    async def _serve(self, request: Request, full_name: str | None, resource: str) -> Response:
        started = time.time()
        settings = self.state.settings
        delay = settings.latency + (random.uniform(0, settings.jitter) if settings.jitter else 0)
        response, repo_key, kind = self._decide(request, full_name, started, resource)
        if kind == "hang":
            delay += settings.hang_seconds
        if delay:
            await asyncio.sleep(delay)
        self._record(request, repo_key, response.status_code, started, kind)
        return apply_github_headers(response, request)

    def _answer(
        self, key: str, resource: str, request: Request, base_url: str
    ) -> tuple[Any, str, dict[str, str]]:
        """The body, ETag and headers of a 200 for `resource` of the repository `key`."""
        moment = request_moment(request, self.state.clock)
        repo, etag = _repo_answer(key, base_url, moment.day)
        if resource == REPOSITORY:
            return repo, etag, {}
        if resource == STARGAZER_COUNT:
            count = {"count": repo["stargazers_count"]}
            return count, _etag(count), {}
        page, per_page = pagination(dict(request.query_params))
        start, today = self.state.clock.start, moment.when.date()
        weeks, more = history_page(key, start, today, moment.day, page, per_page)
        link = link_header(base_url, self.repos[key].id, page, per_page, more)
        return weeks, _etag(weeks), {"Link": link} if link else {}

    def _decide(
        self, request: Request, full_name: str | None, now: float, resource: str = REPOSITORY
    ) -> tuple[Response, str | None, str]:
        state, settings = self.state, self.state.settings
        identity = _identity(request)
        key = full_name.lower() if full_name else None
        if not request.headers.get("User-Agent"):
            headers = state.rate_headers(identity, now)
            return _error(403, NO_USER_AGENT_MESSAGE, headers), key, "no_user_agent"
        if api_version(request) is None:
            return _error(400, UNSUPPORTED_VERSION_MESSAGE), key, "unsupported_version"
        base_url = str(request.base_url).rstrip("/")
        body, etag, extra = None, None, {}
        if key in self.repos:
            body, etag, extra = self._answer(key, resource, request, base_url)
        # Conditional request: like GitHub, a 304 is free only with an `Authorization` header;
        # without one it counts against (and is refused by) the primary limit like any request.
        not_modified = bool(etag) and _etag_matches(request.headers.get("If-None-Match"), etag)
        authenticated = bool(request.headers.get("Authorization"))
        if not_modified and authenticated:
            headers = state.rate_headers(identity, now) | {"ETag": etag}
            return Response(status_code=304, headers=headers), key, "not_modified"
        # Primary limit: a fixed window per identity.
        window = state.window_for(identity, now)
        if window.used >= settings.rate_limit:
            headers = state.rate_headers(identity, now)
            message = PRIMARY_LIMIT_MESSAGE.format(who=identity.split(":", 1)[1])
            return _error(settings.rate_limit_status, message, headers), key, "primary_limit"
        window.used += 1
        headers = state.rate_headers(identity, now)
        if not_modified:
            headers["ETag"] = etag
            return Response(status_code=304, headers=headers), key, "not_modified"
        # Secondary limit: too many requests in a short sliding window.
        if settings.secondary_limit is not None:
            while state.recent and state.recent[0] <= now - settings.secondary_window:
                state.recent.popleft()
            if len(state.recent) >= settings.secondary_limit:
                headers["Retry-After"] = str(settings.retry_after)
                return _error(429, SECONDARY_LIMIT_MESSAGE, headers), key, "secondary_limit"
            state.recent.append(now)
        if key in RENAMED_REPOS:
            target = self.repos[RENAMED_REPOS[key]]
            query = f"?{request.url.query}" if request.url.query else ""
            location = f"{base_url}/repositories/{target.id}{resource}{query}"
            moved = {"message": "Moved Permanently", "url": location, "documentation_url": DOCS}
            headers["Location"] = location
            return JSONResponse(moved, status_code=301, headers=headers), key, "moved"
        if body is None:
            return _error(404, "Not Found", headers), key, "not_found"
        state.attempts[key] += 1
        fault = self._injected_fault(key, state.attempts[key])
        if settings.refuse_nth == sum(state.attempts.values()):
            fault = 429
        return self._fault_response(fault, body, etag, headers | extra), key, str(fault)

    def _injected_fault(self, key: str, attempt: int) -> int | str:
        settings = self.state.settings
        script = settings.faults.get(key)
        if script and attempt <= len(script):
            return script[attempt - 1]
        if attempt <= settings.fail_first:
            return settings.fail_first_status
        if settings.failure_rate:
            draw = random.Random(f"{settings.seed}:{key}:{attempt}")
            if draw.random() < settings.failure_rate:
                return draw.choice(settings.failure_statuses)
        return "ok"

    def _fault_response(
        self, fault: int | str, body: Any, etag: str | None, headers: dict[str, str]
    ) -> Response:
        """The answer for `fault`; `headers` a 200's (an error drops its `Link`)."""
        settings = self.state.settings
        if fault in ("ok", "hang", 200):
            return JSONResponse(body, headers=headers | {"ETag": etag or ""})
        headers.pop("Link", None)
        if fault == "non_json":
            return Response(
                "<html><body>Unicorn! Something went wrong</body></html>",
                200,
                headers=headers,
                media_type="text/html",
            )
        if fault == "truncated":
            text = json.dumps(body)
            return Response(
                text[: len(text) // 2], 200, headers=headers, media_type="application/json"
            )
        if fault == "missing_stars":
            partial = _without_stars(body)
            return JSONResponse(partial, headers=headers | {"ETag": _etag(partial)})
        if fault == "reset":
            return ResetResponse(headers)
        status = int(fault)
        if status == 429:
            headers["Retry-After"] = str(settings.retry_after)
            return _error(429, SECONDARY_LIMIT_MESSAGE, headers)
        if status == 403:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(math.ceil(time.time() + settings.retry_after))
            return _error(403, PRIMARY_LIMIT_MESSAGE.format(who="this client"), headers)
        return _error(status, ERROR_MESSAGES.get(status, "Error"), headers)

    def _record(
        self, request: Request, repo: str | None, status: int, started: float, kind: str
    ) -> None:
        if started < self.state.reset_at:
            return  # e.g. a hanging request from before a reset: not this run's to count
        self.state.log.append(
            {
                "t_start": started,
                "t_end": time.time(),
                "method": request.method,
                "path": request.url.path,
                "repo": repo,
                "status": status,
                "kind": kind,
                "authenticated": bool(request.headers.get("Authorization")),
                "api_version": request.headers.get("X-GitHub-Api-Version"),
            }
        )

    async def no_route(self, request: Request, exc: Exception) -> Response:
        """Any other path or method: GitHub's JSON error (404 or 405), with rate headers."""
        started = time.time()
        status = getattr(exc, "status_code", 404)
        message = "Not Found" if status == 404 else "Method Not Allowed"
        headers = self.state.rate_headers(_identity(request), started)
        self._record(request, None, status, started, "no_route")
        return apply_github_headers(_error(status, message, headers), request)

    # --- control routes ---------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "service": SIMULATOR_SERVICE,
                "pid": os.getpid(),
                "started_at": self.state.started_at,
                "snapshot_date": SNAPSHOT_DATE,
                "repositories": len(self.repos),
            }
        )

    async def settings(self, request: Request) -> Response:
        if request.method in ("PUT", "PATCH"):
            try:
                values = await request.json()
                if not isinstance(values, dict):
                    raise ValueError("expected a JSON object of settings")
                named = set(values)
                if request.method == "PATCH":
                    values = self.state.settings.to_dict() | values
                self.state.apply_settings(SimulatorSettings.from_dict(values), named)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(self.state.settings.to_dict())

    async def reset(self, request: Request) -> Response:
        defaults = SimulatorSettings() if request.query_params.get("settings") else None
        self.state.reset(defaults)
        return JSONResponse({"reset": True, "settings": self.state.settings.to_dict()})

    async def calendar(self, request: Request) -> Response:
        """GET: the calendar now. POST `{"day": N}` and/or `{"advance_days": N}`: jump first."""
        if request.method == "POST":
            try:
                day, advance = _jump_request(await request.json())
                self.state.clock.jump(day, advance)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(self.state.clock.describe())

    async def requests(self, request: Request) -> Response:
        return JSONResponse(list(self.state.log))

    async def stats(self, request: Request) -> Response:
        api = [e for e in self.state.log if e["path"].startswith(("/repos/", "/repositories/"))]
        return JSONResponse(
            {
                "requests": len(api),
                "by_status": dict(Counter(str(e["status"]) for e in api)),
                "by_kind": dict(Counter(e["kind"] for e in api)),
                "by_repo": dict(Counter(e["repo"] for e in api if e["repo"])),
            }
        )


def _jump_request(values: Any) -> tuple[int | None, int]:
    """`(day, advance_days)` from a `POST /_simulator/calendar` body; ValueError if malformed."""
    if not isinstance(values, dict) or not values or set(values) - {"day", "advance_days"}:
        raise ValueError('expected a JSON object with "day" and/or "advance_days"')
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer")
    if values.get("day", 0) < 0:
        raise ValueError("day must not be negative")
    return values.get("day"), values.get("advance_days", 0)


def create_app(settings: SimulatorSettings | None = None) -> Starlette:
    """The ASGI app; `settings` are the knobs at start (changeable at run time)."""
    sim = GitHubSimulator(settings)
    routes = [
        Route("/repos/{owner}/{repo}", sim.get_repo),
        Route("/repositories/{repo_id:int}", sim.get_repo),
        Route("/repos/{owner}/{repo}/stargazers/count", sim.get_stargazer_count),
        Route("/repositories/{repo_id:int}/stargazers/count", sim.get_stargazer_count),
        Route("/repos/{owner}/{repo}/stargazers/history", sim.get_star_history),
        Route("/repositories/{repo_id:int}/stargazers/history", sim.get_star_history),
        Route("/rate_limit", sim.get_rate_limit),
        Route("/_simulator/health", sim.health),
        Route("/_simulator/settings", sim.settings, methods=["GET", "PUT", "PATCH"]),
        Route("/_simulator/reset", sim.reset, methods=["POST"]),
        Route("/_simulator/requests", sim.requests),
        Route("/_simulator/stats", sim.stats),
        Route("/_simulator/calendar", sim.calendar, methods=["GET", "POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={404: sim.no_route, 405: sim.no_route},
        middleware=[Middleware(ControlGuard), Middleware(SimulatedDate, clock=sim.state.clock)],
    )
    app.state.simulator = sim
    return app
