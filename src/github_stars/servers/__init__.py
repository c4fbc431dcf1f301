"""Every server the project starts or reuses, in one place: a Prefect server (on SQLite or on
a throw-away PostgreSQL cluster), the GitHub API simulator, and the lab's pair of them.

Used by the command line, `binder/start` (`make lab`, Binder), `make book`, `make server`,
the test fixtures and the benchmarks.
"""

import importlib
from typing import Any

from github_stars.servers.prefect import PrefectServer, PrefectServerError, prefect_answers
from github_stars.servers.processes import free_port
from github_stars.simulator.control import Simulator, simulator_running, start_simulator

__all__ = [
    "LabServers",
    "PostgresCluster",
    "PostgresError",
    "PostgresNotInstalled",
    "PrefectServer",
    "PrefectServerError",
    "Simulator",
    "free_port",
    "postgres_available",
    "prefect_answers",
    "simulator_running",
    "start_simulator",
]

# Imported on first use, so that `python -m github_stars.servers.lab` and
# `python -m github_stars.servers.postgres` run a module that is not imported yet.
_RUNNABLE = {
    "LabServers": "lab",
    "PostgresCluster": "postgres",
    "PostgresError": "postgres",
    "PostgresNotInstalled": "postgres",
    "postgres_available": "postgres",
}


def __getattr__(name: str) -> Any:
    if name not in _RUNNABLE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_RUNNABLE[name]}"), name)
