"""Start, reuse, steer and stop the simulator server from notebooks, tests and the CLI."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx

from github_stars.settings import LOOPBACK, SIMULATOR_SERVICE

START_TIMEOUT = 30.0


def default_port() -> int:
    """The lab's simulator port: `GITHUB_STARS_SIMULATOR_PORT`, else 8765."""
    from github_stars.settings import simulator_port

    return simulator_port()


def free_port() -> int:
    """A free TCP port on loopback (for tests that want their own simulator)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class SimulatorError(RuntimeError):
    """The simulator could not be started, reached or configured."""


class Simulator:
    """A handle on a running simulator: its URL, its knobs and what it has seen."""

    def __init__(
        self, port: int, process: subprocess.Popen | None = None, log_path: str | None = None
    ) -> None:
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"
        self.process = process  # None when we reuse a server someone else started
        self.log_path = log_path  # the started server's output; removed after a clean stop
        self._http = httpx.Client(base_url=self.url, timeout=10.0)

    def __repr__(self) -> str:
        owner = "started here" if self.process else "reused"
        return f"Simulator({self.url}, {owner})"

    # --- steering ---------------------------------------------------------------------
    def configure(self, **settings: Any) -> dict[str, Any]:
        """Replace all knobs: the given ones, defaults for the rest. Returns the settings."""
        return self._send("PUT", "/_simulator/settings", settings)

    def update(self, **settings: Any) -> dict[str, Any]:
        """Change only the given knobs."""
        return self._send("PATCH", "/_simulator/settings", settings)

    def settings(self) -> dict[str, Any]:
        return self._send("GET", "/_simulator/settings")

    def reset(self, settings: bool = False) -> None:
        """Forget the request log, counters and rate windows (and knobs if `settings`)."""
        self._send("POST", "/_simulator/reset" + ("?settings=1" if settings else ""))

    # --- calendar ---------------------------------------------------------------------
    def calendar(self) -> dict[str, Any]:
        """The simulated calendar: `on`, `running`, `day`, `date`, `now`, `day_seconds`,
        `start_date` (see the simulator's README)."""
        return self._send("GET", "/_simulator/calendar")

    def advance(self, days: int = 1) -> dict[str, Any]:
        """Move the calendar `days` whole days on (turns it on, frozen, if it was off)."""
        return self._send("POST", "/_simulator/calendar", {"advance_days": days})

    def set_day(self, day: int) -> dict[str, Any]:
        """Jump to 00:00:00 of day `day` (0 = the snapshot's figures); turns the calendar on."""
        return self._send("POST", "/_simulator/calendar", {"day": day})

    # --- introspection ----------------------------------------------------------------
    def requests(self, repos_only: bool = True) -> list[dict[str, Any]]:
        """The request log: `t_start`, `t_end`, `path`, `repo`, `status`, `kind` per request."""
        log = self._send("GET", "/_simulator/requests")
        if repos_only:
            log = [e for e in log if e["path"].startswith(("/repos/", "/repositories/"))]
        return log

    def stats(self) -> dict[str, Any]:
        """Counts of repository requests: total, by status, by kind, by repository."""
        return self._send("GET", "/_simulator/stats")

    def request_count(self) -> int:
        return self.stats()["requests"]

    def health(self) -> dict[str, Any]:
        return self._send("GET", "/_simulator/health")

    # --- lifecycle --------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the server if this handle started it; a reused server keeps running.

        Its log file is removed once it has stopped cleanly (kept if it had to be killed
        or had failed, for the post-mortem).
        """
        self._http.close()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        clean_exit = (0, -signal.SIGTERM)
        if self.log_path and self.process and self.process.returncode in clean_exit:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.log_path)

    def _send(self, method: str, path: str, body: Any = None) -> Any:
        if method != "GET" and body is None:
            body = {}  # a change is always JSON (the simulator's guard takes nothing else)
        try:
            response = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise SimulatorError(f"simulator at {self.url} is not reachable: {exc}") from exc
        if response.status_code == 400:
            raise ValueError(response.json()["error"])
        response.raise_for_status()
        return response.json()


def simulator_running(port: int | None = None) -> bool:
    """Whether a simulator answers on `port` (default: `default_port()`)."""
    port = default_port() if port is None else port
    try:
        reply = httpx.get(f"http://{LOOPBACK}:{port}/_simulator/health", timeout=1.0)
        return reply.json().get("service") == SIMULATOR_SERVICE
    except (httpx.HTTPError, ValueError):
        return False


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((LOOPBACK, port)) == 0


# Simulators this process started, by port (a cache of handles: a second start reuses one).
_started: dict[int, Simulator] = {}


def start_simulator(port: int | None = None, **settings: Any) -> Simulator:
    """Start the simulator on `port` (default 8765), or reuse the one already running there.

    Knobs given as keyword arguments replace the current ones (see `SimulatorSettings`).
    The steps of lessons 00-04 talk to the simulator on the lab's port (`settings.
    lesson_api_url`); the pipeline from lesson 05 on, to the one its `Settings` name.
    """
    from github_stars.settings import server_environment

    port = default_port() if port is None else port
    if port in _started and _started[port].process.poll() is None:
        sim = Simulator(port, _started[port].process, _started[port].log_path)
    elif simulator_running(port):
        sim = Simulator(port)
    elif _port_taken(port):
        raise SimulatorError(f"port {port} is in use by another program; pick another port")
    else:
        log_fd, log_path = tempfile.mkstemp(prefix="github-stars-simulator-", suffix=".log")
        process = subprocess.Popen(
            [sys.executable, "-m", "github_stars.simulator", "--port", str(port)],
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_environment(prefect=False),  # no token: the simulator needs none
            start_new_session=True,  # a terminal's Ctrl-C is for the command, which stops it
        )
        os.close(log_fd)
        deadline = time.monotonic() + START_TIMEOUT
        while not simulator_running(port):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SimulatorError(f"simulator did not start on port {port}; see {log_path}")
            time.sleep(0.1)
        sim = Simulator(port, process, log_path)
        _started[port] = sim
        atexit.register(sim.stop)
    if settings:
        sim.configure(**settings)
    return sim
