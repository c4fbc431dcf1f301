"""The global concurrency limit the pipeline uses as a GitHub rate limit."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, MutableMapping

from prefect import get_client
from prefect.concurrency.sync import rate_limit
from prefect.exceptions import ObjectAlreadyExists

from github_stars import config

# Server settings that keep `rate_limit()` fast on Prefect's SQLite database. Each slot is
# taken by a read-then-write transaction that SQLite refuses ("database is locked" -> HTTP
# 503 -> the client waits 2, 4, 8 s, and every other waiting task waits behind it) whenever
# another write lands in between. By default the server's task-run recorder writes once per
# task-run state change, i.e. exactly while mapped tasks take slots; batching its writes
# (and the event persister's) into one transaction per second removes most collisions.
SQLITE_SERVER_SETTINGS: dict[str, str] = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "1",
}


def apply_server_settings(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Put `SQLITE_SERVER_SETTINGS` into `environ` unless already set; returns what applies.

    Call before a Prefect server starts (temporary servers inherit the environment);
    it has no effect on a server that is already running.
    """
    for name, value in SQLITE_SERVER_SETTINGS.items():
        environ.setdefault(name, value)
    return {name: environ[name] for name in SQLITE_SERVER_SETTINGS}


def shell_exports(environ: Mapping[str, str] = os.environ) -> str:
    """`export NAME=VALUE` lines of `apply_server_settings` for a shell (binder/start), values
    already in `environ` kept; `environ` itself is not changed."""
    applied = apply_server_settings(dict(environ))
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in applied.items())


def ensure_rate_limit(
    name: str = config.RATE_LIMIT_NAME, budget: config.RateBudget | None = None
) -> config.RateBudget:
    """Create or update the limit `name` (idempotent; safe when two runs race).

    The code equivalent of `prefect gcl create github-api --limit 60
    --slot-decay-per-second 0.016`, which fails when the limit already exists. Without
    the limit, `rate_limit(name)` only logs a warning and does not throttle at all.
    """
    budget = budget or config.rate_budget()
    with get_client(sync_client=True) as client:
        try:
            client.upsert_global_concurrency_limit_by_name(name, budget.limit, budget.per_second)
        except ObjectAlreadyExists:  # another run created it between our read and create
            client.upsert_global_concurrency_limit_by_name(name, budget.limit, budget.per_second)
    return budget


# Slots per request for a finer-grained limit (see `in_slot_units`).
SLOT_UNITS = 100


def in_slot_units(budget: config.RateBudget, units: int = SLOT_UNITS) -> config.RateBudget:
    """The same budget counted in `units` slots per request: limit and decay times `units`.

    Prefect decays slots in whole units (`floor(decay * seconds since the last update)`), and
    every refused request restarts that clock, so a limit that counts one slot per request
    loses the fraction of a slot at each refusal. Counting each request as `units` slots
    (`rate_limit(name, occupy=units)`) makes that loss `units` times smaller.
    """
    if units < 1:
        raise ValueError(f"units must be a positive whole number, got {units}")
    return config.RateBudget(budget.limit * units, budget.per_second * units)


def take_github_slot() -> None:
    """Block until the `github-api` limit grants a slot (call before each request)."""
    rate_limit(config.RATE_LIMIT_NAME)
