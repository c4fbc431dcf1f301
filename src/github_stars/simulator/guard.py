"""Only this machine steers the simulator: a guard in front of its control routes.

A web page the user visits can send requests to 127.0.0.1 (a form or `fetch` with
`text/plain`, or a DNS name rebound to 127.0.0.1). So `/_simulator/*` answers only a request
from a loopback client whose `Host` is a loopback name, and takes changes (POST, PUT, PATCH)
only as `application/json`, which a page cannot send to another origin without the browser
asking first. The API routes (`/repos/...`) stay open, like GitHub's.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from github_stars.settings import is_loopback_host

CONTROL_PREFIX = "/_simulator/"
CHANGES = {"POST", "PUT", "PATCH", "DELETE"}


def host_name(header: str) -> str:
    """The name in a `Host` header, without its port."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def control_refusal(scope: Scope) -> tuple[int, str] | None:
    """Why a control request must be refused (status, reason), or None."""
    headers = Headers(scope=scope)
    client = scope.get("client")
    if client and not is_loopback_host(client[0]):
        return 403, "control routes answer loopback clients only"
    if not is_loopback_host(host_name(headers.get("host", ""))):
        return 403, "control routes answer requests for a loopback Host only"
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if scope["method"] in CHANGES and media_type != "application/json":
        return 415, "control routes take changes as application/json only"
    return None


class ControlGuard:
    """ASGI middleware: refuses control requests that `control_refusal` rejects."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CONTROL_PREFIX):
            refusal = control_refusal(scope)
            if refusal:
                status, reason = refusal
                await JSONResponse({"error": reason}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)
