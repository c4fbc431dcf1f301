"""GITHUB_TOKEN never leaves the Authorization header.

Runs the pipeline in-process and through the CLI with a sentinel token, including failing
repositories, then searches everything that was printed or logged (at DEBUG, httpx included),
every file under PREFECT_HOME (result storage, names included), the HTTP cache, and the
Prefect server's SQLite database files (flow/task runs, states, logs, events) and log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import logging
import os
import pickle
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.logging.handlers import APILogHandler
from prefect.settings import get_current_settings
from stand_in import StandIn

from github_stars.core import GitHubApi, Settings
from github_stars.pipeline import fetch_stats, show_stars
from github_stars.simulator.snapshot import snapshot_stars

STARS = snapshot_stars()
SENTINEL = f"ghp_sentinel{uuid.uuid4().hex}"
# Succeeds; fails after its retries; not found; bad body; succeeds.
REPOS = [
    "pyca/cryptography",
    "pyca/bcrypt",
    "nobody/secret-nothing",
    "pyca/pynacl",
    "jazzband/tablib",
]
FAULTS = {"pyca/bcrypt": [503] * 4, "pyca/pynacl": ["non_json"]}


def files_to_search() -> list[Path]:
    """Every file under PREFECT_HOME, the result storage and the HTTP cache, and the Prefect
    server's home: its database (with its -wal / -shm journals) and its log."""
    roots = [
        Path(os.environ["PREFECT_HOME"]),
        Path(get_current_settings().results.local_storage_path),
        Path(os.environ["GITHUB_STARS_HTTP_CACHE"]),  # conftest.py: this test's folder
        Path(os.environ["GITHUB_STARS_TEST_DATABASE"]).parent,  # conftest.py: this worker's
    ]
    return sorted({p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()})


def leaks(paths: list[Path], secret: str) -> list[str]:
    """Files whose name or bytes contain `secret`."""
    needle = secret.encode()
    return [str(p) for p in paths if secret in str(p) or needle in p.read_bytes()]


def wait_for_server_writes() -> None:
    """Ship buffered logs and give the server's event recorder time to write them."""
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, APILogHandler):
                handler.flush()
    time.sleep(5)


@pytest.fixture
def everything_logged(caplog):
    """All log records of the run at DEBUG: Prefect's, httpx's and ours."""
    for name in ("prefect", "httpx", "httpcore", "github_stars"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_token_is_sent_but_never_printed_logged_or_persisted(
    sim, settings, monkeypatch, capsys, everything_logged
):
    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    sim.configure(faults=FAULTS)
    with StandIn(upstream=sim.url) as configured:  # the API GITHUB_API_URL names gets it
        monkeypatch.setenv("GITHUB_API_URL", configured.url)
        run = show_stars.with_options(name="secrets-in-process")
        state = run(REPOS, settings.with_changes(api_url=configured.url), return_state=True)
        results = state.result()

    assert sim.requests() and all(e["authenticated"] for e in sim.requests())
    assert set(configured.authorizations("/repos/")) == {f"Bearer {SENTINEL}"}
    assert [r.ok for r in results] == [True, False, False, False, True]
    outputs = capsys.readouterr()
    texts = {
        "stdout": outputs.out,
        "stderr": outputs.err,
        "logs": everything_logged.text,
        "results": repr(results),
    }
    assert "pyca/bcrypt" in texts["logs"]  # the capture really saw the run
    assert [name for name, text in texts.items() if SENTINEL in text] == []

    # The token is not a parameter: neither of the task nor of the flow, nor a field of the
    # values they get (`Settings`, `GitHubApi`), nor in any flow or task run.
    assert list(inspect.signature(fetch_stats.fn).parameters) == ["github_repo", "api", "day"]
    assert list(inspect.signature(show_stars.fn).parameters) == [
        "github_repos",
        "settings",
        "history",
    ]
    value_fields = [f.name for f in dataclasses.fields(GitHubApi) if f.compare]
    assert value_fields == ["settings", "identity", "run_id"]  # and what it owns, never pickled
    assert "token" not in " ".join(f.name for f in dataclasses.fields(Settings))
    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(state.state_details.flow_run_id)
        task_runs = prefect.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
        )
    assert flow_run.parameters["settings"]  # the run's settings are stored ...
    assert SENTINEL not in repr(flow_run.parameters)  # ... without the token
    assert {key for run in task_runs for key in run.task_inputs} <= {"github_repo", "api", "day"}
    assert all(SENTINEL not in repr(run) for run in task_runs)

    wait_for_server_writes()
    searched = files_to_search()
    assert any(p.suffix == ".db" for p in searched)
    assert any(b"fetch_stats-pyca/bcrypt" in p.read_bytes() for p in searched)
    assert leaks(searched, SENTINEL) == []
    print(f"searched {len(searched)} files ({sum(p.stat().st_size for p in searched)} bytes)")


def test_cache_key_and_the_api_value_do_not_depend_on_the_token(settings, monkeypatch):
    """The `GitHubApi` a task gets (what Dask pickles, what the cache key hashes) is the same
    whatever the token; only a request, made with it, reads it."""
    keys, pickles = [], []
    for token in (SENTINEL, "another-token", None):
        if token:
            monkeypatch.setenv("GITHUB_TOKEN", token)
        else:
            monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        with GitHubApi.open(settings) as api:
            inputs = {"github_repo": "a/b", "api": api, "day": dt.date(2026, 1, 24)}
            keys.append(
                fetch_stats.cache_policy.compute_key(
                    task_ctx=None, inputs=inputs, flow_parameters={}
                )
            )
            pickles.append(pickle.dumps(dataclasses.replace(api, run_id="one run")))
    assert len(set(keys)) == 1 and SENTINEL not in keys[0]
    assert len(set(pickles)) == 1 and SENTINEL.encode() not in pickles[0]


def test_cli_with_a_token_at_debug_level_leaks_nothing(sim):
    sim.configure(faults={"pyca/bcrypt": [503] * 4, "tox-dev/filelock": ["missing_stars"]})
    repos = ["tox-dev/pipdeptree", "pyca/bcrypt", "tox-dev/filelock", "nobody/cli-nothing"]
    with StandIn(upstream=sim.url) as configured:
        environ = os.environ | {
            "GITHUB_TOKEN": SENTINEL,
            "GITHUB_API_URL": configured.url,
            "PREFECT_LOGGING_LEVEL": "DEBUG",
        }
        done = subprocess.run(
            [sys.executable, "-m", "github_stars", *repos],
            env=environ,
            capture_output=True,
            text=True,
            timeout=240,
        )
    assert done.returncode == 1
    assert set(configured.authorizations("/repos/")) == {f"Bearer {SENTINEL}"}
    stars = STARS["tox-dev/pipdeptree"]
    assert done.stdout.splitlines()[0] == f"tox-dev/pipdeptree: {stars} stars"
    assert "DEBUG" in done.stderr  # really the most talkative level
    assert all(e["authenticated"] for e in sim.requests())
    assert SENTINEL not in done.stdout and SENTINEL not in done.stderr
    wait_for_server_writes()
    searched = files_to_search()
    assert any(p.name == "github-stars-http.db" for p in searched)  # the CLI's HTTP cache
    assert leaks(searched, SENTINEL) == []
