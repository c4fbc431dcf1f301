"""Prefect's cache never mixes APIs: the simulator is known by what it serves, not by loopback.

Two different servers on loopback, one after the other, on one PREFECT_HOME and result
storage: the second never sees the first's figures. Two simulators on different ports serve
the same snapshot, so they share cached results.
"""

from __future__ import annotations

import json
import pickle
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from github_stars.core import GitHubApi, Settings
from github_stars.core import api as api_module
from github_stars.pipeline import show_stars
from github_stars.servers import free_port, start_simulator
from github_stars.settings import LIVE_API_URL
from github_stars.simulator.snapshot import SNAPSHOT_DATE, snapshot_stars

STARS = snapshot_stars()
OTHER_STARS = 7  # what the other server says every repository has


class OtherApi(BaseHTTPRequestHandler):
    """Another GitHub-like API: every repository has 7 stars; no `/_simulator/health`."""

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "repos":
            body, status = (
                {
                    "full_name": f"{parts[1]}/{parts[2]}",
                    "stargazers_count": OTHER_STARS,
                    "forks_count": 0,
                },
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


def identity(settings: Settings) -> str:
    """The identity a run against `settings` caches its answers under."""
    with GitHubApi.open(settings) as api:
        return api.identity


def test_the_simulator_is_known_by_what_it_serves(settings):
    assert identity(settings) == f"github-stars-simulator@{SNAPSHOT_DATE}"


def test_another_server_on_loopback_is_known_by_its_url(settings):
    with other_api() as url:
        assert identity(settings.with_changes(api_url=url)) == url
    nobody = f"http://localhost:{free_port()}"  # nothing listens: its URL too
    assert identity(settings.with_changes(api_url=nobody)) == nobody


def test_probed_once_per_run_without_the_token_and_never_the_real_api(sim, settings, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_never_sent_to_the_probe")
    probes = []
    real_get = httpx.get

    def recording_get(url: str, **kwargs) -> httpx.Response:
        probes.append((url, dict(kwargs.get("headers") or {})))
        return real_get(url, **kwargs)

    monkeypatch.setattr(api_module.httpx, "get", recording_get)
    with GitHubApi.open(settings) as api:
        for task_copy in (api, pickle.loads(pickle.dumps(api)), pickle.loads(pickle.dumps(api))):
            task_copy.get_repo("psf/requests")  # as each task of the run does
            assert task_copy.identity == f"github-stars-simulator@{SNAPSHOT_DATE}"
    assert [url for url, _ in probes] == [f"{sim.url}/_simulator/health"]
    assert not any("Authorization" in headers for _, headers in probes)
    with GitHubApi.open(Settings.from_environment(live=True)) as live:
        assert live.identity == LIVE_API_URL
    assert len(probes) == 1  # the real API is never asked who it is


@pytest.mark.timeout(180)
def test_two_servers_on_loopback_never_share_cached_results(sim, settings, tmp_path):
    repos = ["psf/requests", "pallets/flask"]
    cached = settings.with_changes(http_cache=str(tmp_path / "http-cache"))  # as the CLI runs
    first = show_stars(repos, cached)
    assert [r.stars for r in first] == [STARS[n] for n in repos]
    with other_api() as url:
        second = show_stars(repos, cached.with_changes(api_url=url))
    assert [(r.stars, r.cached) for r in second] == [(OTHER_STARS, False)] * 2
    third = show_stars(repos, cached)  # the simulator again: its own results, from Prefect's cache
    assert [(r.stars, r.cached) for r in third] == [(STARS[n], True) for n in repos]
    assert sim.request_count() == 2


@pytest.mark.timeout(180)
def test_two_simulators_share_cached_results(sim, settings):
    (first,) = show_stars(["encode/starlette"], settings)
    other = start_simulator(free_port())
    try:
        (second,) = show_stars(["encode/starlette"], settings.with_changes(api_url=other.url))
        assert (second.stars, second.cached) == (first.stars, True)
        assert other.request_count() == 0
    finally:
        other.stop()
