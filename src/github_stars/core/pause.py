"""Honour GitHub's `Retry-After`: one pause per run, shared by every task of it.

GitHub's rule: when it refuses a request for its rate limit, wait as long as `Retry-After`
says; without it, until `X-RateLimit-Reset` when `X-RateLimit-Remaining` is 0; else a minute
(`client.rate_limit_wait` reads the headers). Until then every request of the same token (or
address) is refused as well, so a refusal one task sees pauses all of them: each task waits
out the pause before it sends, and Prefect's retries do too.

Threads of one process share the pause in memory. The processes of a run (Dask workers) share
it on the Prefect server as well (`PrefectVariablePauses`), when the run's settings say so
(`Settings.share_pause`): one request to the Prefect server before each request to the API.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from github_stars.core.errors import RateLimited, RateLimitWaitTooLong

MAX_WAIT_HINT = "use --max-wait or GITHUB_STARS_MAX_WAIT to wait longer"
VARIABLE_PREFIX = "github_stars_pause_"

logger = logging.getLogger(__name__)


class PauseStore(Protocol):
    """A pause every process of a run sees: a deadline in wall-clock seconds (`time.time()`)."""

    def deadline(self) -> float | None: ...

    def extend(self, deadline: float) -> None: ...


class ApiPause:
    """The time before which no request may go to one API with one token.

    In memory (monotonic seconds, shared by threads) and, with a `store`, there too
    (wall-clock seconds, shared by processes): the later deadline counts.
    """

    def __init__(
        self,
        max_wait: float,
        store: PauseStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_wait = max_wait
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._until: float | None = None
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """No request for `seconds` from now (an earlier, longer pause is kept)."""
        seconds = max(0.0, seconds)
        deadline = self._clock() + seconds
        with self._lock:
            self._until = max(self._until or deadline, deadline)
        if self._store is not None:  # every other process waits as well
            self._store.extend(self._wall_clock() + seconds)

    def remaining(self) -> float:
        """Seconds left before a request may be sent (0 when it may go now)."""
        with self._lock:
            until = self._until
        local = max(0.0, until - self._clock()) if until is not None else 0.0
        shared = self._store.deadline() if self._store is not None else None
        if shared is None:
            return local
        return max(local, shared - self._wall_clock())

    def wait_out(self, github_repo: str) -> None:
        """Sleep until the pause is over; fail if it is longer than `max_wait`.

        Looks again after sleeping: another task (or process) may have been refused meanwhile.
        """
        while (paused := self.remaining()) > 0:
            if paused > self.max_wait:
                raise RateLimitWaitTooLong(
                    f"{github_repo}: rate limited - the API asked to pause requests for "
                    f"{paused:.0f} s more, longer than the maximum of {self.max_wait:.0f} s "
                    f"({MAX_WAIT_HINT})"
                )
            self._sleep(paused)

    def honour(self, refusal: RateLimited) -> None:
        """Pause every request as `refusal` asks; fail if that is over `max_wait`.

        When it returns, re-raise `refusal`: Prefect retries the task, which waits first.
        """
        self.pause(refusal.wait_seconds)
        if refusal.wait_seconds > self.max_wait:
            raise RateLimitWaitTooLong(
                f"{refusal} - asked to wait {refusal.wait_seconds:.0f} s, more than the "
                f"maximum of {self.max_wait:.0f} s ({MAX_WAIT_HINT})"
            ) from None


def variable_name(api_url: str, token: str | None) -> str:
    """The Prefect Variable holding the pause of one API and token: a digest of both, never
    the token itself."""
    digest = hashlib.sha256(f"{api_url}\n{token or ''}".encode()).hexdigest()[:16]
    return f"{VARIABLE_PREFIX}{digest}"


class PrefectVariablePauses:
    """A pause deadline (wall-clock seconds) in a Prefect Variable on the Prefect server.

    A pause that cannot be read or written (server unreachable) falls back to each process's
    own memory with a warning; the run goes on.
    """

    def __init__(self, client: SyncPrefectClient, name: str) -> None:
        self._client = client
        self.name = name

    def deadline(self) -> float | None:
        """The wall-clock time before which no request may go, if one is known."""
        try:
            variable = self._client.read_variable_by_name(self.name)
        except Exception as exc:  # the server is the shared memory; without it, go on
            logger.warning(
                "Could not read the shared rate-limit pause (%s); using this process's own",
                type(exc).__name__,
            )
            return None
        value = variable.value if variable else None
        return float(value) if isinstance(value, int | float) else None

    def extend(self, deadline: float) -> None:
        """Make the deadline at least `deadline` (a later one already stored is kept)."""
        try:
            variable = self._client.read_variable_by_name(self.name)
            current = variable.value if variable else None
            if isinstance(current, int | float) and current >= deadline:
                return
            if variable is not None:  # two round trips, not three: the others wait on them
                self._client.update_variable(VariableUpdate(name=self.name, value=deadline))
                return
            try:
                self._client.create_variable(VariableCreate(name=self.name, value=deadline))
            except ObjectAlreadyExists:  # another process created it meanwhile
                self._client.update_variable(VariableUpdate(name=self.name, value=deadline))
        except Exception as exc:
            logger.warning(
                "Could not share the rate-limit pause (%s); other processes may not see it",
                type(exc).__name__,
            )

    def clear(self) -> None:
        """Forget the pause."""
        with contextlib.suppress(ObjectNotFound):
            self._client.delete_variable_by_name(self.name)
