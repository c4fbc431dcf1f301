"""A Prefect server for one test or benchmark: `prefect server start` in a subprocess.

    with PrefectServer() as server:                       # SQLite in its own PREFECT_HOME
        os.environ["PREFECT_API_URL"] = server.api_url
    with PrefectServer(database_url=cluster.url) as server:   # PostgreSQL (`lab.postgres`)
        ...

The server is what users run (`prefect server start`, the UI off), on a free port of
127.0.0.1, with Prefect's process settings from `github_stars.prefect_settings` and a
throw-away PREFECT_HOME (its SQLite database and log live there). Start-up is bounded; on a
failed start the error quotes the end of the server's log. `stop()` ends the server's whole
process group and removes the temporary directory.
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
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from github_stars.lab.processes import stop_process
from github_stars.prefect_settings import apply_prefect_settings

HOST = "127.0.0.1"
START_TIMEOUT = 180.0  # a 2-core machine under load needs 20-40 s; migrations on a new DB more
STOP_TIMEOUT = 15.0


class PrefectServerError(RuntimeError):
    """The Prefect server did not start (the message quotes its log)."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    from github_stars.simulator import free_port as _free_port

    return _free_port()


def log_tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file ('' if it does not exist)."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


class PrefectServer:
    """`prefect server start` on a free port, optionally on a database at `database_url`.

    `database_url` is an SQLAlchemy URL such as `postgresql+asyncpg://user:pw@host:port/db`
    (it becomes `PREFECT_API_DATABASE_CONNECTION_URL`); without it the server uses SQLite in
    its own temporary PREFECT_HOME. `env` adds or overrides environment variables of the
    server process.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        port: int | None = None,
        start_timeout: float = START_TIMEOUT,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.port = port
        self.start_timeout = start_timeout
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen | None = None
        self.home: Path | None = None
        self.start_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

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
        return self.home / "server.log" if self.home else None

    def environment(self) -> dict[str, str]:
        """The server process's environment: ours, Prefect's process settings, its own home."""
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        apply_prefect_settings(env)
        env["PREFECT_HOME"] = str(self.home)
        env["PREFECT_SERVER_UI_ENABLED"] = "false"
        env.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self) -> PrefectServer:
        """Start the server and wait (at most `start_timeout` s) until `/api/health` answers."""
        if self.process is not None:
            return self
        self.home = Path(tempfile.mkdtemp(prefix="github-stars-prefect-server-"))
        self.port = self.port or free_port()
        started = time.perf_counter()
        try:
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "prefect",
                        "server",
                        "start",
                        "--host",
                        HOST,
                        "--port",
                        str(self.port),
                        "--no-ui",
                        "--analytics-off",
                    ],
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

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(timeout=5.0) as http:
            while True:
                if self.process.poll() is not None:
                    raise PrefectServerError(
                        f"the Prefect server exited with code {self.process.returncode} "
                        f"before answering; its log ends:\n{log_tail(self.log_path)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.api_url}/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise PrefectServerError(
                        f"the Prefect server did not answer {self.api_url}/health within "
                        f"{self.start_timeout:.0f} s; its log ends:\n{log_tail(self.log_path)}"
                    )
                time.sleep(0.25)

    def stop(self) -> None:
        """Stop the server (its whole process group) and remove its temporary home."""
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, signal.SIGTERM, STOP_TIMEOUT, group=True)
            # children that outlived the main process (same group)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        if self.home is not None:
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
