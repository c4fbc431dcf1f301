"""The lab's servers: the GitHub API simulator and a Prefect server with its UI.

On the lab's ports and `PREFECT_HOME` (`settings.LabPlaces`: 8765, 4200, `.prefect/`), the
Prefect UI and API under `<Jupyter base URL>prefect-ui/`, where jupyter-server-proxy shows
them (`prefect_ui_proxy`). A server already answering there is reused, never stopped. Started
from the command line (`cli/server.py`):

    python -m github_stars server run -- jupyter lab ...   # binder/start, make lab, make book
    python -m github_stars server start | stop | status    # make server: in the background

`run` starts what is missing, runs the command with `PREFECT_API_URL` and the lab's settings in
its environment, and stops what it started when the command ends. `start` leaves them running
in a background process of its own (its pid in `$PREFECT_HOME/lab-servers.pid`) until
`stop`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from github_stars.servers.prefect import PrefectServer, prefect_answers
from github_stars.settings import LabPlaces, process_environment, server_environment
from github_stars.simulator.control import SimulatorError, simulator_running, start_simulator

START_TIMEOUT = 180.0
PID_FILE = "lab-servers.pid"


class LabServers(contextlib.ExitStack):
    """Start (or reuse) the lab's servers; leaving the block stops those started here."""

    def __init__(self, places: LabPlaces) -> None:
        super().__init__()
        self.places = places
        self.reused: list[str] = []
        self.started: list[str] = []

    def __enter__(self) -> LabServers:
        super().__enter__()
        try:
            self._simulator()
            self._prefect()
        except BaseException:
            self.close()
            raise
        return self

    def _simulator(self) -> None:
        port = self.places.simulator_port
        if simulator_running(port):
            self.reused.append(f"the GitHub API simulator on port {port}")
            return
        sim = start_simulator(port)
        self.callback(sim.stop)
        self.started.append(f"the GitHub API simulator on port {port}")

    def _prefect(self) -> None:
        places = self.places
        if prefect_answers(places.prefect_api_url):
            self.reused.append(f"the Prefect server at {places.prefect_api_url}")
            return
        server = PrefectServer(
            port=places.prefect_port,
            home=places.prefect_home,
            ui_base=places.ui_base,
            start_timeout=START_TIMEOUT,
            env={"PREFECT_UI_URL": places.public_url + places.ui_base} if places.public_url else {},
        )
        self.enter_context(server)
        self.started.append(f"a Prefect server at {server.api_url} (log: {server.log_path})")

    def environment(self) -> dict[str, str]:
        """The environment of a command using these servers (kernels, terminals, the CLI)."""
        places = self.places
        changes = {
            "PREFECT_HOME": str(places.prefect_home),
            "PREFECT_API_URL": places.prefect_api_url,
            "PREFECT_SERVER_API_PORT": str(places.prefect_port),
            "GITHUB_STARS_SIMULATOR_PORT": str(places.simulator_port),
        }
        if places.public_url:  # Binder: "View at ..." links in run logs
            changes["PREFECT_UI_URL"] = places.public_url + places.ui_base
        return process_environment(changes)

    def report(self) -> list[str]:
        return [f"reusing {what}" for what in self.reused] + [
            f"started {what}" for what in self.started
        ]


def say(message: str) -> None:
    print(f"github_stars.servers: {message}", file=sys.stderr, flush=True)


def run(command: list[str], places: LabPlaces) -> int:
    """Run `command` with the lab's servers; stop those started for it afterwards."""
    with LabServers(places) as servers:
        for line in servers.report():
            say(line)
        child = subprocess.Popen(command, env=servers.environment())

        def forward(signum: int, frame: object) -> None:
            child.send_signal(signum)

        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, forward)
        return child.wait()


def hold(places: LabPlaces) -> None:
    """Keep the lab's servers up until SIGTERM or SIGINT (the background side of `start`)."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    with LabServers(places):
        while not stop:
            time.sleep(0.2)


def pid_file(places: LabPlaces) -> Path:
    return places.prefect_home / PID_FILE


def running_holder(places: LabPlaces) -> int | None:
    """The pid of the background process `start` left, if it still runs."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file(places).read_text())
        os.kill(pid, 0)
        return pid
    return None


def start(places: LabPlaces) -> str:
    """Start the lab's servers in a background process; return once they answer."""
    if prefect_answers(places.prefect_api_url) and simulator_running(places.simulator_port):
        return f"already running: {status(places)}"
    places.prefect_home.mkdir(parents=True, exist_ok=True)
    log = places.prefect_home / "logs" / "lab-servers.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        holder = subprocess.Popen(
            [sys.executable, "-m", "github_stars", "server", "hold"],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_environment(_place_variables(places)),
            start_new_session=True,
        )
    pid_file(places).write_text(str(holder.pid))
    deadline = time.monotonic() + START_TIMEOUT
    while not (
        prefect_answers(places.prefect_api_url) and simulator_running(places.simulator_port)
    ):
        if holder.poll() is not None or time.monotonic() > deadline:
            raise SimulatorError(f"the lab's servers did not start; see {log}")
        time.sleep(0.3)
    return (
        f"started in the background: Prefect at {places.prefect_api_url} (UI: "
        f"{places.prefect_api_url.removesuffix('/api')}), the simulator on port "
        f"{places.simulator_port}; stop them with `make server-stop`"
    )


def stop(places: LabPlaces, timeout: float = 30.0) -> str:
    """Stop the servers `start` left running."""
    pid = running_holder(places)
    if pid is None:
        return "no lab servers started by `start` are running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.2)
    pid_file(places).unlink(missing_ok=True)
    return "stopped the lab's servers"


def status(places: LabPlaces) -> str:
    prefect = "answers" if prefect_answers(places.prefect_api_url) else "does not answer"
    sim = "answers" if simulator_running(places.simulator_port) else "does not answer"
    return (
        f"Prefect at {places.prefect_api_url} {prefect}; the simulator on port "
        f"{places.simulator_port} {sim}"
    )


def _place_variables(places: LabPlaces) -> dict[str, str]:
    return {
        "PREFECT_HOME": str(places.prefect_home),
        "PREFECT_SERVER_API_PORT": str(places.prefect_port),
        "GITHUB_STARS_SIMULATOR_PORT": str(places.simulator_port),
    }
