"""The HTTP cache under Prefect's: once Prefect's entry has expired, an unchanged repository
costs a 304, which GitHub (and the simulator) does not count when the request has a token.

Day one fills the HTTP cache, day two runs the flow with Prefect's cache bypassed
(`refresh_cache`, as when its day-long entries have expired); figures in
`test-artifacts/conditional_requests.json`. On 100 snapshot repositories by default; the closing
figures were measured on 500 (`CONDITIONAL_REQUESTS_REPOS=500`).
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

from github_stars.cli.progress import RunRecorder
from github_stars.cli.run import build_parser, run_settings
from github_stars.core import Settings, observing
from github_stars.core.client import make_http_client
from github_stars.pipeline import show_stars
from github_stars.settings import read_token
from github_stars.simulator.snapshot import snapshot_repo_names, snapshot_stars

STARS = snapshot_stars()
ARTIFACT = Path(__file__).parents[1] / "test-artifacts" / "conditional_requests.json"
SENTINEL = f"ghp_sentinel{uuid.uuid4().hex}"
REPOSITORIES = int(os.environ.get("CONDITIONAL_REQUESTS_REPOS", "100"))


def kinds(sim, repos: list[str]) -> dict[str, int]:
    """How the simulator answered `repos` (a request another test left hanging is not ours)."""
    ours = {name.lower() for name in repos}
    return dict(Counter(e["kind"] for e in sim.requests() if e["repo"] in ours))


def remaining(sim, token: str | None) -> int:
    """`X-RateLimit-Remaining` of this identity (asking does not count against it)."""
    headers = {"User-Agent": "test"} | ({"Authorization": f"Bearer {token}"} if token else {})
    return int(httpx.get(f"{sim.url}/rate_limit", headers=headers).json()["rate"]["remaining"])


def with_cache(settings: Settings, folder: Path) -> Settings:
    """`settings` with the HTTP cache in `folder`: the command line turns it on, lessons do not."""
    return settings.with_changes(http_cache=str(folder))


@pytest.mark.parametrize("token", ["measure-token", None], ids=["token", "no-token"])
def test_day_two_refresh_of_unchanged_repositories(sim, settings, tmp_path, monkeypatch, token):
    if token:
        monkeypatch.setenv("GITHUB_TOKEN", token)
    else:
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    repos = snapshot_repo_names()[:REPOSITORIES]
    cached = with_cache(settings, tmp_path / "http-cache")
    with make_http_client(cached, token=read_token()) as http:  # day one (as the flow would)
        assert {http.get(f"/repos/{name}").status_code for name in repos} == {200}
    day_one = kinds(sim, repos)
    sim.reset()  # a new rate-limit window: the day after
    before = remaining(sim, token)
    with (
        temporary_settings({PREFECT_TASKS_REFRESH_CACHE: True}),  # Prefect's day is over
        observing(RunRecorder()) as recorder,  # the run's own request counts
    ):
        second = show_stars(repos, cached)
    after, day_two, counts = remaining(sim, token), kinds(sim, repos), recorder.request_counts()

    assert [r.stars for r in second] == [STARS[name.lower()] for name in repos]
    assert not any(r.cached for r in second)  # Prefect's cache really was bypassed
    assert day_one == {"ok": REPOSITORIES} and day_two == {"not_modified": REPOSITORIES}
    assert (counts.requests, counts.not_modified) == (REPOSITORIES, REPOSITORIES)
    used = before - after
    assert used == (0 if token else REPOSITORIES)
    record = {
        "repositories": REPOSITORIES,
        "day_one": day_one,
        "day_two": day_two,
        "budget_used_on_day_two": used,
        "rate_remaining": [before, after],
    }
    ARTIFACT.parent.mkdir(exist_ok=True)
    figures = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    ARTIFACT.write_text(json.dumps(figures | {"token" if token else "no_token": record}, indent=2))


def test_no_secret_in_any_file_of_the_cache(sim, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    sim.configure(faults={"pyca/bcrypt": [503, 503, 503, 503], "tox-dev/tox": ["non_json"]})
    repos = ["pyca/cryptography", "jazzband/tablib", "pyca/bcrypt", "tox-dev/tox", "nobody/x"]
    folder = tmp_path / "http-cache"
    cached = with_cache(settings, folder)
    show_stars(repos, cached)
    with temporary_settings({PREFECT_TASKS_REFRESH_CACHE: True}):
        show_stars(repos, cached)  # revalidations: stored headers are rewritten
    assert kinds(sim, repos)["not_modified"] == 2
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)
    data = b"".join(p.read_bytes() for p in files)
    assert b"pyca/cryptography" in data  # the search looks where the answers are
    assert SENTINEL.encode() not in data and b"Bearer" not in data


def test_only_answers_with_an_etag_are_kept_and_every_use_is_revalidated(sim, settings, tmp_path):
    sim.configure(faults={"pallets/click": ["non_json", "non_json"]})
    with make_http_client(with_cache(settings, tmp_path / "c")) as http:
        for _ in range(2):
            statuses = [
                http.get(f"/repos/{name}").status_code
                for name in ("pallets/click", "nobody/none", "encode/httpx")
            ]
            assert statuses == [200, 404, 200]
    # Every get reached the API; only encode/httpx's second get could be a 304.
    assert [e["kind"] for e in sim.requests()] == [
        "non_json",
        "not_found",
        "ok",
        "non_json",
        "not_found",
        "not_modified",
    ]


def test_one_api_answer_is_never_served_for_another(sim, settings, tmp_path):
    cached = with_cache(settings, tmp_path / "c")
    with make_http_client(cached) as http:
        assert http.get("/repos/psf/requests").status_code == 200
    elsewhere = cached.with_changes(api_url=sim.url.replace("127.0.0.1", "localhost"))
    with make_http_client(elsewhere) as http:
        response = http.get("/repos/psf/requests")
    assert not response.extensions["caching"]["from_cache"]  # another URL: a plain request
    assert [e["kind"] for e in sim.requests()] == ["ok", "ok"]


def test_where_the_cache_lives(tmp_path):
    def folder(**environ: str) -> str | None:
        return Settings.from_environment(environ, http_cache=True).http_cache

    assert folder(GITHUB_STARS_HTTP_CACHE=str(tmp_path / "mine")) == str(tmp_path / "mine")
    assert folder(GITHUB_STARS_HTTP_CACHE="off") is None
    home = tmp_path / "home"
    assert folder(PREFECT_HOME=str(home)) == str(home / "http-cache")
    # Off unless the edge asks for it: the command line does, lessons and defaults do not.
    assert Settings().http_cache is None
    assert Settings.from_environment({"PREFECT_HOME": str(home)}).http_cache is None
    cli = run_settings(build_parser().parse_args([]))
    assert cli.http_cache == os.environ["GITHUB_STARS_HTTP_CACHE"]  # the test's own folder
