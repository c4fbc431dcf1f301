"""The servers: `python -m github_stars server start|status|stop` (the lab's Prefect server and
simulator in the background), which Prefect server a command-line run uses, a
`servers.PrefectServer` on SQLite, and `servers.lab_servers.LabServers` reusing servers that already
answer. Everything runs on free ports of 127.0.0.1 with a PREFECT_HOME of its own, and is
stopped by the test that started it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from github_stars.servers import (
    LabServers,
    PrefectServer,
    free_port,
    prefect_answers,
    simulator_running,
    start_simulator,
)
from github_stars.settings import DEFAULT_REPOS, LabPlaces
from github_stars.simulator.snapshot import snapshot_stars

STARS = snapshot_stars()
# Seconds a command may take: a Prefect server's first start (migrations, the UI's files) or a
# run with Prefect's temporary server takes minutes on a busy shared 2-core machine.
COMMAND_TIMEOUT = 420


def lab_environment(home: Path) -> dict[str, str]:
    """This process's environment without a Prefect server or an API named, with the lab's
    places moved to `home` and free ports."""
    environ = {
        k: v for k, v in os.environ.items() if k not in {"PREFECT_API_URL", "GITHUB_API_URL"}
    }
    return environ | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_PORT": str(free_port()),
        "GITHUB_STARS_SIMULATOR_PORT": str(free_port()),
    }


def github_stars(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "github_stars", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )


def holder_pid(places: LabPlaces) -> int | None:
    """The background process `server start` left (its pid file), if any."""
    with contextlib.suppress(OSError, ValueError):
        return int((places.prefect_home / "lab-servers.pid").read_text())
    return None


def end_holder(pid: int | None, timeout: float = 60.0) -> None:
    """Make sure the background process `server start` left has ended (SIGTERM stops the
    servers it holds), should `server stop` have failed."""
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.5)
        os.kill(pid, signal.SIGKILL)


def seed_lines() -> list[str]:
    return [f"{repo}: {STARS[repo.lower()]} stars" for repo in DEFAULT_REPOS]


@pytest.mark.timeout(6 * COMMAND_TIMEOUT)
def test_server_start_a_run_on_the_local_server_and_stop(tmp_path, seed_prefect_home):
    env = lab_environment(seed_prefect_home(tmp_path / "lab-home"))
    places = LabPlaces.from_environment(env)
    api_url, sim_port = places.prefect_api_url, places.simulator_port
    try:
        started = github_stars("server", "start", env=env)
        assert started.returncode == 0, started.stderr[-3000:]
        assert "started in the background" in started.stderr
        assert prefect_answers(api_url) and simulator_running(sim_port)
        assert httpx.get(api_url.removesuffix("/api") + "/", timeout=10).status_code == 200  # UI

        status = github_stars("server", "status", env=env)
        assert f"Prefect at {api_url} answers; the simulator on port {sim_port} answers" in (
            status.stderr
        )
        again = github_stars("server", "start", env=env)
        assert again.returncode == 0 and "already running" in again.stderr

        run = github_stars(env=env)  # no PREFECT_API_URL: the local one
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.splitlines() == seed_lines()
        assert f"Prefect server: the local one at {api_url}." in run.stderr
        assert f"simulator at http://127.0.0.1:{sim_port}" in run.stderr
        flow_runs = httpx.post(f"{api_url}/flow_runs/filter", json={}, timeout=30).json()
        assert [r["state_type"] for r in flow_runs] == ["COMPLETED"]  # kept on that server
    finally:
        pid = holder_pid(places)
        stopped = github_stars("server", "stop", env=env)
        end_holder(pid if prefect_answers(api_url) or simulator_running(sim_port) else None)
    assert stopped.returncode == 0 and "stopped the lab's servers" in stopped.stderr
    assert not prefect_answers(api_url) and not simulator_running(sim_port)
    status = github_stars("server", "status", env=env)
    assert f"Prefect at {api_url} does not answer; the simulator on port {sim_port} does not" in (
        status.stderr
    )


@pytest.mark.timeout(COMMAND_TIMEOUT + 120)
def test_without_a_local_server_a_run_uses_a_temporary_one(tmp_path, seed_prefect_home):
    # nothing listens on the lab's ports
    env = lab_environment(seed_prefect_home(tmp_path / "prefect-home"))
    run = github_stars("psf/requests", env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines() == [f"psf/requests: {STARS['psf/requests']} stars"]
    assert "Prefect server: a temporary one for this run (10-30 s)" in run.stderr


@pytest.mark.timeout(COMMAND_TIMEOUT + 120)
def test_prefect_server_on_sqlite_and_lab_servers_reuse_it_without_stopping_it(tmp_path):
    sim = start_simulator(free_port())
    try:
        with PrefectServer(start_timeout=COMMAND_TIMEOUT) as server:
            home, process, api_url = server.home, server.process, server.api_url
            assert api_url == f"http://127.0.0.1:{server.port}/api"
            assert server.database == "sqlite" and prefect_answers(api_url)
            assert (home / "prefect.db").exists()

            lab_home = tmp_path / "lab-home"
            places = LabPlaces(
                prefect_port=server.port, simulator_port=sim.port, prefect_home=lab_home, ui_base=""
            )
            with LabServers(places) as lab:
                assert lab.started == []
                assert lab.reused == [
                    f"the GitHub API simulator on port {sim.port}",
                    f"the Prefect server at {api_url}",
                ]
                assert lab.environment()["PREFECT_API_URL"] == api_url
            assert prefect_answers(api_url) and simulator_running(sim.port)  # never stopped
            assert not lab_home.exists()  # no server of its own was started there
        assert process.poll() is not None
        assert not prefect_answers(api_url)
        assert not home.exists()  # a temporary home goes with the server
    finally:
        sim.stop()
