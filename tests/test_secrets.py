"""GITHUB_TOKEN never leaves the Authorization header.

Runs the pipeline in-process and through the CLI with a sentinel token, including failing
repositories, then searches everything that was printed or logged (at DEBUG, httpx included),
every file under PREFECT_HOME (result storage, names included), and the Prefect server's
SQLite database files (flow/task runs, states, logs, events).
"""

from __future__ import annotations

import inspect
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.logging.handlers import APILogHandler
from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL, get_current_settings

from github_stars.pipeline import show_stars
from github_stars.simulator.snapshot import snapshot_stars
from github_stars.tasks import CACHE_POLICY, fetch_stats

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
    """Every file under PREFECT_HOME and the result storage, and the server's database."""
    roots = [
        Path(os.environ["PREFECT_HOME"]),
        Path(get_current_settings().results.local_storage_path),
    ]
    url = os.environ.get("GITHUB_STARS_TEST_DATABASE_URL")  # conftest.py, for xdist workers
    url = url or PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    url = url.get_secret_value() if hasattr(url, "get_secret_value") else str(url)
    database = Path(url.split("///", 1)[1])
    roots.append(database.parent)  # the .db file and its -wal / -shm journals
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
    sim, monkeypatch, capsys, everything_logged
):
    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    sim.configure(faults=FAULTS)
    state = show_stars.with_options(name="secrets-in-process")(REPOS, return_state=True)
    results = state.result()

    assert sim.requests() and all(e["authenticated"] for e in sim.requests())
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

    # The token is not a task parameter: neither in the signature nor in any task run.
    assert list(inspect.signature(fetch_stats.fn).parameters) == ["github_repo", "max_wait"]
    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(state.state_details.flow_run_id)
        task_runs = prefect.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
        )
    assert SENTINEL not in repr(flow_run.parameters)
    assert {key for run in task_runs for key in run.task_inputs} <= {
        "github_repo",
        "max_wait",
        "repo_stats",
    }
    assert all(SENTINEL not in repr(run) for run in task_runs)

    wait_for_server_writes()
    searched = files_to_search()
    assert any(p.suffix == ".db" for p in searched)
    assert any(b"fetch_stats-pyca/bcrypt" in p.read_bytes() for p in searched)
    assert leaks(searched, SENTINEL) == []
    print(f"searched {len(searched)} files ({sum(p.stat().st_size for p in searched)} bytes)")


def test_cache_key_does_not_depend_on_the_token(monkeypatch):
    keys = []
    for token in (SENTINEL, "another-token", None):
        if token:
            monkeypatch.setenv("GITHUB_TOKEN", token)
        else:
            monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        keys.append(
            CACHE_POLICY.compute_key(
                task_ctx=None, inputs={"github_repo": "a/b"}, flow_parameters={}
            )
        )
    assert len(set(keys)) == 1 and SENTINEL not in keys[0]


def test_cli_with_a_token_at_debug_level_leaks_nothing(sim):
    sim.configure(faults={"pyca/bcrypt": [503] * 4, "tox-dev/filelock": ["missing_stars"]})
    environ = os.environ | {
        "GITHUB_TOKEN": SENTINEL,
        "GITHUB_API_URL": sim.url,
        "PREFECT_LOGGING_LEVEL": "DEBUG",
    }
    repos = ["tox-dev/pipdeptree", "pyca/bcrypt", "tox-dev/filelock", "nobody/cli-nothing"]
    done = subprocess.run(
        [sys.executable, "-m", "github_stars", *repos],
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 1
    stars = STARS["tox-dev/pipdeptree"]
    assert done.stdout.splitlines()[0] == f"tox-dev/pipdeptree: {stars} stars"
    assert "DEBUG" in done.stderr  # really the most talkative level
    assert all(e["authenticated"] for e in sim.requests())
    assert SENTINEL not in done.stdout and SENTINEL not in done.stderr
    wait_for_server_writes()
    assert leaks(files_to_search(), SENTINEL) == []
