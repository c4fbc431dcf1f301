"""Two terminals running `python -m github_stars` at once, sharing one PREFECT_HOME.

Without the lab's simulator each run starts one of its own on a free port; with it running
(`make server`), both use it and neither stops it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from github_stars.servers import free_port, simulator_running, start_simulator
from github_stars.simulator.snapshot import snapshot_stars

STARS = snapshot_stars()
REPOS = ["pallets/werkzeug", "pallets/itsdangerous", "pallets/quart", "python/typeshed"]
MORE_REPOS = [
    "jazzband/pip-tools",
    "jazzband/prettytable",
    "python/typing_extensions",
    "python/mypy",
    "tox-dev/filelock",
    "pallets/jinja",
]


def start_cli(environ: dict[str, str], repos: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "github_stars", *repos],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def expected(repos: list[str]) -> list[str]:
    return [f"{repo}: {STARS[repo.lower()]} stars" for repo in repos]


def user_environment(home: Path, own_prefect_server: bool) -> dict[str, str]:
    """A terminal with one PREFECT_HOME and the lab's ports (the simulator's and the Prefect
    server's) on free ports, where no other lab answers."""
    environ = {k: v for k, v in os.environ.items() if k != "GITHUB_API_URL"}
    environ["PREFECT_HOME"] = str(home)
    environ["GITHUB_STARS_SIMULATOR_PORT"] = str(free_port())  # both use this "lab" port
    environ["PREFECT_SERVER_API_PORT"] = str(free_port())
    if own_prefect_server:  # what a user without a Prefect server gets
        environ.pop("PREFECT_API_URL")
    return environ


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("server", ["own temporary servers", "one shared server"])
def test_two_runs_started_together_both_finish_correctly(tmp_path: Path, server: str):
    environ = user_environment(tmp_path / "prefect-home", server == "own temporary servers")
    runs = [start_cli(environ, REPOS), start_cli(environ, REPOS)]
    outcomes = [run.communicate(timeout=540) for run in runs]
    for run, (stdout, stderr) in zip(runs, outcomes, strict=True):
        assert run.returncode == 0, stderr[-3000:]
        assert stdout.splitlines() == expected(REPOS)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("lab", ["no lab simulator", "the lab's simulator running"])
def test_a_short_run_ending_first_does_not_break_a_longer_one(tmp_path: Path, lab: str):
    environ = user_environment(tmp_path / "prefect-home", own_prefect_server=False)
    port = int(environ["GITHUB_STARS_SIMULATOR_PORT"])
    lab_simulator = start_simulator(port) if lab == "the lab's simulator running" else None
    try:
        short = start_cli(environ, REPOS[:1])
        time.sleep(3)  # the short run is under way (and ends first)
        long = start_cli(environ, MORE_REPOS)
        outcomes = [run.communicate(timeout=540) for run in (short, long)]
        assert [run.returncode for run in (short, long)] == [0, 0], outcomes[1][1][-3000:]
        assert outcomes[0][0].splitlines() == expected(REPOS[:1])
        assert outcomes[1][0].splitlines() == expected(MORE_REPOS)
        if lab_simulator is None:
            assert not simulator_running(port)  # each run had its own, on another port
        else:
            assert simulator_running(port)  # neither run stopped the lab's simulator
            asked = {entry["repo"] for entry in lab_simulator.requests()}
            assert asked == {name.lower() for name in REPOS[:1] + MORE_REPOS}
    finally:
        if lab_simulator is not None:
            lab_simulator.stop()
