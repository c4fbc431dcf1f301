"""Lesson 11, Try it yourself: add a repository to a served deployment's parameters."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prefect import get_client
from prefect.client.schemas.actions import DeploymentUpdate

from github_stars.core import StarHistory
from github_stars.lab.checks import check
from github_stars.lab.measure import connect_to_prefect
from github_stars.simulator import start_simulator
from github_stars.simulator.calendar import example_repos

NEW_REPO = "pallets/flask"
DEPLOYMENT = "show-stars/every-day-exercise"

sim = start_simulator()
sim.configure(day_seconds=5)  # a new day every 5 s
workdir = Path(tempfile.mkdtemp(prefix="every-day-"))
serve_args = ["--interval", "5", "--name", "every-day-exercise", "--history", "served.db"]
command = [sys.executable, "-m", "github_stars", "serve", *serve_args, *example_repos("steady", 2)]
environment = os.environ | {"GITHUB_API_URL": sim.url, "PREFECT_API_URL": connect_to_prefect()}
served = subprocess.Popen(
    command, cwd=workdir, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
)


def kept_repos() -> set[str]:
    with StarHistory.open(workdir / "served.db") as kept:
        return {row.repo for row in kept.records()}


def wait_until(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline and served.poll() is None:
        time.sleep(1)


try:
    wait_until(kept_repos, 90)  # the first run's rows: the deployment is served
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        repos = [*deployment.parameters["github_repos"], NEW_REPO]
        parameters = deployment.parameters | {"github_repos": repos}
        client.update_deployment(deployment.id, DeploymentUpdate(parameters=parameters))
    wait_until(lambda: NEW_REPO in kept_repos(), 90)  # a run scheduled after the change
finally:
    served.send_signal(signal.SIGTERM)
    served.wait(timeout=60)
    sim.configure()

check(
    f"the history has a row for {NEW_REPO}, added to the deployment's parameters while it "
    "was served (no restart)",
    NEW_REPO in kept_repos(),
)
