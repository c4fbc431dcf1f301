"""The global concurrency limit used as a rate limit: idempotent set-up and slot units."""

from __future__ import annotations

import time

import pytest
from prefect import get_client
from prefect.concurrency.sync import rate_limit

from github_stars import rate_limiting
from github_stars.config import RateBudget
from github_stars.prefect_settings import PROCESS_SETTINGS, shell_exports
from github_stars.rate_limiting import (
    DECAY_MARGIN,
    SLOT_UNITS,
    RefillEstimate,
    ensure_rate_limit,
    in_slot_units,
)


def test_slot_units_scale_limit_and_decay_alike():
    assert in_slot_units(RateBudget(60, 60 / 3600)) == RateBudget(
        60 * SLOT_UNITS, 60 / 3600 * SLOT_UNITS
    )
    assert in_slot_units(RateBudget(4, 4.0), units=1) == RateBudget(4, 4.0)
    with pytest.raises(ValueError, match="positive whole number"):
        in_slot_units(RateBudget(4, 4.0), units=0)


def test_shell_exports_keep_values_already_set_and_change_nothing():
    name = "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL"
    environ = {name: "2 s"}
    lines = shell_exports(environ).splitlines()
    assert environ == {name: "2 s"}
    assert f"export {name}='2 s'" in lines
    assert len(lines) == len(PROCESS_SETTINGS)
    assert "export PREFECT_SERVER_ANALYTICS_ENABLED=false" in lines
    assert "export PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE=500" in lines


def test_ensure_rate_limit_creates_then_updates_the_same_limit():
    name = "test-ensure-rate-limit"
    ensure_rate_limit(name, RateBudget(3, 1.5))
    ensure_rate_limit(name, RateBudget(5, 2.5))  # a second call must not fail
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(name)
    assert (limit.limit, limit.slot_decay_per_second) == (5, 2.5)


def test_a_request_counted_as_many_slots_waits_for_its_refill():
    """Burst 2, 4 requests/s, each request `SLOT_UNITS` slots: the third waits ~1/4 s."""
    name = "test-slot-units"
    ensure_rate_limit(name, in_slot_units(RateBudget(2, 4.0)))
    started = time.monotonic()
    taken = []
    for _ in range(3):
        rate_limit(name, occupy=SLOT_UNITS, strict=True)
        taken.append(time.monotonic() - started)
    assert taken[2] - taken[0] >= 0.2  # never faster than the budget allows


def test_a_run_with_a_budget_of_its_own_gets_a_limit_of_its_own(monkeypatch):
    from github_stars.config import RATE_LIMIT_NAME, rate_limit_name

    monkeypatch.delenv("GITHUB_STARS_RATE_LIMIT", raising=False)
    assert rate_limit_name() == RATE_LIMIT_NAME == "github-api-units"
    monkeypatch.setenv("GITHUB_STARS_RATE_LIMIT", "4")
    monkeypatch.setenv("GITHUB_STARS_RATE_PER_SECOND", "8")
    assert rate_limit_name() == "github-api-units-4-at-8-per-s"


def test_refill_estimate_asks_only_once_the_batch_has_refilled(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(rate_limiting.time, "monotonic", lambda: clock[0])
    estimate = RefillEstimate(RateBudget(limit=50, per_second=50.0))
    assert estimate.seconds_until(10) == 0  # a full bucket: the burst goes at once
    estimate.granted(50, asked_at=100.0)
    assert estimate.seconds_until(10) == pytest.approx((10 + DECAY_MARGIN) / 50)
    clock[0] = 100.1  # 0.1 s later: 5 refilled, 5 to go
    assert estimate.seconds_until(10) == pytest.approx((5 + DECAY_MARGIN) / 50)
    clock[0] = 100.5  # an ask sent at 100.3 is answered only now (a busy server)
    estimate.granted(10, asked_at=100.3)  # 15 had refilled by 100.3; 10 more since
    assert estimate.free(clock[0]) == pytest.approx(15)
    assert estimate.seconds_until(10) == 0
