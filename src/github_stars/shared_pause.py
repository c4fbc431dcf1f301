"""GitHub's pause kept on the Prefect server, so every process of a run honours it.

`retry_after.ApiPause` keeps a rate-limit pause in one process's memory, which is all threads
need. Dask worker processes (`scale_out`) each have their own memory: a 429 one worker
receives must hold the others back too. This store keeps the pause's deadline on the Prefect
server every process already talks to, as a Prefect Variable per API and token digest,
holding the deadline in wall-clock seconds (`time.time()`; the processes of one run share a
clock, or NTP-synchronised clocks on several machines).

Reading costs one request to the Prefect server, so the pipeline uses this store only where
it is needed: when `GITHUB_STARS_SHARED_PAUSE` is set (`scale_out` sets it for every Dask
worker). A pause that cannot be read or written (server unreachable) falls back to the
process's own memory with a warning; the run goes on.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
from collections.abc import Hashable

from prefect import get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.settings import get_current_settings

ENV_FLAG = "GITHUB_STARS_SHARED_PAUSE"
VARIABLE_PREFIX = "github_stars_pause_"

logger = logging.getLogger(__name__)


def shared_pause_enabled() -> bool:
    """True when this process keeps rate-limit pauses on the Prefect server."""
    return os.environ.get(ENV_FLAG, "").lower() in {"1", "true", "yes"}


def variable_name(key: Hashable) -> str:
    """The Prefect Variable holding `key`'s pause: a digest, never the key (or token) itself."""
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
    return f"{VARIABLE_PREFIX}{digest}"


@functools.lru_cache(maxsize=4)
def _client(api_url: str | None) -> SyncPrefectClient:
    # One open client per Prefect API for the whole process (its HTTP connections are
    # pooled and thread-safe): a new client per read costs ~40 ms, a read on it a few ms.
    client = get_client(sync_client=True)
    client.__enter__()
    return client


def prefect_client() -> SyncPrefectClient:
    """This process's client for the Prefect API of the current settings."""
    return _client(get_current_settings().api.url)


def read_value(name: str) -> object:
    """The value of Prefect Variable `name`, or None if there is none."""
    variable = prefect_client().read_variable_by_name(name)
    return variable.value if variable else None


def write_value(name: str, value: float) -> None:
    """Create or overwrite Prefect Variable `name`."""
    client = prefect_client()
    try:
        client.create_variable(VariableCreate(name=name, value=value))
    except ObjectAlreadyExists:
        client.update_variable(VariableUpdate(name=name, value=value))


class PrefectVariablePauses:
    """Pause deadlines (wall-clock seconds) in Prefect Variables on the Prefect server."""

    def deadline(self, key: Hashable) -> float | None:
        """The wall-clock time before which no request may go to `key`, if one is known."""
        try:
            value = read_value(variable_name(key))
        except Exception as exc:  # the server is the shared memory; without it, go on
            logger.warning(
                "Could not read the shared rate-limit pause (%s); using this process's own",
                type(exc).__name__,
            )
            return None
        return float(value) if isinstance(value, int | float) else None

    def extend(self, key: Hashable, deadline: float) -> None:
        """Make `key`'s deadline at least `deadline` (a later one already stored is kept)."""
        name = variable_name(key)
        try:
            current = read_value(name)
            if isinstance(current, int | float) and current >= deadline:
                return
            write_value(name, deadline)
        except Exception as exc:
            logger.warning(
                "Could not share the rate-limit pause (%s); other processes may not see it",
                type(exc).__name__,
            )

    def clear(self, key: Hashable) -> None:
        """Forget `key`'s pause."""
        try:
            prefect_client().delete_variable_by_name(variable_name(key))
        except ObjectNotFound:
            pass
        except Exception as exc:
            logger.warning("Could not clear the shared rate-limit pause (%s)", type(exc).__name__)

    def remaining(self, key: Hashable) -> float:
        """Seconds left before a request may go to `key` (0 when it may go now)."""
        deadline = self.deadline(key)
        return max(0.0, deadline - time.time()) if deadline is not None else 0.0
