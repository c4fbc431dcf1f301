"""The HTTP cache under Prefect's: ETags kept across runs, so an unchanged repository costs a 304.

Prefect's cache (a day) decides whether a repository is fetched at all; this layer makes the
fetch cheap once that entry has expired. hishel (RFC 9111, as a private cache) keeps every 200
answer that carries an `ETag` in SQLite, keyed by the full URL, so one API's answer is never
served for another. Every request is revalidated (`Cache-Control: no-cache`): a stored answer
is used only after the server answered 304 to this request, with this request's credentials,
so one token's private answer is never served to another identity without the API confirming
it. GitHub answers an authorized 304 without counting it against the primary rate limit.

The `Authorization` header is never written: stored requests carry a placeholder instead.
Where it lives is a setting (`Settings.http_cache`, a folder; None turns it off). The command
line turns it on; lessons use plain requests, whose simulator faults a 304 would otherwise hide.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from hishel import Entry, Headers, Request, Response, SqliteStorage
from hishel.httpx import CacheTransport

DATABASE = "github-stars-http.db"
# Entries unused this long are dropped; a revalidated entry starts a new period.
IDLE_TTL = timedelta(days=30).total_seconds()
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie")
REDACTED = "(not stored)"
# Sent with every request: use a stored answer only after the server confirmed it (a 304).
REVALIDATE = {"Cache-Control": "no-cache"}


class TokenFreeStorage(SqliteStorage):
    """hishel's SQLite storage, keeping only 200 answers with an ETag and never a credential."""

    def create_entry(
        self,
        request: Request,
        response: Response,
        key: str,
        *,
        ttl: float | None = None,
        tti: float | None = None,
    ) -> Entry:
        if response.status_code != 200 or "etag" not in response.headers:
            return Entry(id=uuid.uuid4(), request=request, response=response)  # used, not kept
        headers = {
            name: (REDACTED if name in SECRET_HEADERS else request.headers.get_list(name) or [])
            for name in request.headers
        }
        kept = Request(method=request.method, url=request.url, headers=Headers(headers))
        return super().create_entry(kept, response, key, ttl=ttl, tti=tti)


def caching_transport(
    folder: Path,
    transport: httpx.BaseTransport | None = None,
) -> CacheTransport:
    """An httpx transport that revalidates through the cache in `folder` (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    storage = TokenFreeStorage(database_path=folder / DATABASE, default_tti=IDLE_TTL)
    return CacheTransport(
        next_transport=transport or httpx.HTTPTransport(), storage=storage, rfc={"shared": False}
    )
