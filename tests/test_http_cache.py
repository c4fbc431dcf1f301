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
from prefect.settings import PREFECT_HOME, PREFECT_TASKS_REFRESH_CACHE, temporary_settings

from github_stars import http_cache
from github_stars.client import REQUESTS, make_http_client
from github_stars.pipeline import show_stars
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


@pytest.mark.parametrize("token", ["measure-token", None], ids=["token", "no-token"])
def test_day_two_refresh_of_unchanged_repositories(sim, monkeypatch, token):
    if token:
        monkeypatch.setenv("GITHUB_TOKEN", token)
    else:
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    repos = snapshot_repo_names()[:REPOSITORIES]
    with http_cache.enabled() as folder:
        with make_http_client(cache=folder) as http:  # day one (the flow would do the same)
            assert {http.get(f"/repos/{name}").status_code for name in repos} == {200}
        day_one = kinds(sim, repos)
        sim.reset()  # a new rate-limit window: the day after
        before = remaining(sim, token)
        REQUESTS.reset()
        with temporary_settings({PREFECT_TASKS_REFRESH_CACHE: True}):  # Prefect's day is over
            second = show_stars(repos)
    after, day_two, counts = remaining(sim, token), kinds(sim, repos), REQUESTS.snapshot()

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


def test_no_secret_in_any_file_of_the_cache(sim, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    sim.configure(faults={"pyca/bcrypt": [503, 503, 503, 503], "tox-dev/tox": ["non_json"]})
    repos = ["pyca/cryptography", "jazzband/tablib", "pyca/bcrypt", "tox-dev/tox", "nobody/x"]
    with http_cache.enabled() as folder:
        show_stars(repos)
        with temporary_settings({PREFECT_TASKS_REFRESH_CACHE: True}):
            show_stars(repos)  # revalidations: stored headers are rewritten
    assert kinds(sim, repos)["not_modified"] == 2
    files = [p for p in Path(folder).rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)
    data = b"".join(p.read_bytes() for p in files)
    assert b"pyca/cryptography" in data  # the search looks where the answers are
    assert SENTINEL.encode() not in data and b"Bearer" not in data


def test_only_answers_with_an_etag_are_kept_and_every_use_is_revalidated(sim, tmp_path):
    sim.configure(faults={"pallets/click": ["non_json", "non_json"]})
    with make_http_client(cache=tmp_path / "c") as http:
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


def test_one_api_answer_is_never_served_for_another(sim, tmp_path, monkeypatch):
    with make_http_client(cache=tmp_path / "c") as http:
        assert http.get("/repos/psf/requests").status_code == 200
    monkeypatch.setenv("GITHUB_API_URL", sim.url.replace("127.0.0.1", "localhost"))
    with make_http_client(cache=tmp_path / "c") as http:
        response = http.get("/repos/psf/requests")
    assert not response.extensions["caching"]["from_cache"]  # another URL: a plain request
    assert [e["kind"] for e in sim.requests()] == ["ok", "ok"]


def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_STARS_HTTP_CACHE", str(tmp_path / "mine"))
    assert http_cache.cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("GITHUB_STARS_HTTP_CACHE", "off")
    assert http_cache.cache_dir() is None
    monkeypatch.delenv("GITHUB_STARS_HTTP_CACHE")
    with temporary_settings({PREFECT_HOME: tmp_path / "home"}):
        assert http_cache.cache_dir() == tmp_path / "home" / "http-cache"
        assert http_cache.active_dir() is None  # off unless the CLI (or `enabled`) turns it on
        with http_cache.enabled() as folder:
            assert folder == http_cache.active_dir() == tmp_path / "home" / "http-cache"
        assert http_cache.active_dir() is None
