"""The response headers GitHub's REST API sends, built in one place for every simulator answer.

`rate_limit_headers` gives the `X-RateLimit-*` set of one identity's window;
`apply_github_headers` adds the rest (caching, `Vary`, media type, API version, a request id)
to any response of an API route, error or not. `SimulatedDate` gives every answer its `Date`
from the simulator's clock (real time unless a calendar is on).
"""

from __future__ import annotations

import itertools
import os
import random
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from github_stars.simulator.clock import Clock, Moment, http_date

# The REST API versions GitHub serves; a request that names none gets the oldest.
API_VERSIONS = ("2022-11-28", "2026-03-10")
DEFAULT_API_VERSION = API_VERSIONS[0]
MEDIA_TYPE = "github.v3; format=json"
# GitHub sends two `Vary` lines; HTTP reads them as one comma-separated list.
VARY = (
    "Accept, Authorization, Cookie, X-GitHub-OTP",
    "Accept-Encoding, Accept, X-Requested-With",
)
MAX_AGE = "max-age=60, s-maxage=60"
EXPOSED = (
    "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, "
    "X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, "
    "X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, "
    "X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset"
)
STATIC_HEADERS = {
    "X-GitHub-Media-Type": MEDIA_TYPE,
    "Access-Control-Expose-Headers": EXPOSED,
    "Access-Control-Allow-Origin": "*",
    "X-Frame-Options": "deny",
    "X-Content-Type-Options": "nosniff",
    "X-XSS-Protection": "0",
    "Referrer-Policy": "origin-when-cross-origin, strict-origin-when-cross-origin",
    "Content-Security-Policy": "default-src 'none'",
}

_sequence = itertools.count(1)
_process_tag = (os.getpid() ^ random.SystemRandom().getrandbits(16)) & 0xFFFF


def request_id() -> str:
    """A unique id in GitHub's shape (`C0DE:1234:ABCD:EF01:6543210F`, hex groups).

    Unique per request of one server process: the groups are a per-process tag, a running
    number, two random groups and the current time.
    """
    rand = random.getrandbits(40)
    return (
        f"{_process_tag:04X}:{next(_sequence):04X}:{rand >> 20:05X}:{rand & 0xFFFFF:05X}:"
        f"{int(time.time()):08X}"
    )


def cache_control(authenticated: bool) -> str:
    """GitHub's `Cache-Control`: shared caches may keep anonymous answers, not token ones."""
    return ("private, " if authenticated else "public, ") + MAX_AGE


def rate_limit_headers(limit: int, used: int, reset: int, resource: str = "core") -> dict[str, str]:
    """The `X-RateLimit-*` headers of a window with `limit` requests, `used` spent so far."""
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - used)),
        "X-RateLimit-Used": str(used),
        "X-RateLimit-Reset": str(reset),
        "X-RateLimit-Resource": resource,
    }


def api_version(request: Request) -> str | None:
    """The REST API version a request asks for (`X-GitHub-Api-Version`, else GitHub's
    default), or None for a version GitHub does not serve."""
    asked = request.headers.get("X-GitHub-Api-Version", DEFAULT_API_VERSION)
    return asked if asked in API_VERSIONS else None


def apply_github_headers(response: Response, request: Request) -> Response:
    """Add GitHub's headers to an API answer (its rate-limit and ETag headers are the caller's)."""
    authenticated = bool(request.headers.get("Authorization"))
    for name, value in STATIC_HEADERS.items():
        response.headers[name] = value
    response.headers["X-GitHub-Api-Version-Selected"] = api_version(request) or DEFAULT_API_VERSION
    response.headers["Cache-Control"] = cache_control(authenticated)
    response.headers["X-GitHub-Request-Id"] = request_id()
    del response.headers["Vary"]
    for value in VARY:
        response.headers.append("Vary", value)
    return response


class SimulatedDate:
    """ASGI middleware: reads the clock once per request and sends that moment as `Date`.

    The moment is kept in the request's state (`moment`), so the figures an answer carries are
    those of the day its `Date` shows. The server must not add a `Date` of its own (uvicorn's
    `date_header=False`).
    """

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        moment = self.clock.read()
        scope.setdefault("state", {})["moment"] = moment
        date = (b"date", http_date(moment.when).encode())

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"date"]
                message = {**message, "headers": [*headers, date]}
            await send(message)

        await self.app(scope, receive, send_with_date)


def request_moment(request: Request, clock: Clock) -> Moment:
    """The moment `SimulatedDate` read for this request (or the clock now, without it)."""
    moment = request.scope.get("state", {}).get("moment")
    return moment if isinstance(moment, Moment) else clock.read()
