"""Appendix, try it yourself: a request counted as 10 slots, on the demonstration's budget."""

import time

import httpx
from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

from github_stars.core.rate_limits import ensure_rate_limit, in_slot_units
from github_stars.lab.checks import check
from github_stars.settings import RateBudget

UNITS = 10
NAME = "appendix-ten-slots"
SLOW = RateBudget(limit=5, per_second=1.0)


def fresh_limit(name: str, budget: RateBudget) -> None:
    """Create or update the limit `name` for `budget`, with no slot taken (a full bucket)."""
    ensure_rate_limit(name, budget)
    with get_client(sync_client=True) as client:
        client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active_slots=0))


def take(name: str, slots: int) -> str:
    """Ask the server once for `slots` slots of `name`, without waiting for them."""
    with get_client(sync_client=True) as client:
        try:
            client.increment_concurrency_slots(names=[name], slots=slots, mode="rate_limit")
            return "granted"
        except httpx.HTTPStatusError:  # 423 Locked: not enough slots free right now
            return "refused"


if __name__ == "__main__":
    fresh_limit(NAME, in_slot_units(SLOW, units=UNITS))  # limit 50, 10 slots back per second
    start = time.monotonic()  # before the burst: a slow answer never adds refill time
    take(NAME, SLOW.limit * UNITS)  # the burst
    answers = []
    for at in (0.3, 0.6, 1.5, 3.2, 3.2):
        time.sleep(max(0.0, start + at - time.monotonic()))
        answers.append(take(NAME, UNITS))
    # 1.7 s of refill is 17 slots at 10 per second: the fraction a grant drops is a tenth of a
    # request, so the last request is granted, as by an exact token bucket. Counted as one
    # slot (units=1), the same 1.7 s is 1.7 slots: the grant drops 0.7 and the last is refused.
    check(
        f"{UNITS} slots per request: {', '.join(answers)}; the last request granted",
        answers == ["refused", "refused", "granted", "granted", "granted"],
    )
