"""The global concurrency limit used as a rate limit: idempotent set-up and slot units."""

from __future__ import annotations

import time

import pytest
from prefect import get_client
from prefect.concurrency.sync import rate_limit
from prefect.exceptions import ObjectNotFound

from github_stars.core import GitHubApi, RateBudget, Settings, ensure_rate_limit
from github_stars.core import rate_limits as rate_limiting
from github_stars.core.rate_limits import DECAY_MARGIN, SLOT_UNITS, RefillEstimate, in_slot_units
from github_stars.settings import PREFECT_PROCESS_SETTINGS, shell_exports


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
    assert len(lines) == len(PREFECT_PROCESS_SETTINGS)
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


def test_a_run_with_a_budget_of_its_own_gets_a_limit_of_its_own():
    simulator = Settings(api_url="http://127.0.0.1:8765")
    assert simulator.rate_limit_name == "github-api-units-50-at-50-per-s"
    own = simulator.with_changes(budget=RateBudget(4, 8.0))
    assert own.rate_limit_name == "github-api-units-4-at-8-per-s"
    environ = {"GITHUB_STARS_RATE_LIMIT": "4", "GITHUB_STARS_RATE_PER_SECOND": "8"}
    assert Settings.from_environment(environ).rate_limit_name == own.rate_limit_name
    assert Settings().rate_limit_name == "github-api-units-60-at-0.0166667-per-s"
    assert Settings.from_environment({"GITHUB_TOKEN": "t"}, live=True).rate_limit_name == (
        "github-api-units-100-at-1.38889-per-s"
    )


def test_a_run_creates_its_limit_in_slot_units_before_its_first_request(sim, settings):
    budget = RateBudget(7, 3.5)  # a budget no other test uses
    run = settings.with_changes(budget=budget)
    with get_client(sync_client=True) as client, pytest.raises(ObjectNotFound):
        client.read_global_concurrency_limit_by_name(run.rate_limit_name)
    with GitHubApi.open(run) as api:
        api.take_request_slot()
        assert api.get_repo("psf/requests")["full_name"] == "psf/requests"
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(run.rate_limit_name)
    assert (limit.limit, limit.slot_decay_per_second) == (7 * SLOT_UNITS, 3.5 * SLOT_UNITS)


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
