"""`python -m github_stars serve`: a deployment on a schedule, served by this command.

Its runs are `python -m prefect.engine` subprocesses that reach the test's Prefect server and
simulator, get `GITHUB_TOKEN` from the environment only (and send it to no simulator: the
token goes only to the configured API, `test_trust.py`), validate their `settings` parameter
back into a `Settings`, and keep the history; SIGTERM stops it within 10 s (the run in
progress cancelled, the schedule paused); SIGKILL mid-run loses no row it wrote.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateName,
)
from prefect.exceptions import ObjectNotFound

from github_stars.cli.serve import deployment_parameters, poll_seconds
from github_stars.cli.serve import main as serve_main
from github_stars.core.star_history import StarHistory
from github_stars.pipeline import show_stars
from github_stars.simulator.calendar import example_repos

pytestmark = pytest.mark.timeout(1500)

REPOS = ["PrefectHQ/prefect", "pydantic/pydantic", "numpy/numpy"]
SENTINEL = "ghp_served-token-0123456789"
RUNS_TIMEOUT = 900.0  # seconds for three scheduled runs (each a new process) on a busy machine
STOP_WITHIN = 10.0  # seconds from SIGTERM to exit, on a machine no busier than its cores
# Prefect's runner checks every 3 s whether a cancelled run's process has ended, and a busy
# machine (the test suite's own workers: a load of 4-6 on 2 cores) slows every step: there
# the bound is three times as long. Both the time and the load are printed.
STOP_WITHIN_BUSY = 3 * STOP_WITHIN
ROWS_TIMEOUT = 300.0
CLI_TIMEOUT = 240.0
UNFINISHED = {"Pending", "Submitting", "Running", "Cancelling"}


# --- helpers -----------------------------------------------------------------------------
def wait_for(condition: Callable[[], object], timeout: float, what: str, every: float = 0.5):
    """Poll `condition` until it is truthy (returned) or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise TimeoutError(f"not within {timeout:.0f} s: {what}")


def deployment_and_runs(name: str) -> tuple[object, list] | None:
    """The deployment `show-stars/<name>` and its flow runs (None before it exists)."""
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(f"show-stars/{name}")
        except ObjectNotFound:
            return None
        ours = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        return deployment, client.read_flow_runs(deployment_filter=ours, limit=200)


def completed_runs(name: str) -> set:
    """The ids of the deployment's completed runs (one light query: the test must not keep
    the Prefect server busy while it schedules and records the runs it waits for)."""
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(f"show-stars/{name}")
        except ObjectNotFound:
            return set()
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Completed"]))
            ),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
            limit=200,
        )
        return {run.id for run in runs}


def at_least(count: int, found: set) -> set | None:
    """`found` if it has `count` members or more, else None (for `wait_for`)."""
    return found if len(found) >= count else None


def pause(name: str) -> None:
    """Pause the deployment (a killed `serve` could not), so the server schedules no more."""
    found = deployment_and_runs(name)
    if found:
        with get_client(sync_client=True) as client:
            client.pause_deployment(found[0].id)


@contextlib.contextmanager
def serving(
    args: list[str], log: Path, env: dict[str, str], *, own_session: bool = False
) -> Iterator[subprocess.Popen]:
    """`python -m github_stars serve ARGS` for the block (`own_session`: leading a process
    group, as in a terminal, whose Ctrl-C goes to the whole group); whatever of it (and of
    its runs' processes) is still alive afterwards is killed. `process.descendants()` lists
    every process it started so far, gone ones included."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "github_stars", "serve", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=own_session,
        )
    seen: dict[int, psutil.Process] = {}

    def descendants() -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            seen.update({p.pid: p for p in psutil.Process(process.pid).children(recursive=True)})
        return list(seen.values())

    process.descendants = descendants
    try:
        yield process
    finally:
        descendants()
        process.kill()
        process.wait(timeout=30)
        for child in seen.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()


def process_tree(process: subprocess.Popen) -> list[psutil.Process]:
    """`process` and every process it started (the runs' engines run in sessions of their
    own, so a process group would miss them)."""
    parent = psutil.Process(process.pid)
    return [parent, *parent.children(recursive=True)]


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `processes` still running (a zombie has ended)."""
    running = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
    return running


def row_count(location: Path) -> int:
    if not location.exists():
        return 0
    with StarHistory.open(location) as history:
        return history.count()


# --- the command line ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["--interval", "2", "a/b"],  # no --history
        ["--history", "h.db", "a/b"],  # no schedule
        ["--interval", "0", "--history", "h.db", "a/b"],
        ["--cron", "0 6 * * *", "--interval", "2", "--history", "h.db"],
        ["--interval", "2", "--history", "postgresql://me:pw@127.0.0.1/db"],  # a password
    ],
)
def test_usage_errors_exit_2_before_anything_starts(args, capsys):
    with pytest.raises(SystemExit) as exited:
        serve_main(args)
    assert exited.value.code == 2
    assert "pw@" not in capsys.readouterr().err


def test_parameters_are_plain_json_that_the_flow_validates_back_into_settings(settings):
    parameters = deployment_parameters(REPOS, settings, "/data/stars.db")
    assert json.loads(json.dumps(parameters)) == parameters
    assert parameters["settings"]["budget"] == dataclasses.asdict(settings.budget)
    validated = show_stars.validate_parameters(parameters)
    assert validated["settings"] == settings and validated["github_repos"] == REPOS
    assert (poll_seconds(2), poll_seconds(0.2), poll_seconds(86400), poll_seconds(None)) == (
        2,
        1,
        10,
        10,
    )


# --- served on a schedule ------------------------------------------------------------------
def test_a_served_deployment_runs_on_its_schedule_and_stops_on_sigterm(sim, tmp_path):
    name = "every-2-s"
    history = tmp_path / "stars.db"
    sim.set_day(5)  # a frozen day: every run after the first is answered from the cache
    env = os.environ | {"GITHUB_TOKEN": SENTINEL}
    args = ["--interval", "2", "--name", name, "--history", str(history), *REPOS]
    with serving(args, tmp_path / "serve.log", env) as process:
        completed = wait_for(
            lambda: at_least(3, completed_runs(name)), RUNS_TIMEOUT, "3 completed runs", every=3
        )
        tree = process_tree(process)
        asked = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        stop_seconds = time.monotonic() - asked
        wait_for(lambda: not alive(tree), 30, "the runs' processes to end")
    log = (tmp_path / "serve.log").read_text()
    deployment, all_runs = deployment_and_runs(name)
    runs = [run for run in all_runs if run.state_name == "Completed"]
    load = os.getloadavg()[0]
    bound = STOP_WITHIN if load <= (os.cpu_count() or 1) else STOP_WITHIN_BUSY
    print(
        f"serve stopped {stop_seconds:.1f} s after SIGTERM (load {load:.1f}, bound {bound:g} s);"
        f" {len(completed)} runs completed while serving, {len(runs)} after the stop"
    )
    assert code == 0, log[-3000:]
    assert stop_seconds < bound, log[-3000:]
    assert f"Prefect server: {os.environ['PREFECT_API_URL']} (PREFECT_API_URL)." in log
    assert "Stopped serving; the schedule of show-stars/every-2-s is paused." in log

    assert deployment.paused
    parameters = deployment.parameters
    assert parameters["github_repos"] == REPOS and parameters["history"] == str(history)
    assert parameters["settings"]["api_url"] == sim.url  # the same simulator, as plain JSON
    assert len(completed) >= 3  # seen through the Prefect API while it served
    assert not [run.state_name for run in all_runs if run.state_name in UNFINISHED]  # none left
    # Stopping cancels the run the runner still tracks, by force (Prefect 3.8.8's runner sets
    # Cancelled with force=True): a run that completed just before SIGTERM, its process not yet
    # reaped, may end Cancelled. At most that one; its rows are kept either way (below).
    recast = {run.state_name for run in all_runs if run.id in completed} - {"Completed"}
    assert recast <= {"Cancelled"}
    assert len(completed - {run.id for run in runs}) <= 1
    assert all(run.parameters == deployment.parameters for run in runs)
    assert SENTINEL not in repr(deployment) + repr(all_runs)
    requests = sim.requests()  # the bundled simulator never gets the token; the runs say so
    assert len(requests) == len(REPOS) and not any(r["authenticated"] for r in requests)
    assert "GITHUB_TOKEN is not sent to" in log and SENTINEL not in log
    with StarHistory.open(history) as kept:  # a frozen day: one row per repository
        assert kept.count() == len(REPOS) and len(kept.days()) == 1


def test_sigkill_mid_run_loses_no_row_and_the_re_run_completes_the_day(sim, tmp_path):
    name = "killed-mid-run"
    history = tmp_path / "stars.db"
    repos = example_repos("steady", 12)
    sim.set_day(6)
    slow = {"GITHUB_STARS_RATE_LIMIT": "1", "GITHUB_STARS_RATE_PER_SECOND": "1"}  # 1 request/s
    args = ["--interval", "2", "--name", name, "--history", str(history), *repos]
    try:
        with serving(args, tmp_path / "serve.log", os.environ | slow) as process:
            wait_for(lambda: row_count(history) >= 3, ROWS_TIMEOUT, "3 rows of the first run")
            tree = process_tree(process)
            with StarHistory.open(history) as kept:
                before = set(kept.records())
            for member in tree:  # the command and the run's engine, at once, as in a crash
                with contextlib.suppress(psutil.NoSuchProcess):
                    member.kill()
            psutil.wait_procs(tree, timeout=30)
    finally:
        pause(name)
    with StarHistory.open(history) as kept:
        after = set(kept.records())
    print(f"rows before the kill {len(before)}, after {len(after)}, lost {len(before - after)}")
    assert before <= after and len(after) < len(repos)  # killed mid-way, nothing lost

    rerun = subprocess.run(
        [sys.executable, "-m", "github_stars", "--quiet", "--history", str(history), *repos],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    with StarHistory.open(history) as kept:
        final = kept.records()
        assert len(kept.days()) == 1
    assert len(final) == len(repos) == len({r.repo.lower() for r in final})
    assert after <= set(final)  # the rows written before the kill, unchanged
