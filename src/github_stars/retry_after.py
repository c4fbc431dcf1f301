"""Honour GitHub's `Retry-After`: one pause per API and token, shared by every task.

GitHub's rule: when it refuses a request for its rate limit, wait as long as `Retry-After`
says; without it, until `X-RateLimit-Reset` when `X-RateLimit-Remaining` is 0; else a minute
(`client.rate_limit_wait` reads the headers). Until then every request of the same token (or
address) is refused as well, so a refusal one task sees pauses all of them: each task waits
out the pause before it sends, and Prefect's retries do too. Lesson 03 teaches the per-task
version (`time.sleep(refusal.wait_seconds)`); this is the finished pipeline's.

Threads of one process share the pause in memory (no cost per request). Processes (Dask
workers, `scale_out`) share it on the Prefect server as well (`shared_pause`): one request to
the server before each request to the API, only where `GITHUB_STARS_SHARED_PAUSE` is set.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Hashable
from typing import Protocol

from github_stars import config
from github_stars.errors import RateLimited, RateLimitWaitTooLong

_MAX_WAIT_HINT = "use --max-wait or GITHUB_STARS_MAX_WAIT to wait longer"


def pause_key() -> tuple[str, str]:
    """Whose rate limit a request counts against: the API and a digest of the token."""
    token = config.github_token() or ""
    return config.api_base_url(), hashlib.sha256(token.encode()).hexdigest()[:16]


class PauseStore(Protocol):
    """Pauses every process of a run sees: deadlines in wall-clock seconds (`time.time()`)."""

    def deadline(self, key: Hashable) -> float | None: ...

    def extend(self, key: Hashable, deadline: float) -> None: ...

    def clear(self, key: Hashable) -> None: ...


def shared_store() -> PauseStore | None:
    """The Prefect server's pause store when this process shares pauses (Dask workers)."""
    from github_stars.shared_pause import PrefectVariablePauses, shared_pause_enabled

    return PrefectVariablePauses() if shared_pause_enabled() else None


class ApiPause:
    """Deadlines before which no request may go to an API: this process's, and shared ones.

    In memory (monotonic seconds, shared by threads) and, when `store()` returns a store,
    there too (wall-clock seconds, shared by processes): the later deadline counts.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        store: Callable[[], PauseStore | None] = shared_store,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._store = store
        self._wall_clock = wall_clock
        self._until: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def __reduce__(self) -> str | tuple:
        # Tasks shipped to another process (Dask) are pickled by value with their globals:
        # the module's pause goes as a reference to the receiving process's own, so the
        # threads there share it (a copy per task would share nothing).
        if self is GITHUB_PAUSE:
            return "GITHUB_PAUSE"
        return (type(self), (self._clock, self._sleep, self._store, self._wall_clock))

    def pause(self, key: Hashable, seconds: float) -> None:
        """No request to `key` for `seconds` from now (an earlier, longer pause is kept)."""
        seconds = max(0.0, seconds)
        deadline = self._clock() + seconds
        with self._lock:
            self._until[key] = max(self._until.get(key, deadline), deadline)
        store = self._store()
        if store is not None:  # every other process waits as well
            store.extend(key, self._wall_clock() + seconds)

    def remaining(self, key: Hashable) -> float:
        """Seconds left before a request to `key` may be sent (0 when it may go now)."""
        with self._lock:
            deadline = self._until.get(key)
        local = max(0.0, deadline - self._clock()) if deadline is not None else 0.0
        store = self._store()
        shared = store.deadline(key) if store is not None else None
        if shared is None:
            return local
        return max(local, shared - self._wall_clock())

    def clear(self) -> None:
        """Forget every pause (and the shared one of the configured API, if shared)."""
        with self._lock:
            self._until.clear()
        store = self._store()
        if store is not None:
            store.clear(pause_key())

    def wait_out(self, github_repo: str, max_wait: float | None = None) -> None:
        """Sleep until the configured API's pause is over; fail if it is longer than `max_wait`.

        Looks again after sleeping: another task (or process) may have been refused meanwhile.
        """
        max_wait = config.max_rate_limit_wait() if max_wait is None else max_wait
        while (paused := self.remaining(pause_key())) > 0:
            if paused > max_wait:
                raise RateLimitWaitTooLong(
                    f"{github_repo}: rate limited - the API asked to pause requests for "
                    f"{paused:.0f} s more, longer than the maximum of {max_wait:.0f} s "
                    f"({_MAX_WAIT_HINT})"
                )
            self._sleep(paused)

    def honour(self, refusal: RateLimited, max_wait: float | None = None) -> None:
        """Pause every request to the API as `refusal` asks; fail if that is over `max_wait`.

        When it returns, re-raise `refusal`: Prefect retries the task, which waits first.
        """
        max_wait = config.max_rate_limit_wait() if max_wait is None else max_wait
        self.pause(pause_key(), refusal.wait_seconds)
        if refusal.wait_seconds > max_wait:
            raise RateLimitWaitTooLong(
                f"{refusal} - asked to wait {refusal.wait_seconds:.0f} s, more than the "
                f"maximum of {max_wait:.0f} s ({_MAX_WAIT_HINT})"
            ) from None


# The pause every task of this process shares.
GITHUB_PAUSE = ApiPause()
