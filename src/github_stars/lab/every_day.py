"""For lessons 12 and 13 (a new day, every day): the API's figures, and a served deployment.

    lab.api_stars(sim, repos)                    # what the API answers today, no cache
    served = lab.start_serving(sim, repos, "served.db", folder, interval=5)
    served.wait_for_runs(2, timeout=150)         # bounded: two completed runs, or 150 s
    served.process.send_signal(signal.SIGTERM)   # as Ctrl-C in a terminal

`start_serving` runs `python -m github_stars serve` as a subprocess of the kernel (a served
flow would block the kernel), on the kernel's Prefect server and the lesson's simulator, and
stops it when the kernel exits if the lesson did not. `without_flow_heartbeats` (from
`github_stars.settings`) saves a second at the end of each of many runs in a loop.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from github_stars.lab.measure import connect_to_prefect
from github_stars.settings import process_environment, without_flow_heartbeats
from github_stars.simulator import Simulator

__all__ = ["Serving", "api_stars", "start_serving", "without_flow_heartbeats"]

FLOW_NAME = "show-stars"  # the deployment `serve` creates is show-stars/<name>
POLL_SECONDS = 1.0


def api_stars(sim: Simulator, repos: Sequence[str]) -> list[int]:
    """The stars the API answers for each of `repos` now: a plain GET each (no Prefect, no
    cache), in the order of `repos`."""
    with httpx.Client(base_url=sim.url, timeout=10.0) as http:
        return [http.get(f"/repos/{repo}").json()["stargazers_count"] for repo in repos]


@dataclass
class Serving:
    """`python -m github_stars serve`, running as a subprocess of this process."""

    process: subprocess.Popen
    deployment: str  # "show-stars/<name>"
    started: datetime  # runs that started before this are an earlier serve's
    log: Path  # what the command printed (its own lines and Prefect's)

    def read_deployment(self) -> Any:
        """The deployment as the Prefect server stores it (None until `serve` created it)."""
        from prefect import get_client
        from prefect.exceptions import ObjectNotFound

        with get_client(sync_client=True) as client:
            try:
                return client.read_deployment_by_name(self.deployment)
            except ObjectNotFound:
                return None

    def completed_runs(self) -> int:
        """How many runs of the deployment completed since this `serve` started."""
        from prefect import get_client
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterId,
            FlowRunFilter,
            FlowRunFilterStartTime,
            FlowRunFilterState,
            FlowRunFilterStateName,
        )

        deployment = self.read_deployment()
        if deployment is None:
            return 0
        completed = FlowRunFilter(
            state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Completed"])),
            start_time=FlowRunFilterStartTime(after_=self.started),
        )
        ours = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        with get_client(sync_client=True) as client:
            return len(client.read_flow_runs(flow_run_filter=completed, deployment_filter=ours))

    def wait_for_runs(self, count: int, timeout: float = 150.0) -> int:
        """Wait until `count` runs completed, at most `timeout` seconds (or until `serve`
        exits); print and return how many completed."""
        deadline = time.monotonic() + timeout
        while (done := self.completed_runs()) < count and time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            time.sleep(POLL_SECONDS)
        waited = (datetime.now(UTC) - self.started).total_seconds()
        print(f"{done} completed runs of {self.deployment}, {waited:.0f} s after serve started")
        return done

    def own_lines(self) -> list[str]:
        """The lines `serve` printed itself (Prefect's log lines begin with the time)."""
        lines = self.log.read_text().splitlines()
        return [line for line in lines if line and not line[:2].isdigit()]

    def stop_at_exit(self) -> None:
        """Stop `serve` (SIGTERM) if it still runs: the lesson ended before it stopped it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_serving(
    sim: Simulator,
    repos: Sequence[str],
    history: str,
    folder: str | os.PathLike[str],
    name: str = "every-day-lesson",
    interval: float = 5.0,
) -> Serving:
    """Start `python -m github_stars serve --interval ... --history ... REPOS` (printed) as a
    subprocess in `folder` (a relative `history` is a file there), against `sim` and this
    process's Prefect server."""
    args = ["--interval", f"{interval:g}", "--name", name, "--history", str(history), *repos]
    print("python -m github_stars serve", *args)
    env = process_environment({"GITHUB_API_URL": sim.url, "PREFECT_API_URL": connect_to_prefect()})
    log_fd, log_path = tempfile.mkstemp(prefix="github-stars-serve-", suffix=".log")
    command = [sys.executable, "-m", "github_stars", "serve", *args]
    started = datetime.now(UTC)
    process = subprocess.Popen(
        command,
        cwd=folder,
        env=env,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    os.close(log_fd)
    served = Serving(process, f"{FLOW_NAME}/{name}", started, Path(log_path))
    atexit.register(served.stop_at_exit)
    return served
