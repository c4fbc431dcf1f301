"""One pause per API and identity, shared by every thread of the process.

When GitHub refuses a request for its rate limit it names a time (`Retry-After`, or
`X-RateLimit-Reset`) before which any request from the same identity is refused as well.
Every thread, and every retry Prefect makes, checks the pause before sending, so a refusal
seen by one task keeps all the others from hammering the API until then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class ApiPause:
    """Deadlines (monotonic seconds) before which no request may go to an API."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def pause(self, key: Hashable, seconds: float) -> None:
        """No request to `key` for `seconds` from now (an earlier, longer pause is kept)."""
        deadline = self._clock() + max(0.0, seconds)
        with self._lock:
            self._until[key] = max(self._until.get(key, deadline), deadline)

    def remaining(self, key: Hashable) -> float:
        """Seconds left before a request to `key` may be sent (0 when it may go now)."""
        with self._lock:
            deadline = self._until.get(key)
        return max(0.0, deadline - self._clock()) if deadline is not None else 0.0

    def clear(self) -> None:
        """Forget every pause."""
        with self._lock:
            self._until.clear()
