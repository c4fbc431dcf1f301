"""Settings: a frozen value, and the one module that reads the environment.

`Settings` says which API a run talks to and how: its address, timeouts, the longest
rate-limit wait, the retry delay, the rate budget, the HTTP cache and how GitHub's pauses are
shared. It is resolved once at each edge (the command line, the lessons' set-up helper, the
test fixtures, `serve`) with `Settings.from_environment()` and passed to the flow as a
parameter; nothing below the edge reads the environment.

The token is deliberately not a field: a flow parameter is stored by Prefect, and a value can
be logged, hashed or pickled. It is read where the request is made, and `token_for()` says
whether a request to a given API may carry it (only the API configured where the command
started, over HTTPS unless loopback, never the bundled simulator). Servers the package starts
get an environment without it (`server_environment()`).
"""

from __future__ import annotations

import ipaddress
import os
import shlex
from collections.abc import Mapping, MutableMapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

LIVE_API_URL = "https://api.github.com"
DEFAULT_REPOS = ["PrefectHQ/prefect", "pydantic/pydantic", "huggingface/transformers"]
USER_AGENT = "resilient-pipelines-github-stars/0.1"
LOOPBACK = "127.0.0.1"
SIMULATOR_PORT = 8765  # the lab's simulator (make lab, Binder, make server)
SIMULATOR_SERVICE = "github-stars-simulator"  # what the simulator's /_simulator/health says
PREFECT_PORT = 4200  # the lab's Prefect server
OFF = {"off", "0", "false", "no"}


@dataclass(frozen=True)
class RateBudget:
    """A global concurrency limit used as a rate limit: burst `limit`, refill `per_second`."""

    limit: int
    per_second: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.per_second <= 0:
            raise ValueError(f"a rate budget needs limit >= 1 and per_second > 0, got {self}")


def default_budget(api_url: str, token: bool = False) -> RateBudget:
    """GitHub's budget: 60 requests an hour without a token, 5,000 with one (the burst at most
    100); any other API (the bundled simulator) 50 a second."""
    if api_url.rstrip("/") != LIVE_API_URL:
        return RateBudget(limit=50, per_second=50.0)
    per_hour = 5000 if token else 60
    return RateBudget(limit=min(per_hour, 100), per_second=per_hour / 3600)


@dataclass(frozen=True)
class Settings:
    """How a run talks to the GitHub API. Defaults are the real API's.

    - `api_url`: the API's address (`https://api.github.com`, the simulator, an Enterprise server);
    - `timeout`: seconds a request may take before it counts as a (retried) timeout;
    - `max_wait`: the longest rate-limit pause (`Retry-After`) a run waits out;
    - `retry_delay`: the base of the exponential backoff between retries;
    - `budget`: the rate budget (default: the API's own, see `default_budget`);
    - `http_cache`: folder of the ETag cache (conditional requests); None: off;
    - `share_pause`: keep GitHub's pauses on the Prefect server too, so that every process of
      a run (Dask workers) honours them; False: in the process's memory only.
    """

    api_url: str = LIVE_API_URL
    timeout: float = 10.0
    max_wait: float = 60.0
    retry_delay: float = 1.0
    budget: RateBudget | None = None
    http_cache: str | None = None
    share_pause: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))
        if self.budget is None:
            object.__setattr__(self, "budget", default_budget(self.api_url))
        if min(self.timeout, self.max_wait, self.retry_delay) < 0:
            raise ValueError("timeout, max_wait and retry_delay must not be negative")

    @property
    def live(self) -> bool:
        """True when the run talks to api.github.com."""
        return self.api_url == LIVE_API_URL

    @property
    def rate_limit_name(self) -> str:
        """The name of the finished pipeline's rate limit for this budget (slot units).

        The budget is in the name, so runs with different budgets on one Prefect server never
        resize each other's limit.
        """
        return f"github-api-units-{self.budget.limit}-at-{self.budget.per_second:g}-per-s"

    def with_changes(self, **changes: object) -> Settings:
        """A copy with `changes` (a frozen value is never modified)."""
        return replace(self, **changes)

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        live: bool = False,
        http_cache: bool = False,
    ) -> Settings:
        """The settings this environment asks for.

        `live` (`--live`) or `GITHUB_API_URL` name the API, else the lab's simulator
        (`GITHUB_STARS_SIMULATOR_PORT`, 8765); `GITHUB_STARS_TIMEOUT`, `GITHUB_STARS_MAX_WAIT`,
        `GITHUB_STARS_RETRY_DELAY`; `GITHUB_STARS_RATE_LIMIT` and `_RATE_PER_SECOND` (else the
        API's own budget, by whether `GITHUB_TOKEN` is set); with `http_cache`, the ETag cache
        in `GITHUB_STARS_HTTP_CACHE` (`off` turns it off) or `$PREFECT_HOME/http-cache`.
        """
        env = os.environ if environ is None else environ
        api_url = LIVE_API_URL if live else (env.get("GITHUB_API_URL") or simulator_url(env))
        api_url = api_url.rstrip("/")
        budget = default_budget(api_url, token=token_for(api_url, env).token is not None)
        if env.get("GITHUB_STARS_RATE_LIMIT"):
            budget = RateBudget(
                int(env["GITHUB_STARS_RATE_LIMIT"]),
                float(env.get("GITHUB_STARS_RATE_PER_SECOND", "1")),
            )
        return cls(
            api_url=api_url,
            timeout=float(env.get("GITHUB_STARS_TIMEOUT", "10")),
            max_wait=float(env.get("GITHUB_STARS_MAX_WAIT", "60")),
            retry_delay=float(env.get("GITHUB_STARS_RETRY_DELAY", "1")),
            budget=budget,
            http_cache=http_cache_folder(env) if http_cache else None,
        )


def read_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The token (`GITHUB_TOKEN`), read where a request is made; never stored in a value.
    Whether a request to an API may carry it is `token_for`'s to say."""
    return (os.environ if environ is None else environ).get("GITHUB_TOKEN") or None


def configured_api_url(environ: Mapping[str, str] | None = None) -> str | None:
    """`GITHUB_API_URL`, if set."""
    return (os.environ if environ is None else environ).get("GITHUB_API_URL") or None


# --- where the token may go --------------------------------------------------------------------
@dataclass(frozen=True)
class TokenChoice:
    """The token a run's requests to one API carry (None: none), and, when this environment
    has a token that they do not carry, why (one line, never the token)."""

    token: str | None = field(default=None, repr=False)
    withheld: str | None = None


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine:
    `localhost`, `*.localhost`, 127.0.0.0/8 or ::1."""
    host = host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _address(url: str) -> tuple[str, str, int | None, str, str]:
    """What makes two API URLs the same address: scheme, host, port, path and credentials
    (case and a trailing slash aside, the port a scheme implies spelled out or not)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"https": 443, "http": 80}.get(scheme)
    except ValueError:
        port = None
    user = f"{parts.username or ''}:{parts.password or ''}"
    return scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/"), user


def shown_api(url: str) -> str:
    """`url` without user, password, query or fragment, for messages."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


def token_for(
    api_url: str, environ: Mapping[str, str] | None = None, *, simulator: bool = False
) -> TokenChoice:
    """Whether requests to `api_url` carry `GITHUB_TOKEN`: only to the API configured in
    `environ` (the environment the command started in: `GITHUB_API_URL`, else api.github.com),
    only over HTTPS unless its host is loopback, and never to the bundled simulator
    (`simulator`). Any other address (an edited deployment parameter, a squatted port) gets
    no token, and `withheld` says why."""
    env = os.environ if environ is None else environ
    token = read_token(env)
    if token is None:
        return TokenChoice()
    configured = (configured_api_url(env) or LIVE_API_URL).rstrip("/")
    scheme, host, *_ = _address(api_url)
    if simulator:
        reason = "it is the bundled simulator, which needs none"
    elif _address(api_url) != _address(configured):
        reason = (
            f"the token goes only to {shown_api(configured)}, the API configured where the "
            "command started (GITHUB_API_URL, else api.github.com)"
        )
    elif scheme != "https" and not (scheme == "http" and is_loopback_host(host)):
        reason = "it would travel unencrypted; a token goes over HTTPS only (or to loopback)"
    else:
        return TokenChoice(token=token)
    return TokenChoice(withheld=f"GITHUB_TOKEN is not sent to {shown_api(api_url)}: {reason}.")


def lesson_api_url() -> str:
    """The API the lessons' steps talk to: `GITHUB_API_URL`, else the lab's simulator."""
    return Settings.from_environment().api_url


def simulator_port(environ: Mapping[str, str] | None = None) -> int:
    """The lab simulator's port: `GITHUB_STARS_SIMULATOR_PORT`, else 8765."""
    env = os.environ if environ is None else environ
    return int(env.get("GITHUB_STARS_SIMULATOR_PORT") or SIMULATOR_PORT)


def simulator_url(environ: Mapping[str, str] | None = None) -> str:
    return f"http://{LOOPBACK}:{simulator_port(environ)}"


def http_cache_folder(environ: Mapping[str, str] | None = None) -> str | None:
    """`GITHUB_STARS_HTTP_CACHE` (`off`: None), else `$PREFECT_HOME/http-cache`."""
    env = os.environ if environ is None else environ
    value = env.get("GITHUB_STARS_HTTP_CACHE", "").strip()
    if value.lower() in OFF:
        return None
    if value:
        return str(Path(value).expanduser())
    return str(prefect_home(env) / "http-cache")


def prefect_home(environ: Mapping[str, str] | None = None) -> Path:
    """`PREFECT_HOME`, else `~/.prefect`."""
    env = os.environ if environ is None else environ
    return Path(env.get("PREFECT_HOME") or "~/.prefect").expanduser()


def prefect_api_url(environ: Mapping[str, str] | None = None) -> str | None:
    """`PREFECT_API_URL`, if set."""
    return (os.environ if environ is None else environ).get("PREFECT_API_URL") or None


@dataclass(frozen=True)
class LabPlaces:
    """Where the lab's servers live: ports, `PREFECT_HOME`, the Prefect UI's path prefix."""

    prefect_port: int = PREFECT_PORT
    simulator_port: int = SIMULATOR_PORT
    prefect_home: Path = field(default_factory=lambda: Path(".prefect").resolve())
    ui_base: str = "/prefect-ui"  # jupyter-server-proxy's path (Binder: /user/<name>/prefect-ui)
    public_url: str = ""  # Binder's public address, for "View at ..." links

    @property
    def prefect_api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.prefect_port}{self.ui_base}/api"

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, root: Path | None = None
    ) -> LabPlaces:
        """`PREFECT_SERVER_API_PORT`, `GITHUB_STARS_SIMULATOR_PORT`, `PREFECT_HOME` (default
        `<root>/.prefect`) and JupyterHub's `JUPYTERHUB_SERVICE_PREFIX` / `_PUBLIC_URL`."""
        env = os.environ if environ is None else environ
        home = env.get("PREFECT_HOME") or str((root or Path.cwd()) / ".prefect")
        prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "/").rstrip("/")
        return cls(
            prefect_port=int(env.get("PREFECT_SERVER_API_PORT") or PREFECT_PORT),
            simulator_port=simulator_port(env),
            prefect_home=Path(home).expanduser().resolve(),
            ui_base=f"{prefix}/prefect-ui",
            public_url=env.get("JUPYTERHUB_PUBLIC_URL", "") if prefix else "",
        )


# --- Prefect's own process settings, decided here once ---------------------------------------
# Offline first: no server sends usage statistics.
ANALYTICS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
# Without PREFECT_API_URL each process starts a temporary server; Prefect gives it 20 s, which a
# busy 2-core machine (or two runs starting at once on one PREFECT_HOME) can exceed.
STARTUP = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}
# Keep `rate_limit()` fast on Prefect's SQLite database: the server's task-run recorder and
# event persister write in batches, one transaction a second, instead of once per state change
# (each slot is a read-then-write transaction that SQLite refuses, "database is locked", when
# another write lands in between). See the appendix notebook "Under the hood".
SQLITE_SERVER_SETTINGS = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "1",
}
# A served deployment runs one flow run at a time: a concurrency slot, held under a lease.
# Prefect keeps leases in the server's memory by default, so a server restarted while a run
# held the slot forgets the lease and the slot stays taken; on disk (`$PREFECT_HOME`), an
# expired lease is given back after a restart too.
LEASE_STORAGE = "prefect.server.concurrency.lease_storage.filesystem"
LEASES_ON_DISK = {"PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": LEASE_STORAGE}
PREFECT_PROCESS_SETTINGS = ANALYTICS | STARTUP | SQLITE_SERVER_SETTINGS | LEASES_ON_DISK


def without_flow_heartbeats() -> AbstractContextManager[object]:
    """Prefect settings for flows run in this process: no flow-run heartbeats.

    Heartbeats let a Prefect server tell that a deployment's run died with its process (`serve`
    keeps them); a run in a terminal or a test has no one to tell. Prefect 3.8's heartbeat
    thread sleeps in whole seconds and each sync flow run waits for it to stop: up to a second
    at the end of every run. The setting cannot be None from the environment, hence a context.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


def prefect_process_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`PREFECT_PROCESS_SETTINGS`, each unless `environ` already sets it (a user's wins)."""
    env = os.environ if environ is None else environ
    return {name: env.get(name, value) for name, value in PREFECT_PROCESS_SETTINGS.items()}


def process_environment(
    changes: Mapping[str, str | None] = (), *, prefect: bool = True
) -> dict[str, str]:
    """This process's environment for a child process: with Prefect's process settings
    (`prefect`) and `changes` (None removes a variable)."""
    env = dict(os.environ)
    if prefect:
        env |= prefect_process_settings(env)
    for name, value in dict(changes).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


# The servers a command starts (Prefect, the simulator, PostgreSQL) need no token: they never
# see it, whatever the command's environment holds.
SERVER_SECRETS = ("GITHUB_TOKEN",)


def server_environment(
    changes: Mapping[str, str | None] = (), *, prefect: bool = True
) -> dict[str, str]:
    """`process_environment` for a server this package starts: without `SERVER_SECRETS`."""
    return process_environment({**dict.fromkeys(SERVER_SECRETS), **dict(changes)}, prefect=prefect)


def apply_prefect_settings(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Put Prefect's process settings into this process's environment (values already set
    are kept), for the temporary server Prefect may start in it. Returns what applies."""
    env = os.environ if environ is None else environ
    applied = prefect_process_settings(env)
    env.update(applied)
    return applied


def shell_exports(environ: Mapping[str, str] | None = None) -> str:
    """`export NAME=VALUE` lines of Prefect's process settings, for a shell."""
    applied = prefect_process_settings(environ)
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in applied.items())


def postgres_user(environ: Mapping[str, str] | None = None) -> str:
    """The OS user a throw-away PostgreSQL cluster runs as when we are root:
    `GITHUB_STARS_POSTGRES_USER`, else `postgres`."""
    return (os.environ if environ is None else environ).get("GITHUB_STARS_POSTGRES_USER") or (
        "postgres"
    )


def building_book(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the lessons run for the book (`make book` sets `GITHUB_STARS_BOOK_BUILD=1`):
    their Prefect UI sections then show screenshots instead of addresses."""
    value = (os.environ if environ is None else environ).get("GITHUB_STARS_BOOK_BUILD", "")
    return value.strip().lower() not in OFF | {""}


def share_with_shell_commands(
    prefect_api_url: str, environ: MutableMapping[str, str] | None = None
) -> None:
    """Let the commands a notebook runs in a shell (`!prefect ...`, `!python ...`) use this
    process's Python environment (its folder first on `PATH`) and its Prefect server."""
    import sys

    env = os.environ if environ is None else environ
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PREFECT_API_URL"] = prefect_api_url
