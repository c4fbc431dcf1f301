"""A Prefect server in a process of its own: `prefect server start`, as users run it.

    with PrefectServer() as server:                           # SQLite in a throw-away home
        ...  # server.api_url is the value for PREFECT_API_URL
    with PrefectServer(database_url=cluster.url) as server:   # PostgreSQL (`servers.postgres`)
    PrefectServer(home=places.prefect_home, port=4200, ui_base="/prefect-ui").start()  # the lab's

On a free port of 127.0.0.1 unless given one, with Prefect's process settings
(`settings.PREFECT_PROCESS_SETTINGS`), the UI off unless `ui_base` names the path it is served
under (the lab's, behind jupyter-server-proxy). A `home` given is kept; without one the server
gets a temporary PREFECT_HOME, removed when it stops. Start-up is bounded; a failed start
quotes the end of the server's log. `stop()` ends the server's whole process group.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from github_stars.servers.processes import free_port, log_tail, stop_process
from github_stars.settings import LOOPBACK, server_environment

START_TIMEOUT = 180.0  # generous: a busy machine starts slowly (docs/decisions.md)
STOP_TIMEOUT = 15.0


class PrefectServerError(RuntimeError):
    """The Prefect server did not start (the message quotes its log)."""


def prefect_answers(api_url: str, timeout: float = 2.0) -> bool:
    """Whether a Prefect API answers its health check at `api_url`."""
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


class PrefectServer:
    """`prefect server start` on `port` (default: a free one) with its state in `home`.

    `database_url` is an SQLAlchemy URL such as `postgresql+asyncpg://user:pw@host:port/db`
    (it becomes `PREFECT_API_DATABASE_CONNECTION_URL`); without it the server uses SQLite in
    `home`. `ui_base` serves the UI and the API under that path (e.g. `/prefect-ui`).
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        port: int | None = None,
        home: Path | None = None,
        ui_base: str | None = None,
        start_timeout: float = START_TIMEOUT,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.port = port
        self.home = home
        self.keep_home = home is not None
        self.ui_base = ui_base
        self.start_timeout = start_timeout
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen | None = None
        self.start_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{self.ui_base or ''}"

    @property
    def api_url(self) -> str:
        """The value for `PREFECT_API_URL`."""
        return f"{self.url}/api"

    @property
    def database(self) -> str:
        """'postgresql' or 'sqlite': the database this server keeps its state in."""
        if self.database_url and self.database_url.startswith("postgresql"):
            return "postgresql"
        return "sqlite"

    @property
    def log_path(self) -> Path | None:
        return self.home / "logs" / "prefect-server.log" if self.home else None

    def environment(self) -> dict[str, str]:
        """The server process's environment: ours without the token, Prefect's process
        settings, its home."""
        changes: dict[str, str | None] = {
            "PREFECT_API_URL": None,
            "PREFECT_HOME": str(self.home),
            "PREFECT_API_DATABASE_CONNECTION_URL": self.database_url,
            "PREFECT_SERVER_UI_ENABLED": "true" if self.ui_base is not None else "false",
        }
        if self.ui_base is not None:
            changes |= {
                "PREFECT_UI_SERVE_BASE": self.ui_base or "/",
                "PREFECT_SERVER_API_BASE_PATH": f"{self.ui_base}/api",
                "PREFECT_UI_API_URL": f"{self.ui_base}/api",
                "PREFECT_UI_STATIC_DIRECTORY": str(self.home / "ui"),
                "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
            }
        return server_environment({**changes, **self.extra_env})

    def start(self) -> PrefectServer:
        """Start the server and wait (at most `start_timeout` s) until `/api/health` answers."""
        if self.process is not None:
            return self
        if self.home is None:
            self.home = Path(tempfile.mkdtemp(prefix="github-stars-prefect-server-"))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        started = time.perf_counter()
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", LOOPBACK]
        command += ["--port", str(self.port), "--analytics-off"]
        if self.ui_base is None:
            command.append("--no-ui")
        try:
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=self.environment(),
                    cwd=self.home,
                    start_new_session=True,
                )
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.perf_counter() - started
        return self

    @property
    def exited(self) -> bool:
        """Whether the server was started and its process has ended since."""
        return self.process is not None and self.process.poll() is not None

    def restart(self) -> PrefectServer:
        """Start the server again, on the same port and home, after its process ended."""
        if self.exited:
            self.process = None
        return self.start()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not prefect_answers(self.api_url, timeout=5.0):
            process = self.process  # None once `stop()` was called from another thread
            if process is None or process.poll() is not None:
                code = process.returncode if process else "(stopped)"
                raise PrefectServerError(
                    f"the Prefect server exited with code {code} before answering; its log "
                    f"ends:\n{log_tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                raise PrefectServerError(
                    f"the Prefect server did not answer {self.api_url}/health within "
                    f"{self.start_timeout:.0f} s; its log ends:\n{log_tail(self.log_path)}"
                )
            time.sleep(0.25)

    def stop(self) -> None:
        """Stop the server (its whole process group); remove a temporary home."""
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, signal.SIGTERM, STOP_TIMEOUT, group=True)
            # children that outlived the main process (same group)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        if self.home is not None and not self.keep_home:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None

    def __enter__(self) -> PrefectServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
