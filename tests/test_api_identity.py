"""Prefect's cache never mixes APIs: the simulator is known by what it serves, not by loopback.

Two different servers on loopback, one after the other, on one PREFECT_HOME and result
storage: the second never sees the first's figures. Two simulators on different ports serve
the same snapshot, so they share cached results.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from github_stars import config, http_cache
from github_stars.pipeline import show_stars
from github_stars.simulator import free_port, start_simulator
from github_stars.simulator.snapshot import SNAPSHOT_DATE, snapshot_stars

STARS = snapshot_stars()
OTHER_STARS = 7  # what the other server says every repository has


class OtherApi(BaseHTTPRequestHandler):
    """Another GitHub-like API: every repository has 7 stars; no `/_simulator/health`."""

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "repos":
            body, status = (
                {"full_name": f"{parts[1]}/{parts[2]}", "stargazers_count": OTHER_STARS},
                200,
            )
        else:
            body, status = {"message": "Not Found"}, 404
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # quiet
        pass


@contextmanager
def other_api() -> Iterator[str]:
    """Serve `OtherApi` on a free loopback port for the block; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), OtherApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_simulator_is_known_by_what_it_serves(sim):
    assert config.api_identity() == f"github-stars-simulator@{SNAPSHOT_DATE}"


def test_another_server_on_loopback_is_known_by_its_url(monkeypatch):
    with other_api() as url:
        monkeypatch.setenv("GITHUB_API_URL", url)
        assert config.api_identity() == url
    nobody = f"http://localhost:{free_port()}"  # nothing listens: its URL too
    monkeypatch.setenv("GITHUB_API_URL", nobody)
    assert config.api_identity() == nobody


def test_probed_once_per_url_and_never_the_real_api(monkeypatch):
    probes = []
    monkeypatch.setattr(config, "_probe_identity", lambda url: probes.append(url) or url)
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("GITHUB_API_URL", url)
    assert [config.api_identity() for _ in range(3)] == [url] * 3
    monkeypatch.setenv("GITHUB_API_URL", config.LIVE_API_URL)
    assert config.api_identity() == config.LIVE_API_URL
    assert probes == [url]


@pytest.mark.timeout(180)
def test_two_servers_on_loopback_never_share_cached_results(sim, monkeypatch):
    repos = ["psf/requests", "pallets/flask"]
    with http_cache.enabled():
        first = show_stars(repos)
        assert [r.stars for r in first] == [STARS[n] for n in repos]
        with other_api() as url:
            monkeypatch.setenv("GITHUB_API_URL", url)
            second = show_stars(repos)
        assert [(r.stars, r.cached) for r in second] == [(OTHER_STARS, False)] * 2
        sim.activate()  # back to the simulator: its own results, from Prefect's cache
        third = show_stars(repos)
    assert [(r.stars, r.cached) for r in third] == [(STARS[n], True) for n in repos]
    assert sim.request_count() == 2


@pytest.mark.timeout(180)
def test_two_simulators_share_cached_results(sim):
    (first,) = show_stars(["encode/starlette"])
    other = start_simulator(free_port(), activate=True)
    try:
        (second,) = show_stars(["encode/starlette"])
        assert (second.stars, second.cached) == (first.stars, True)
        assert other.request_count() == 0
    finally:
        other.stop()
        sim.activate()
