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
    # The same requests against one slot and 10 slots per request (limits 5 and 50).
    limits = {1: "appendix-one-slot", UNITS: NAME}
    for units, name in limits.items():
        fresh_limit(name, in_slot_units(SLOW, units=units))
    start = time.monotonic()  # before the burst: a slow answer never adds refill time
    for units, name in limits.items():
        take(name, SLOW.limit * units)  # the burst
    answers: dict[int, list[str]] = {units: [] for units in limits}
    for at in (0.3, 0.6, 1.5, 3.2, 3.2):
        time.sleep(max(0.0, start + at - time.monotonic()))
        for units, name in limits.items():
            answers[units].append(take(name, units))
    # On a quiet server: 1.7 s of refill after the grant at 1.5 s is 17 slots at 10 per
    # second, so a grant drops at most a tenth of a request and the last request is granted,
    # as by an exact token bucket; counted as one slot, the same 1.7 s is 1.7 slots: the grant
    # drops 0.7 and the last is refused. A busy server answers late, which shifts both alike:
    # finer slots never grant fewer requests.
    granted = {units: said.count("granted") for units, said in answers.items()}
    check(
        f"{UNITS} slots per request: {', '.join(answers[UNITS])} ({granted[UNITS]} granted); "
        f"one slot per request: {', '.join(answers[1])} ({granted[1]} granted)",
        granted[UNITS] >= granted[1],
    )
