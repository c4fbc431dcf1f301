"""PostgreSQL with the finished pipeline (README, "When SQLite is not enough"): a Prefect
server whose database is a throw-away cluster (`github_stars.servers.PostgresCluster`), and a
star history kept in PostgreSQL (`--history postgresql+psycopg://...`); `python -m
github_stars` against the session's simulator; nothing left behind."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from cli_process import run_cli

from github_stars.servers import PostgresCluster, PrefectServer, postgres_available
from github_stars.servers.postgres import SUPERUSER
from github_stars.settings import DEFAULT_REPOS
from github_stars.simulator.snapshot import SNAPSHOT_DATE, snapshot_stars

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
STARS = snapshot_stars()
EXPECTED = [f"{repo}: {STARS[repo.lower()]} stars" for repo in DEFAULT_REPOS]


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
        run = run_cli(PREFECT_API_URL=server.api_url, GITHUB_API_URL=sim.url)
        assert run.returncode == 0, run.stderr[-3000:]
        assert f"Prefect server: {server.api_url} (PREFECT_API_URL)." in run.stderr

        assert run.stdout.splitlines()[-3:] == EXPECTED
        assert sim.request_count() == len(DEFAULT_REPOS)

        # The server kept the run in PostgreSQL, not in an SQLite file of its own.
        assert wait_for(FLOW_RUNS, cluster, "COMPLETED") == "COMPLETED"
        task_runs = (
            "SELECT count(*) FROM task_run WHERE state_type = 'COMPLETED' "
            "AND name LIKE 'fetch_stats-%'"
        )
        assert wait_for(task_runs, cluster, str(len(EXPECTED))) == str(len(EXPECTED))
        assert not (server.home / "prefect.db").exists()
        cluster_dir, server_home = cluster.root, server.home
        postgres_pid = cluster.process.pid

    assert not cluster_dir.exists() and not server_home.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(postgres_pid, 0)


def test_the_star_history_is_kept_in_postgresql(sim, tmp_path) -> None:
    """`--history` with a URL without a password (the password from PGPASSWORD): one row per
    repository, in the cluster's database; the password is in no output and no row."""
    with PostgresCluster(database="history", start_timeout=60) as cluster:
        url = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{cluster.port}/history"
        run = run_cli(
            "--history",
            url,
            GITHUB_API_URL=sim.url,
            PGPASSWORD=cluster.password,
            PGPASSFILE=str(tmp_path / "no-pgpass"),
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.splitlines()[-3:] == EXPECTED
        assert f"history: {url}" in run.stderr
        rows = cluster.psql("SELECT repo, stars, api FROM star_history ORDER BY repo_key")
        assert rows.splitlines() == sorted(
            (
                f"{repo}|{STARS[repo.lower()]}|github-stars-simulator@{SNAPSHOT_DATE}"
                for repo in DEFAULT_REPOS
            ),
            key=str.lower,
        )
        assert cluster.password not in run.stdout + run.stderr
