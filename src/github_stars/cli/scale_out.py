"""Run the pipeline's tasks on a Dask cluster: `--dask-workers N` or `--dask-address ADDRESS`.

    with dask_cluster(workers=2) as address:                 # a local cluster, 2 processes
        on_dask(address)(names, settings.with_changes(share_pause=True))

What every process of the run shares, and how it gets there:

- **One Prefect server** (`prefect_connection.prefect_for_run(shared=True)`): the global rate
  limit lives there, and so does GitHub's pause (`share_pause`). Prefect's settings, the
  server's address among them, travel with every task `prefect_dask` submits.
- **The run's settings** travel as the flow's `settings` parameter, inside the `GitHubApi`
  each task receives: nothing to set on the workers.
- **The token** is not sent: each worker reads its own `GITHUB_TOKEN` where it makes a
  request. A local cluster's workers inherit this process's environment; for an existing
  cluster, start the workers with `GITHUB_TOKEN` set. The run warns when a worker's token
  differs from its own (comparing digests).
- **Result storage** is the flow process's `PREFECT_LOCAL_STORAGE_PATH` (the settings travel
  with each task), so a result cached by one worker serves the next run on any worker of
  the same machine (or of machines sharing that path).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator

from distributed import Client, LocalCluster

from github_stars.settings import read_token

# Threads per worker process: the tasks mostly wait on the network and the rate limit.
THREADS_PER_WORKER = 8

logger = logging.getLogger(__name__)


def token_digest() -> str:
    """A digest of this process's `GITHUB_TOKEN` ('' without one): comparable, not the token."""
    token = read_token() or ""
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else ""


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
def dask_cluster(
    workers: int | None = None,
    address: str | None = None,
    *,
    threads_per_worker: int = THREADS_PER_WORKER,
    dashboard_address: str | None = ":0",
) -> Iterator[str]:
    """The scheduler address of `workers` local processes (stopped at the end), or `address`
    (an existing scheduler, left running); warns about workers with another token."""
    if (workers is None) == (address is None):
        raise ValueError("give either workers (a local cluster) or address (a scheduler)")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    with contextlib.ExitStack() as stack:
        if address is None:
            cluster = stack.enter_context(
                local_cluster(workers, threads_per_worker, dashboard_address)
            )
            address = cluster.scheduler_address
        client = stack.enter_context(Client(address, set_as_default=False))
        warn_about_worker_tokens(client)
        yield address
