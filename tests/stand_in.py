"""A stand-in API for tests: it records the headers of every request it receives.

    with StandIn(upstream=sim.url) as api:     # answers as the simulator does
        ... GITHUB_API_URL=api.url ...
    api.authorizations()                       # the Authorization header of each request

It answers what its upstream (the test's simulator) answers, except the simulator's own
routes (`/_simulator/*`: 404), so it is never taken for the bundled simulator: it is
"another API" on loopback, as a GitHub Enterprise server or a squatter on a port would be.
Without an upstream, every repository is `body` (and `/rate_limit` answers with a `Date`).
`overrides` changes the answer of some repositories (`{"owner/repo": {"forks_count": "x"}}`),
`latency` delays every answer, and `claims_simulator` makes it answer `/_simulator/health` as
the bundled simulator does (a squatter on the simulator's port). It listens on 127.0.0.1 only,
on a free port unless given one, and stops with the block.
"""

from __future__ import annotations

import json
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from github_stars.servers import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
HOP_BY_HOP |= {"server", "date"}


class StandIn:
    """A recording stand-in API on 127.0.0.1 (see the module's docstring)."""

    def __init__(
        self,
        upstream: str | None = None,
        body: dict[str, Any] | None = None,
        *,
        overrides: dict[str, dict[str, Any]] | None = None,
        latency: float = 0.0,
        claims_simulator: bool = False,
        port: int | None = None,
    ) -> None:
        self.upstream = upstream
        self.body = body or {"stargazers_count": 7, "forks_count": 1, "subscribers_count": 1}
        self.overrides = {name.lower(): changes for name, changes in (overrides or {}).items()}
        self.latency = latency
        self.claims_simulator = claims_simulator
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def authorizations(self, prefix: str = "/") -> list[str | None]:
        """The `Authorization` header (None: none) of each request whose path starts so."""
        with self._lock:
            return [r["authorization"] for r in self.received if r["path"].startswith(prefix)]

    def __enter__(self) -> StandIn:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        json_type = {"Content-Type": "application/json", "Date": formatdate(usegmt=True)}
        if path == "/_simulator/health" and self.claims_simulator:
            health = {"service": "github-stars-simulator", "snapshot_date": "2026-01-24"}
            return 200, json_type, json.dumps(health).encode()
        if path.startswith("/_simulator/"):
            return 404, json_type, b'{"message": "Not Found"}'
        time.sleep(self.latency)
        changes = self.overrides.get(path.removeprefix("/repos/").lower())
        if self.upstream:
            if changes:  # a changed answer: never a 304 for it
                headers = {k: v for k, v in headers.items() if k.lower() != "if-none-match"}
            reply = httpx.get(self.upstream + path, headers=headers, timeout=30)
            dropped = HOP_BY_HOP | ({"etag"} if changes else set())
            kept = {k: v for k, v in reply.headers.items() if k.lower() not in dropped}
            kept["Date"] = reply.headers.get("Date", formatdate(usegmt=True))
            if changes and reply.status_code == 200:
                return 200, kept, json.dumps(reply.json() | changes).encode()
            return reply.status_code, kept, reply.content
        body = {"full_name": path.removeprefix("/repos/"), **self.body, **(changes or {})}
        return 200, json_type, json.dumps(body).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                with stand_in._lock:
                    stand_in.received.append(
                        {"path": self.path, "authorization": self.headers.get("Authorization")}
                    )
                status, answer_headers, data = stand_in._answer(self.path, headers)
                self.send_response_only(status)
                for name, value in answer_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:  # quiet
                pass

        return Handler
