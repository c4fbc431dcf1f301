"""Prefect's process settings, decided here once.

The CLI, `binder/start`, the tests and the benchmark apply them before a Prefect server (or a
temporary one) starts; values already in the environment are kept, so a user can override any.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, MutableMapping

# Offline first: no server sends usage statistics.
ANALYTICS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}

# Without PREFECT_API_URL each process starts a temporary server; Prefect gives it 20 s, which a
# busy 2-core machine (or two runs starting at once on one PREFECT_HOME) can exceed.
STARTUP = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}

# Keep `rate_limit()` fast on Prefect's SQLite database. Each slot is taken by a read-then-write
# transaction that SQLite refuses ("database is locked" -> HTTP 503 -> the client waits 2, 4,
# 8 s) whenever another write lands in between. By default the server's task-run recorder writes
# once per task-run state change, i.e. exactly while mapped tasks take slots; batching its writes
# (and the event persister's) into one transaction per second removes most collisions. See the
# appendix notebook "Under the hood".
SQLITE_SERVER_SETTINGS = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "1",
}

PROCESS_SETTINGS = ANALYTICS | STARTUP | SQLITE_SERVER_SETTINGS


def apply_prefect_settings(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Put `PROCESS_SETTINGS` into `environ` unless already set; returns what applies.

    Call before Prefect starts a server (temporary servers inherit the environment); it has
    no effect on a server that is already running.
    """
    for name, value in PROCESS_SETTINGS.items():
        environ.setdefault(name, value)
    return {name: environ[name] for name in PROCESS_SETTINGS}


def shell_exports(environ: Mapping[str, str] = os.environ) -> str:
    """`export NAME=VALUE` lines of `apply_prefect_settings` for a shell (`binder/start`).

    Values already in `environ` are kept; `environ` itself is not changed.
    """
    applied = apply_prefect_settings(dict(environ))
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in applied.items())
