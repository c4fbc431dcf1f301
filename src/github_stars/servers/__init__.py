"""Every server the project starts or reuses, in one place: a Prefect server (on SQLite or on
a throw-away PostgreSQL cluster), the GitHub API simulator, and the lab's pair of them.

Used by the command line (`python -m github_stars server ...`, which `binder/start`, `make
lab`, `make book` and `make server` run), the test fixtures and the benchmarks.
"""

from github_stars.servers.lab_servers import LabServers
from github_stars.servers.postgres import (
    PostgresCluster,
    PostgresError,
    PostgresNotInstalled,
    postgres_available,
)
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
