"""The finished pipeline on a Prefect server whose database is PostgreSQL (README, "When SQLite
is not enough"): a throw-away cluster (`github_stars.lab.postgres`), a Prefect server on it,
`python -m github_stars` against the session's simulator; nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from github_stars import config
from github_stars.lab.postgres import PostgresCluster, postgres_available
from github_stars.lab.prefect_server import PrefectServer
from github_stars.simulator.snapshot import snapshot_stars

UNAVAILABLE = postgres_available()
pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.skipif(
        UNAVAILABLE is not None, reason=f"PostgreSQL is not available here: {UNAVAILABLE}"
    ),
]

FLOW_RUNS = (
    "SELECT flow_run.state_type FROM flow_run JOIN flow ON flow.id = flow_run.flow_id "
    "WHERE flow.name = 'show-stars'"
)


def wait_for(query, cluster: PostgresCluster, expected: str, timeout: float = 60.0) -> str:
    """Poll `query` until it returns `expected` (the server records runs asynchronously)."""
    deadline = time.monotonic() + timeout
    while (answer := cluster.psql(query)) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return answer


def test_the_pipeline_runs_on_a_prefect_server_backed_by_postgresql(sim) -> None:
    with (
        PostgresCluster(start_timeout=60) as cluster,
        PrefectServer(database_url=cluster.url, start_timeout=240) as server,
    ):
        assert server.database == "postgresql"
        assert httpx.get(f"{server.api_url}/health", timeout=10).json() is True
        env = {**os.environ, "PREFECT_API_URL": server.api_url, "GITHUB_API_URL": sim.url}
        run = subprocess.run(
            [sys.executable, "-m", "github_stars"],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert run.returncode == 0, run.stderr[-3000:]

        stars = snapshot_stars()
        expected = [f"{repo}: {stars[repo.lower()]} stars" for repo in config.DEFAULT_REPOS]
        assert run.stdout.splitlines()[-3:] == expected
        assert sim.request_count() == len(config.DEFAULT_REPOS)

        # The server kept the run in PostgreSQL, not in an SQLite file of its own.
        assert wait_for(FLOW_RUNS, cluster, "COMPLETED") == "COMPLETED"
        task_runs = (
            "SELECT count(*) FROM task_run WHERE state_type = 'COMPLETED' "
            "AND name LIKE 'fetch_stats-%'"
        )
        assert wait_for(task_runs, cluster, str(len(expected))) == str(len(expected))
        assert not (server.home / "prefect.db").exists()
        cluster_dir, server_home = cluster.root, server.home
        postgres_pid = cluster.process.pid

    assert not cluster_dir.exists() and not server_home.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(postgres_pid, 0)
