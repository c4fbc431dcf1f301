"""Configuration is a value: `Settings`, read from the environment at the edge only.

`Settings.from_environment` is the one reader of the environment; a run gets its `Settings` as
a flow parameter and builds its own `GitHubApi` from it, so two runs in one process never see
each other's settings, pause or counters; the token is read where requests are made and is in
no value, pickle or cache key.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import pickle
import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import prefect.utilities.hashing
import pytest
from prefect import get_client
from stand_in import StandIn

from github_stars.core import (
    GitHubApi,
    RateBudget,
    RateLimited,
    RateLimitWaitTooLong,
    RepoResult,
    Settings,
    observing,
)
from github_stars.core.api import RunResources
from github_stars.core.client import RequestCounter
from github_stars.core.pause import ApiPause
from github_stars.core.rate_limits import SlotBatcher
from github_stars.pipeline import show_stars
from github_stars.servers import free_port, start_simulator
from github_stars.settings import LIVE_API_URL
from github_stars.simulator.snapshot import snapshot_stars

SRC = Path(__file__).parents[1] / "src"
STARS = snapshot_stars()
SENTINEL = f"ghp_sentinel{uuid.uuid4().hex}"
LAB_SIMULATOR = "http://127.0.0.1:8765"
SPECIAL_PICKLING = {
    "__reduce__",
    "__reduce_ex__",
    "__getstate__",
    "__setstate__",
    "__getnewargs__",
    "__getnewargs_ex__",
}


# --- the one reader of the environment ------------------------------------------------------
def test_only_the_settings_module_reads_the_environment():
    """`grep -rn "os.environ" src/` finds only settings.py (compiled copies aside), and no
    other module reads the environment another way either."""
    other_ways = re.compile(rb"os\.getenv|os\.environb|from os import[^\n]*\b(environ|getenv)\b")
    readers, other_readers = set(), set()
    for path in sorted(SRC.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        text = path.read_bytes()
        if b"os.environ" in text:
            readers.add(path.relative_to(SRC).as_posix())
        if other_ways.search(text):
            other_readers.add(path.relative_to(SRC).as_posix())
    assert readers == {"github_stars/settings.py"}
    assert other_readers == set()


# --- Settings.from_environment ---------------------------------------------------------------
def test_an_explicit_mapping_is_all_that_is_read():
    # This process's environment (the test edge) sets both; the mapping given sets neither.
    assert os.environ["GITHUB_STARS_RETRY_DELAY"] == "0.05"
    assert os.environ["GITHUB_STARS_SIMULATOR_PORT"] != "8765"
    assert Settings.from_environment({}) == Settings(
        api_url=LAB_SIMULATOR,
        timeout=10.0,
        max_wait=60.0,
        retry_delay=1.0,
        budget=RateBudget(50, 50.0),
        http_cache=None,
        share_pause=False,
    )


VARIABLES = [
    ({"GITHUB_API_URL": "http://127.0.0.1:9999/"}, {"api_url": "http://127.0.0.1:9999"}),
    ({"GITHUB_STARS_SIMULATOR_PORT": "9999"}, {"api_url": "http://127.0.0.1:9999"}),
    ({"GITHUB_STARS_TIMEOUT": "2.5"}, {"timeout": 2.5}),
    ({"GITHUB_STARS_MAX_WAIT": "7"}, {"max_wait": 7.0}),
    ({"GITHUB_STARS_RETRY_DELAY": "0.25"}, {"retry_delay": 0.25}),
    ({"GITHUB_STARS_RATE_LIMIT": "4"}, {"budget": RateBudget(4, 1.0)}),
    (
        {"GITHUB_STARS_RATE_LIMIT": "4", "GITHUB_STARS_RATE_PER_SECOND": "8"},
        {"budget": RateBudget(4, 8.0)},
    ),
    ({"GITHUB_STARS_RATE_PER_SECOND": "8"}, {}),  # a rate without a limit: the API's own
    ({"GITHUB_TOKEN": SENTINEL}, {}),  # the simulator's budget does not depend on a token
    ({"GITHUB_STARS_HTTP_CACHE": "/srv/cache"}, {}),  # only where the edge turns it on
]


@pytest.mark.parametrize(
    ("environ", "changes"), VARIABLES, ids=[",".join(environ) for environ, _ in VARIABLES]
)
def test_each_variable_sets_its_setting(environ, changes):
    assert Settings.from_environment(environ) == Settings.from_environment({}).with_changes(
        **changes
    )


def test_the_http_cache_variable_where_the_edge_turns_the_cache_on(tmp_path):
    def folder(**environ: str) -> str | None:
        return Settings.from_environment(environ, http_cache=True).http_cache

    assert folder(GITHUB_STARS_HTTP_CACHE=str(tmp_path / "mine")) == str(tmp_path / "mine")
    for off in ("off", "OFF", "0", "false", "no"):
        assert folder(GITHUB_STARS_HTTP_CACHE=off) is None, off
    assert folder(PREFECT_HOME=str(tmp_path)) == str(tmp_path / "http-cache")
    assert folder(GITHUB_STARS_HTTP_CACHE="", PREFECT_HOME=str(tmp_path)) == str(
        tmp_path / "http-cache"
    )
    assert folder(GITHUB_STARS_HTTP_CACHE="~/stars-cache") == str(Path.home() / "stars-cache")


@pytest.mark.parametrize(
    ("environ", "live", "sent"),
    [
        ({}, True, True),
        ({"GITHUB_API_URL": "https://api.github.com/"}, False, True),
        # --live wins over GITHUB_API_URL, but the token is for the API GITHUB_API_URL names:
        # api.github.com does not get it, and the budget is the one without a token.
        ({"GITHUB_API_URL": "http://127.0.0.1:9999"}, True, False),
    ],
    ids=["--live", "GITHUB_API_URL", "--live over GITHUB_API_URL"],
)
def test_the_real_api_budget_is_60_an_hour_or_5000_with_a_token(environ, live, sent):
    without = Settings.from_environment(environ, live=live)
    empty = Settings.from_environment(environ | {"GITHUB_TOKEN": ""}, live=live)
    with_token = Settings.from_environment(environ | {"GITHUB_TOKEN": SENTINEL}, live=live)
    assert without.api_url == with_token.api_url == LIVE_API_URL and without.live
    assert without.budget == empty.budget == RateBudget(60, 60 / 3600)
    token_budget = RateBudget(100, 5000 / 3600)  # the burst at most 100
    assert with_token.budget == (token_budget if sent else without.budget)
    assert without == Settings()  # the defaults are the real API's


def test_settings_are_a_frozen_value_without_a_token():
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.timeout = 1.0
    changed = settings.with_changes(timeout=1.0)
    assert (settings.timeout, changed.timeout) == (10.0, 1.0)
    assert hash(settings) == hash(Settings()) and settings != changed
    names = {field.name for field in dataclasses.fields(Settings)}
    assert names == {
        "api_url",
        "timeout",
        "max_wait",
        "retry_delay",
        "budget",
        "http_cache",
        "share_pause",
    }
    api_names = {field.name for field in dataclasses.fields(GitHubApi) if field.compare}
    assert api_names == {"settings", "identity", "run_id"}  # and the resources it owns
    assert GitHubApi.__dataclass_params__.frozen


def test_a_token_in_the_environment_is_in_no_value_pickle_or_cache_key(sim, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    live = Settings.from_environment(live=True)
    assert live.budget == RateBudget(100, 5000 / 3600)  # the token was there to be seen
    hashed: list[bytes] = []  # what Prefect hashes into cache keys in this process
    real_hash = prefect.utilities.hashing.stable_hash

    def recording_hash(*parts: str | bytes, **kwargs: object) -> str:
        hashed.append(b"".join(p.encode() if isinstance(p, str) else bytes(p) for p in parts))
        return real_hash(*parts, **kwargs)

    monkeypatch.setattr(prefect.utilities.hashing, "stable_hash", recording_hash)
    with StandIn(upstream=sim.url) as configured:  # GITHUB_API_URL names it: it gets the token
        monkeypatch.setenv("GITHUB_API_URL", configured.url)
        settings = Settings.from_environment()
        assert settings.api_url == configured.url
        with GitHubApi.open(settings) as api:
            api.get_repo("psf/requests")  # the run's client, with the token, exists now
            seen = [
                repr(settings).encode(),
                repr(live).encode(),
                repr(dataclasses.asdict(settings)).encode(),
                repr(dataclasses.asdict(live)).encode(),
                pickle.dumps(settings),
                pickle.dumps(live),
                pickle.dumps(api),
                repr(api).encode(),
            ]
        state = show_stars(["pallets/flask"], settings, return_state=True)
        (result,) = state.result()
    with get_client(sync_client=True) as client:
        parameters = client.read_flow_run(state.state_details.flow_run_id).parameters
    assert result.stars == STARS["pallets/flask"]
    assert all(entry["authenticated"] for entry in sim.requests())  # the token was sent
    assert set(configured.authorizations("/repos/")) == {f"Bearer {SENTINEL}"}
    assert parameters["settings"]["api_url"] == configured.url  # stored, as every parameter
    # The searches look where the inputs are: the repository and the API's identity.
    assert any(b"pallets/flask" in data for data in hashed)
    assert any(configured.url.encode() in data for data in hashed)
    for data in [*seen, *hashed, json.dumps(parameters).encode()]:
        assert SENTINEL.encode() not in data


# --- two runs in one process -----------------------------------------------------------------
REPOS_A = ["psf/requests", "pallets/flask", "encode/httpx"]
REPOS_B = ["pallets/click", "encode/starlette", "tiangolo/typer"]


class ApiRecorder:
    """An observer that keeps the run's API."""

    def __init__(self) -> None:
        self.apis: list[GitHubApi] = []

    def opened(self, api: GitHubApi) -> None:
        self.apis.append(api)

    def finished(self, result: RepoResult) -> None:
        pass


def by_repo_when_settled(sim, expected_total: int, timeout: float = 20.0) -> dict[str, int]:
    """Requests per repository, once `expected_total` are logged (a hanging request is logged
    when the simulator answers it, after the client has given up)."""
    deadline = time.monotonic() + timeout
    while (stats := sim.stats())["requests"] < expected_total and time.monotonic() < deadline:
        time.sleep(0.2)
    return stats["by_repo"]


@pytest.mark.timeout(240)
def test_two_runs_with_different_settings_in_one_process_do_not_see_each_others(sim, settings):
    """Run A is patient (long timeout, long max_wait), run B hasty (short ones), at the same
    time in two threads, each against its own simulator. The same hang on each times out on B
    only; A waits out a Retry-After longer than B's max_wait; B never waits on A's pause."""
    other = start_simulator(free_port())
    try:
        sim.configure(
            faults={"psf/requests": [429], "pallets/flask": ["hang"] * 4},
            retry_after=3,
            hang_seconds=4,
        )
        other.configure(latency=0.2, faults={"encode/starlette": ["hang"] * 4}, hang_seconds=4)
        patient = settings.with_changes(timeout=10.0, max_wait=10.0)
        hasty = settings.with_changes(api_url=other.url, timeout=1.5, max_wait=1.0)
        both_started = threading.Barrier(2)

        def run(repos: list[str], run_settings: Settings):
            recorder = ApiRecorder()
            both_started.wait(timeout=60)
            started = time.monotonic()
            with observing(recorder):
                results = show_stars(repos, run_settings)
            return results, recorder.apis, (started, time.monotonic())

        with ThreadPoolExecutor(max_workers=2) as pool:
            run_a = pool.submit(run, REPOS_A, patient)
            run_b = pool.submit(run, REPOS_B, hasty)
            results_a, apis_a, span_a = run_a.result(timeout=200)
            results_b, apis_b, span_b = run_b.result(timeout=200)

        assert max(span_a[0], span_b[0]) < min(span_a[1], span_b[1])  # they ran together
        ([api_a], [api_b]) = (apis_a, apis_b)
        assert (api_a.settings, api_b.settings) == (patient, hasty)
        assert api_a.run_id != api_b.run_id

        # Run A: every repository, the hang answered within A's 10 s, the 429 waited out.
        assert [(r.repo, r.stars) for r in results_a] == [(n, STARS[n]) for n in REPOS_A]
        # Run B: the same hang timed out at B's 1.5 s on every attempt; the rest answered.
        assert [(r.repo, r.stars) for r in results_b] == [
            ("pallets/click", STARS["pallets/click"]),
            ("encode/starlette", None),
            ("tiangolo/typer", STARS["tiangolo/typer"]),
        ]
        assert re.fullmatch(r"timed out \(\w+\) \(gave up after 4 attempts\)", results_b[1].error)

        # Each run's requests went to its own simulator only, with its own knobs.
        assert by_repo_when_settled(sim, 4) == {
            "psf/requests": 2,
            "pallets/flask": 1,
            "encode/httpx": 1,
        }
        assert by_repo_when_settled(other, 6) == {
            "pallets/click": 1,
            "encode/starlette": 4,
            "tiangolo/typer": 1,
        }
        refusal, retry = [e for e in sim.requests() if e["repo"] == "psf/requests"]
        assert (refusal["status"], retry["status"]) == (429, 200)
        assert retry["t_start"] >= refusal["t_end"] + 3 - 0.05  # A waited out Retry-After: 3
        assert all(e["t_end"] - e["t_start"] >= 0.2 for e in other.requests())  # B's latency
        for server in (sim, other):  # each run asked its own API for its day, once
            paths = [e["path"] for e in server.requests(repos_only=False)]
            assert [p for p in paths if not p.startswith("/repos/")] == ["/rate_limit"]
    finally:
        other.stop()


# --- a GitHubApi: a value that pickles, resources per process and run -----------------------
def special_pickling(cls: type) -> set[str]:
    """The pickling hooks `cls` (or a base other than `object`) defines itself."""
    return {
        name for klass in cls.__mro__ if klass is not object for name in vars(klass)
    } & SPECIAL_PICKLING


CHILD = """
import json, pickle, sys
api = pickle.loads(sys.stdin.buffer.read())
before = api.counts().requests
api.get_repo("encode/httpx")
print(json.dumps({"run_id": api.run_id, "identity": api.identity, "before": before,
                  "after": api.counts().requests, "paused": api.resources.pause.remaining()}))
api.close()
"""


@pytest.mark.timeout(240)
def test_a_github_api_pickles_without_its_resources_and_builds_its_own_where_unpickled(
    sim, settings
):
    assert special_pickling(GitHubApi) == special_pickling(ApiPause) == set()
    assert special_pickling(Settings) == special_pickling(RateBudget) == set()
    with GitHubApi.open(settings.with_changes(max_wait=7200.0)) as api:
        api.get_repo("psf/requests")
        api.pause(RateLimited("psf/requests: rate limited", wait_seconds=3600))  # within max_wait
        sent = pickle.dumps(api)
        assert b"httpx" not in sent  # no client, connection or lock travels with the value
        same_process = pickle.loads(sent)
        assert same_process == api  # the same run: its copies share its resources here
        assert same_process.resources is api.resources
        child = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=sent,
            capture_output=True,
            timeout=180,
            check=False,
        )
        assert child.returncode == 0, child.stderr.decode()[-3000:]
        there = json.loads(child.stdout)
        # Another process: the same run and API, with a client, counter and pause of its own.
        assert (there["run_id"], there["identity"]) == (api.run_id, api.identity)
        assert (there["before"], there["after"], there["paused"]) == (0, 1, 0)
        assert api.counts().requests == 1 and api.resources.pause.remaining() > 3000
    assert sim.stats()["by_repo"] == {"psf/requests": 1, "encode/httpx": 1}


def test_a_run_closes_its_client_when_it_ends_and_its_last_dropped_copy_closes_it_too(settings):
    with GitHubApi.open(settings) as api:
        http = api.resources.http
    assert http.is_closed
    copy = pickle.loads(pickle.dumps(api))  # as a Dask task's copy, in a process of its own
    del api
    gc.collect()
    copied = copy.resources.http  # no other value of the run here: resources of its own
    assert not copied.is_closed
    del copy  # the task ends
    gc.collect()
    assert copied.is_closed


def test_more_runs_at_once_than_ever_before_keep_their_clients_open(settings):
    apis = [GitHubApi.open(settings) for _ in range(12)]
    clients = [api.resources.http for api in apis]
    assert not any(client.is_closed for client in clients)
    for api in apis:
        api.close()
    assert all(client.is_closed for client in clients)


def test_two_runs_in_one_process_have_their_own_pause_and_counters(sim, settings):
    with (
        GitHubApi.open(settings.with_changes(max_wait=5.0)) as first,
        GitHubApi.open(settings) as second,
    ):
        assert first.run_id != second.run_id
        assert first.resources is not second.resources
        assert first.resources.pause is not second.resources.pause
        assert first.resources.counter is not second.resources.counter
        with pytest.raises(RateLimitWaitTooLong):  # longer than the first run's max_wait
            first.pause(RateLimited("psf/requests: rate limited", wait_seconds=30))
        assert first.resources.pause.remaining() > 20
        assert second.resources.pause.remaining() == 0
        second.wait_out_pause("psf/requests")  # returns: the first run's pause is not its own
        assert second.get_repo("psf/requests")["full_name"] == "psf/requests"
        with pytest.raises(RateLimitWaitTooLong):
            first.wait_out_pause("psf/requests")
        assert (first.counts().requests, second.counts().requests) == (0, 1)
    per_run = (ApiPause, RequestCounter, SlotBatcher, RunResources, httpx.Client)
    for name, module in list(sys.modules.items()):
        if name.startswith("github_stars"):
            held = [key for key, value in vars(module).items() if isinstance(value, per_run)]
            assert held == [], f"{name} keeps per-run state at module level: {held}"


def test_flows_run_by_the_tests_use_the_sessions_server_without_heartbeats():
    """conftest.py turns heartbeats off for this process after PREFECT_API_URL is set: the
    settings Prefect's client uses here (and sends to Dask workers) name the session's server."""
    from prefect.settings import get_current_settings

    current = get_current_settings()
    assert current.api.url == os.environ["PREFECT_API_URL"]
    assert current.flows.heartbeat_frequency is None
