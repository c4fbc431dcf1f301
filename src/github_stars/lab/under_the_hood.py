"""For the appendix "Under the hood": limits asked for slots directly, and the batched taker
listened in on.

    lab.fresh_limit("appendix-one-slot", RateBudget(limit=5, per_second=1.0))  # a full bucket
    lab.take_slots("appendix-one-slot", 1)                 # "granted" or "refused", no waiting
    lab.answers_after_a_burst("appendix-one-slot", budget, 1, [0.3, 1.5])
    lab.record_slot_asks(SlotBatcher(name, budget), threads=30)  # one row per round trip
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from unittest import mock

import httpx
import pandas as pd

from github_stars.core import rate_limits
from github_stars.core.rate_limits import SlotBatcher, ensure_rate_limit
from github_stars.settings import (
    SQLITE_SERVER_SETTINGS,
    STARTUP,
    LabPlaces,
    RateBudget,
    prefect_api_url,
)


def server_settings() -> pd.DataFrame:
    """The project's server settings (`SQLITE_SERVER_SETTINGS`) beside the values of the Prefect
    server this process uses (its public `GET /api/admin/settings`)."""
    from prefect.settings import get_current_settings

    api_url = str(get_current_settings().api.url).rstrip("/")
    served = httpx.get(f"{api_url}/admin/settings", timeout=10.0).json()["server"]["services"]

    def served_value(name: str) -> object:
        key = name.removeprefix("PREFECT_SERVER_SERVICES_").lower()
        service = next(service for service in served if key.startswith(f"{service}_"))
        return served[service][key.removeprefix(f"{service}_")]

    prefix = "PREFECT_SERVER_SERVICES_"
    rows = [
        {prefix: name.removeprefix(prefix), "project": value, "this server": served_value(name)}
        for name, value in SQLITE_SERVER_SETTINGS.items()
    ]
    return pd.DataFrame(rows).set_index(prefix)


def fresh_limit(name: str, budget: RateBudget) -> None:
    """Create or update the limit `name` for `budget`, with no slot taken (a full bucket).

    As `prefect gcl update NAME --limit L --slot-decay-per-second D --active-slots 0`.
    """
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    ensure_rate_limit(name, budget)
    with get_client(sync_client=True) as client:
        client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active_slots=0))


def take_slots(name: str, slots: int) -> str:
    """Ask the server once for `slots` slots of `name`, without waiting for them."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        try:
            client.increment_concurrency_slots(names=[name], slots=slots, mode="rate_limit")
            return "granted"
        except httpx.HTTPStatusError:  # 423 Locked: not enough slots free right now
            return "refused"


def answers_after_a_burst(
    name: str, budget: RateBudget, slots: int, at: Sequence[float]
) -> list[str]:
    """Take the whole burst of `name` (`budget.limit` requests of `slots` slots), then ask for
    one request's `slots` at each time of `at`, in seconds after the server wrote the burst
    (the limit's `updated` time, the clock its decay runs on); the server's answers."""
    from prefect import get_client

    take_slots(name, budget.limit * slots)
    with get_client(sync_client=True) as client:
        written = client.read_global_concurrency_limit_by_name(name).updated.timestamp()
    answers = []
    for seconds in at:
        time.sleep(max(0.0, written + seconds - time.time()))
        answers.append(take_slots(name, slots))
    return answers


def record_slot_asks(taker: SlotBatcher, threads: int = 30) -> pd.DataFrame:
    """Call `taker.take()` from `threads` threads at once, listening in on its round trips to
    the Prefect server (its calls of Prefect's `rate_limit`): one row per round trip, when it
    was asked and granted (seconds from the start) and how many requests' slots it took."""
    asks = []
    began = time.monotonic()
    ask = rate_limits.rate_limit

    def ask_and_note(name: str, occupy: int) -> None:
        asked = time.monotonic() - began
        ask(name, occupy=occupy)
        granted = time.monotonic() - began
        asks.append({"asked at (s)": asked, "granted at (s)": granted, "requests": occupy})

    with mock.patch.object(rate_limits, "rate_limit", ask_and_note):
        started = [threading.Thread(target=taker.take) for _ in range(threads)]
        for thread in started:
            thread.start()
        for thread in started:
            thread.join()
    frame = pd.DataFrame(asks)
    return frame.assign(requests=frame["requests"] // taker.units).round(2)


def startup_settings() -> dict[str, object]:
    """How this kernel reaches Prefect: `PREFECT_API_URL`, `make server`'s address, and the
    start-up timeout of a temporary server (the project's and this kernel's)."""
    from prefect.settings import get_current_settings

    ephemeral = get_current_settings().server.ephemeral
    return {
        "PREFECT_API_URL": prefect_api_url() or "(not set: a temporary server)",
        "make server's Prefect API": LabPlaces.from_environment().prefect_api_url,
        "the project's start-up timeout (s)": next(iter(STARTUP.values())),
        "this kernel's start-up timeout (s)": ephemeral.startup_timeout_seconds,
    }
