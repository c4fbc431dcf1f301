"""A throw-away PostgreSQL cluster for tests and the benchmark: the Prefect server's database
when SQLite is not enough (README, "When SQLite is not enough").

    with PostgresCluster() as cluster, PrefectServer(database_url=cluster.url) as server:
        ...  # PREFECT_API_URL=server.api_url

`PostgresCluster` runs Debian's binaries (`initdb`, `postgres`; found on PATH or under
/usr/lib/postgresql/*/bin, else `PostgresNotInstalled` says how to install them) on a new
cluster in a temporary directory: data and unix socket inside it, TCP on a free port of
127.0.0.1 only, a random password for TCP connections. PostgreSQL refuses to run as root, so
as root the cluster belongs to an unprivileged user (`postgres`, which the Debian package
creates; `GITHUB_STARS_POSTGRES_USER` names another). Start-up is bounded; `stop()` shuts
the server down (fast mode) and removes the directory.

`python -m github_stars server postgres [-- COMMAND ...]` (`run_on_postgres`) starts a cluster
and a Prefect server on it, then runs COMMAND with `PREFECT_API_URL` set (or waits for Ctrl-C),
and removes both.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from github_stars.servers.processes import log_tail, stop_process
from github_stars.settings import postgres_user, process_environment, server_environment

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
SUPERUSER = "postgres"  # the cluster's superuser role (not the OS user)
INSTALL_HINT = "apt-get install -y postgresql"


class PostgresNotInstalled(RuntimeError):
    """PostgreSQL's server binaries (initdb, postgres) are not on this machine."""


class PostgresError(RuntimeError):
    """The cluster could not be created, started or queried (the message says why)."""


BINARIES = ("initdb", "postgres", "pg_isready", "psql")


def find_bin_dir() -> Path:
    """The directory holding `initdb`, `postgres`, `pg_isready` and `psql`: initdb's on PATH
    (symlinks resolved), else the newest /usr/lib/postgresql/*/bin."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.insert(0, str(Path(on_path).resolve().parent))
    for directory in map(Path, candidates):
        if all((directory / name).exists() for name in BINARIES):
            return directory
    raise PostgresNotInstalled(
        "PostgreSQL's server binaries (initdb, postgres, pg_isready, psql) were not found on "
        f"PATH or under /usr/lib/postgresql/*/bin; install them with `{INSTALL_HINT}`"
    )


def postgres_available() -> str | None:
    """None when a cluster can be started here, else the reason it cannot (for skips)."""
    try:
        find_bin_dir()
        os_user()
    except (PostgresNotInstalled, PostgresError) as exc:
        return str(exc)
    return None


def os_user() -> pwd.struct_passwd | None:
    """The unprivileged OS user to run PostgreSQL as when we are root (None: run as us)."""
    if os.geteuid() != 0:
        return None
    name = postgres_user()
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise PostgresError(
            f"running as root, PostgreSQL needs an unprivileged user and {name!r} does not "
            f"exist (`{INSTALL_HINT}` creates 'postgres'; or set GITHUB_STARS_POSTGRES_USER)"
        ) from None


class PostgresCluster:
    """A new PostgreSQL cluster in a temporary directory, with one database `database`."""

    def __init__(self, database: str = "prefect", *, start_timeout: float = START_TIMEOUT) -> None:
        self.database = database
        self.start_timeout = start_timeout
        self.password = secrets.token_urlsafe(16)
        self.root: Path | None = None
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.bin_dir: Path | None = None
        self._user: pwd.struct_passwd | None = None

    # --- addresses --------------------------------------------------------------------
    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL for Prefect: `PREFECT_API_DATABASE_CONNECTION_URL`."""
        return (
            f"postgresql+asyncpg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/"
            f"{self.database}"
        )

    # --- lifecycle --------------------------------------------------------------------
    def start(self) -> PostgresCluster:
        """initdb, start the server, create `database`; at most `start_timeout` s."""
        if self.process is not None:
            return self
        self.bin_dir = find_bin_dir()
        self._user = os_user()
        self.root = Path(tempfile.mkdtemp(prefix="github-stars-postgres-"))
        try:
            self._create()
            self._launch()
            self.psql(f'CREATE DATABASE "{self.database}"', database="postgres")
        except BaseException:
            self.stop()
            raise
        return self

    def _run_as_owner(self, args: list[str], timeout: float) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                args,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=self.root,
                **self._owner_kwargs(),
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresError(f"{Path(args[0]).name} took over {timeout:.0f} s") from exc

    def _owner_kwargs(self) -> dict:
        if self._user is None:
            return {"env": server_environment(prefect=False)}
        return {
            "user": self._user.pw_uid,
            "group": self._user.pw_gid,
            "extra_groups": [],
            "env": server_environment(
                {"HOME": str(self.root), "USER": self._user.pw_name}, prefect=False
            ),
        }

    def _create(self) -> None:
        self.socket_dir.mkdir()
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        if self._user is not None:  # the data directory must belong to the server's user
            for path in (self.root, self.socket_dir, password_file):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        done = self._run_as_owner(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={password_file}",
                "--no-sync",
            ],
            timeout=self.start_timeout,
        )
        password_file.unlink()
        if done.returncode != 0:
            raise PostgresError(f"initdb failed ({done.returncode}):\n{done.stderr[-2000:]}")

    def _launch(self) -> None:
        from github_stars.simulator import free_port

        self.port = free_port()
        with open(self.log_path, "wb") as log:
            if self._user is not None:
                os.chown(self.log_path, self._user.pw_uid, self._user.pw_gid)
            self.process = subprocess.Popen(
                [
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.socket_dir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
                start_new_session=True,
                **self._owner_kwargs(),
            )
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise PostgresError(
                    f"postgres exited with code {self.process.returncode}; "
                    f"its log ends:\n{log_tail(self.log_path, 20)}"
                )
            ready = subprocess.run(
                [
                    str(self.bin_dir / "pg_isready"),
                    "-q",
                    "-h",
                    str(self.socket_dir),
                    "-p",
                    str(self.port),
                ],
                capture_output=True,
                timeout=10,
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise PostgresError(
                    f"postgres did not accept connections within "
                    f"{self.start_timeout:.0f} s; its log ends:\n"
                    f"{log_tail(self.log_path, 20)}"
                )
            time.sleep(0.2)

    def psql(self, sql: str, database: str | None = None, timeout: float = 30.0) -> str:
        """Run `sql` with psql over the unix socket; its unaligned output (`-At`)."""
        done = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database or self.database,
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise PostgresError(f"psql failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout.strip()

    def stop(self) -> None:
        """Shut the server down (fast mode: SIGINT) and remove the cluster's directory."""
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, signal.SIGINT, STOP_TIMEOUT)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_on_postgres(command: list[str]) -> int:
    """Start a cluster and a Prefect server on it; run `command` with `PREFECT_API_URL` set
    (or, without one, wait for Ctrl-C); then remove both."""
    from github_stars.servers.prefect import PrefectServer

    with PostgresCluster() as cluster, PrefectServer(database_url=cluster.url) as server:
        print(
            f"PostgreSQL on 127.0.0.1:{cluster.port}, Prefect server on it at "
            f"PREFECT_API_URL={server.api_url}",
            file=sys.stderr,
            flush=True,
        )
        if command:
            env = process_environment({"PREFECT_API_URL": server.api_url})
            return subprocess.run(command, env=env).returncode
        print("Ctrl-C stops both and removes the database.", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0
