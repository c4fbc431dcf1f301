"""Global concurrency limits used as GitHub rate limits, and the batched slot taker.

The lessons' steps up to lesson 10 use the seed tutorial's limit `github-api`, one slot per
request, created with `prefect gcl create github-api --limit 60 --slot-decay-per-second 0.016`.
From lesson 11 on, the pipeline counts each request as `SLOT_UNITS` slots on a limit of its
own (`Settings.rate_limit_name`), which a run creates or updates for its budget before it
takes the first slot (`SlotBatcher`). Why slot units: the appendix notebook "Under the hood".
"""

from __future__ import annotations

import threading
import time

from prefect import get_client
from prefect.concurrency.sync import rate_limit
from prefect.exceptions import ObjectAlreadyExists

from github_stars.settings import RateBudget

# Slots per request on the finished pipeline's limit (see `in_slot_units`).
SLOT_UNITS = 100


def in_slot_units(budget: RateBudget, units: int = SLOT_UNITS) -> RateBudget:
    """The same budget counted in `units` slots per request: limit and decay times `units`.

    Prefect decays slots in whole units (`floor(decay * seconds since the last update)`), and
    each granted slot restarts that clock, dropping the fraction of a slot that had refilled
    since, so a limit that counts one slot per request loses up to a request's worth of refill
    at each grant. Counting each request as `units` slots (`rate_limit(name, occupy=units)`)
    makes that loss `units` times smaller (measured in the appendix notebook).
    """
    if units < 1:
        raise ValueError(f"units must be a positive whole number, got {units}")
    return RateBudget(budget.limit * units, budget.per_second * units)


def ensure_rate_limit(name: str, budget: RateBudget) -> RateBudget:
    """Create or update the global concurrency limit `name` (idempotent; safe when runs race).

    The code equivalent of `prefect gcl create NAME --limit L --slot-decay-per-second D`,
    which fails when the limit already exists. Without the limit, `rate_limit(name)` only
    logs a warning and does not throttle at all.
    """
    with get_client(sync_client=True) as client:
        try:
            client.upsert_global_concurrency_limit_by_name(name, budget.limit, budget.per_second)
        except ObjectAlreadyExists:  # another run created it between our read and create
            client.upsert_global_concurrency_limit_by_name(name, budget.limit, budget.per_second)
    return budget


# How many requests' slots one server round trip may take for the threads waiting in a
# process: at most MAX_SLOT_BATCH, and at most what the budget refills in BATCH_SECONDS (so a
# slow budget, e.g. a token's 1.39/s, takes one request at a time).
MAX_SLOT_BATCH = 10
BATCH_SECONDS = 0.2
DECAY_MARGIN = 0.02  # of a request (2 of its SLOT_UNITS)


class RefillEstimate:
    """How many requests' slots the server should have free, by this process's own count.

    A mirror of the server's bucket for one budget: full at first, emptied by each grant,
    refilled at the budget's rate. It only decides when to *ask*: the server still grants or
    refuses, so another process using the same limit can only make the estimate optimistic,
    and then the server's refusal (Prefect waits as told) keeps the budget.
    """

    def __init__(self, budget: RateBudget) -> None:
        self.budget = budget
        self._free = float(budget.limit)
        self._at = time.monotonic()

    def free(self, now: float) -> float:
        refilled = (now - self._at) * self.budget.per_second
        return min(float(self.budget.limit), self._free + refilled)

    def seconds_until(self, requests: int) -> float:
        """How long until `requests` requests' slots have refilled (0 if they have).

        With a margin of `DECAY_MARGIN` of a request: the server drops the part of a slot
        that had refilled when it grants (at most one of a request's `SLOT_UNITS`).
        """
        missing = requests + DECAY_MARGIN - self.free(time.monotonic())
        return max(0.0, missing / self.budget.per_second)

    def granted(self, requests: int, asked_at: float) -> None:
        """`requests` were granted to an ask sent at `asked_at`.

        The server granted them after `asked_at` and kept refilling since, also while the
        client waited (a refusal's `Retry-After`, or "database is locked"), so counting from
        `asked_at` never overestimates what it has free when this process is its only user.
        """
        self._free, self._at = max(0.0, self.free(asked_at) - requests), asked_at


class SlotBatcher:
    """One process's rate-limit slots, taken for all its waiting tasks in one round trip.

    `take()` returns once one request's worth of slots belongs to the calling thread. While
    one thread asks the server (`rate_limit(name, occupy=n * units)`), the others wait; when
    it is answered, the `n` requests are handed out, and the next asker takes as many as are
    waiting then (at most `MAX_SLOT_BATCH`, what the budget refills in `BATCH_SECONDS`, and
    the limit's burst). The server still counts every slot, so the budget holds across
    processes as before; what changes is the number of requests to the Prefect server per
    GitHub request (1/n instead of 1), and so the chances of meeting "database is locked" on
    SQLite.

    The asker first waits until the budget should have refilled the batch (`RefillEstimate`):
    asked too early, the server refuses and tells the client to wait for the whole batch's
    refill (Prefect's `Retry-After` for a rate limit), not just the part still missing.
    """

    def __init__(self, name: str, budget: RateBudget, units: int = SLOT_UNITS) -> None:
        self.name = name
        self.budget = budget
        self.units = units
        self._cond = threading.Condition()
        self._waiting = 0  # threads inside take() that have no slot yet
        self._granted = 0  # requests' slots granted by the server, not yet handed out
        self._asking = False
        self._estimate = RefillEstimate(budget)
        self._limit_ready = False

    def take(self) -> None:
        """Block until one request's slots are this thread's."""
        with self._cond:
            self._waiting += 1
            while not self._granted:
                if self._asking:
                    self._cond.wait()
                    continue
                self._asking = True
                budget = self.budget
                batch = max(
                    1,
                    min(
                        self._waiting,
                        MAX_SLOT_BATCH,
                        budget.limit,
                        int(budget.per_second * BATCH_SECONDS),
                    ),
                )
                estimate = self._estimate
                got = 0
                self._cond.release()
                try:
                    if not self._limit_ready:  # once per process and run, before the first slot
                        ensure_rate_limit(self.name, in_slot_units(budget, self.units))
                        self._limit_ready = True
                    time.sleep(estimate.seconds_until(batch))
                    asked_at = time.monotonic()
                    rate_limit(self.name, occupy=batch * self.units)
                    got = batch
                    estimate.granted(batch, asked_at)
                finally:
                    self._cond.acquire()
                    self._asking = False
                    self._granted += got
                    if not got:  # this thread leaves with the error
                        self._waiting -= 1
                    self._cond.notify_all()
            self._granted -= 1
            self._waiting -= 1
