"""Run the finished pipeline's tasks on a Dask cluster: worker processes, one Prefect server.

    with dask_task_runner(workers=2) as runner:                  # a local cluster, 2 processes
        show_stars.with_options(task_runner=runner)(repos)
    with dask_task_runner(address="tcp://127.0.0.1:8786") as runner:   # a running scheduler
        ...

What every process of the run shares, and how it gets there:

- **One Prefect server.** Without `PREFECT_API_URL` the run starts one (`prefect server
  start`, `lab.prefect_server.PrefectServer`) and points this process at it; never one
  temporary server per worker process. Workers learn its address with each task: the
  Prefect settings of the flow's process travel with every task `prefect_dask` submits
  (and a local cluster's processes inherit `PREFECT_API_URL` as well). The global rate limit
  lives there, and so does GitHub's pause (`shared_pause`).
- **The run's API settings** (`GITHUB_API_URL`, i.e. `--live` or the simulator, timeouts,
  the longest wait) go to every worker, present and future, in a Dask `WorkerPlugin`
  (`RunEnvironment`) registered for the run and removed after it; it also tells the workers
  to keep rate-limit pauses on the Prefect server (`GITHUB_STARS_SHARED_PAUSE`). One run at a
  time per cluster: a second run's plugin replaces the first's.
- **The token** is not sent: each worker uses its own `GITHUB_TOKEN`. A local cluster's
  workers inherit this process's environment; for an existing cluster, start the workers
  with `GITHUB_TOKEN` set. So it is never a task parameter, never in Prefect's database or
  result files, and never crosses Dask's network. The run warns when a worker's token
  differs from its own (comparing digests).
- **Result storage** is the flow process's `PREFECT_LOCAL_STORAGE_PATH` (the settings travel
  with each task), so a result cached by one worker serves the next run on any worker of
  the same machine (or of machines sharing that path).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping

from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin
from prefect_dask import DaskTaskRunner

from github_stars.shared_pause import ENV_FLAG

# Threads per worker process: the tasks mostly wait on the network and the rate limit.
THREADS_PER_WORKER = 8
# The settings of a run that its tasks read, sent to every worker (never the token).
RUN_SETTINGS = (
    "GITHUB_API_URL",
    "GITHUB_STARS_TIMEOUT",
    "GITHUB_STARS_MAX_WAIT",
    "GITHUB_STARS_RATE_LIMIT",
    "GITHUB_STARS_RATE_PER_SECOND",
)
PLUGIN_NAME = "github-stars-run-environment"

logger = logging.getLogger(__name__)


def run_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str | None]:
    """What the workers need of this run: its `RUN_SETTINGS` (None = unset) and the flag
    to share rate-limit pauses through the Prefect server."""
    settings: dict[str, str | None] = {name: environ.get(name) for name in RUN_SETTINGS}
    return settings | {ENV_FLAG: "1"}


def token_digest() -> str:
    """A digest of this process's `GITHUB_TOKEN` ('' without one): comparable, not the token."""
    token = os.environ.get("GITHUB_TOKEN") or ""
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else ""


class RunEnvironment(WorkerPlugin):
    """Sets a run's settings in a worker's environment; restores them at teardown."""

    def __init__(self, settings: Mapping[str, str | None]) -> None:
        self.settings = dict(settings)
        self.saved: dict[str, str | None] = {}

    def setup(self, worker: object) -> None:
        self.saved = {name: os.environ.get(name) for name in self.settings}
        _apply(self.settings)

    def teardown(self, worker: object) -> None:
        _apply(self.saved)


def _apply(settings: Mapping[str, str | None]) -> None:
    for name, value in settings.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def share_run_settings(
    client: Client, settings: Mapping[str, str | None] | None = None
) -> RunEnvironment:
    """Register the run's settings on every worker of `client`'s cluster (now and later)."""
    plugin = RunEnvironment(run_environment() if settings is None else settings)
    client.register_plugin(plugin, name=PLUGIN_NAME)
    return plugin


def warn_about_worker_tokens(client: Client) -> list[str]:
    """Warn when a worker's `GITHUB_TOKEN` differs from this process's; returns a message
    per such worker (names only, never a token)."""
    mine = token_digest()
    theirs = client.run(token_digest)
    problems = [
        f"worker {worker} has a different GITHUB_TOKEN from this process"
        for worker, digest in theirs.items()
        if digest != mine
    ]
    for problem in problems:
        logger.warning("%s: it sends its own (workers use their own environment's token)", problem)
    return problems


def prefect_api_url() -> str | None:
    """The Prefect API this process uses, if one is configured."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or os.environ.get("PREFECT_API_URL") or None


@contextlib.contextmanager
def shared_prefect_server() -> Iterator[str]:
    """The Prefect API every process of the run uses: the configured one, else one server
    started for the run (stopped after it). Yields its URL."""
    url = prefect_api_url()
    if url:
        with _prefect_api(url):
            yield url
        return
    from github_stars.lab.prefect_server import PrefectServer

    logger.info("Starting one Prefect server for this run and its Dask workers")
    with PrefectServer() as server, _prefect_api(server.api_url):
        yield server.api_url


@contextlib.contextmanager
def _prefect_api(url: str) -> Iterator[None]:
    """This process (settings and environment, which local workers inherit) uses `url`."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    saved = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings({PREFECT_API_URL: url}):
            yield
    finally:
        _apply({"PREFECT_API_URL": saved})


def local_cluster(
    workers: int, threads_per_worker: int = THREADS_PER_WORKER, dashboard_address: str | None = ":0"
) -> LocalCluster:
    """A `distributed.LocalCluster` of `workers` worker processes on 127.0.0.1.

    Start it from the main process (a script, the CLI or a notebook's kernel), never from
    inside a task: Dask's worker processes are daemonic and cannot start processes of their
    own (prefect#15331). `dashboard_address=None` turns the dashboard off.
    """
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        host="127.0.0.1",
        dashboard_address=dashboard_address,
    )


@contextlib.contextmanager
def dask_task_runner(
    workers: int | None = None,
    address: str | None = None,
    *,
    threads_per_worker: int = THREADS_PER_WORKER,
    dashboard_address: str | None = ":0",
) -> Iterator[DaskTaskRunner]:
    """A `DaskTaskRunner` for one run on `workers` local processes, or the scheduler at
    `address`, with everything the module docstring lists shared; all of it stopped (but an
    existing cluster or Prefect server left running) at the end."""
    if (workers is None) == (address is None):
        raise ValueError("give either workers (a local cluster) or address (a scheduler)")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    with contextlib.ExitStack() as stack:
        stack.enter_context(shared_prefect_server())
        if address is None:  # after the server: the workers inherit PREFECT_API_URL
            cluster = stack.enter_context(
                local_cluster(workers, threads_per_worker, dashboard_address)
            )
            address = cluster.scheduler_address
        client = stack.enter_context(Client(address, set_as_default=False))
        share_run_settings(client)
        stack.callback(_unregister, client)
        warn_about_worker_tokens(client)
        yield DaskTaskRunner(address=address)


def _unregister(client: Client) -> None:
    with contextlib.suppress(Exception):  # a cluster going away takes its plugins with it
        client.unregister_worker_plugin(PLUGIN_NAME)
