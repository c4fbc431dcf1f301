"""What `serve` does with its deployment's runs whenever it (re)starts its runner.

- **Catch-up.** If the schedule's latest time that has come (within the last day) has no
  run that completed or is in progress, one run catches it up now: the overdue run of that
  time if there is one, else a new run (created with an idempotency key per missed time, so
  a restarted `serve` never catches the same time up twice).
- **Overdue runs.** Every other run that came due while nothing served the deployment is
  cancelled: after an outage or a stop, one run stands for all of them.
- **A stuck slot.** The deployment runs one flow run at a time (its concurrency limit). A
  Prefect server restarted while a run held the slot can keep the slot taken with nobody
  holding it (leases kept in its memory are gone); when no run is in progress, the slot is
  given back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.states import Cancelled, Scheduled

PAGE, MAX_PAGES = 200, 50  # overdue runs cancelled per request, and requests at most
LOOKBACKS = (dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(hours=25))
IN_PROGRESS = [StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]
CATCH_UP_TAG = "catch-up"


def latest_due(schedules: Iterable[Any], now: dt.datetime) -> dt.datetime | None:
    """The latest time an active schedule came due at or before `now`, within the last
    day (`LOOKBACKS`, shortest first: a schedule's dates are read 1,000 at most)."""
    from prefect.server.schemas import schedules as server_schedules

    latest = None
    for entry in schedules:
        if not entry.active:
            continue
        kind = getattr(server_schedules, type(entry.schedule).__name__)
        schedule = kind.model_validate(entry.schedule.model_dump())
        for lookback in LOOKBACKS:
            dates = _dates(schedule, now - lookback, now)
            if dates:
                latest = max(latest or dates[-1], dates[-1])
                break
    return latest


def _dates(schedule: Any, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    import asyncio

    return asyncio.run(schedule.get_dates(start=start, end=end))


def _runs(client: Any, deployment_id: UUID, **flow_run_filter: Any) -> list[Any]:
    ours = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    return client.read_flow_runs(
        flow_run_filter=FlowRunFilter(**flow_run_filter), deployment_filter=ours, limit=PAGE
    )


def _of_types(*types: StateType) -> FlowRunFilterState:
    return FlowRunFilterState(type=FlowRunFilterStateType(any_=list(types)))


def catch_up_key(deployment_id: UUID, due: dt.datetime) -> str:
    """One catch-up per deployment and missed time, whoever creates it."""
    text = f"{deployment_id}@{due.astimezone(dt.UTC).isoformat()}"
    return "github-stars-catch-up-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def prepare_runs(deployment_id: UUID, now: dt.datetime | None = None) -> list[str]:
    """Catch up a missed time, cancel the other overdue runs, give back a stuck slot; what
    was done, as sentences to print."""
    now = now or dt.datetime.now(dt.UTC)
    said = []
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment(deployment_id)
        due = latest_due(deployment.schedules, now)
        in_progress = _runs(client, deployment_id, state=_of_types(*IN_PROGRESS))
        keep = None
        if due is not None:
            since_due = FlowRunFilterExpectedStartTime(after_=due)
            finished = _runs(
                client,
                deployment_id,
                expected_start_time=since_due,
                state=_of_types(StateType.COMPLETED, *IN_PROGRESS),
            )
            if not finished:
                keep = _catch_up(client, deployment_id, due, now)
            if keep is not None:
                said.append(
                    f"Catching up: the run due at {due:%Y-%m-%d %H:%M:%S} UTC did not "
                    f"complete; one run ({keep.name}) starts now."
                )
        cancelled = _cancel_overdue(client, deployment_id, now, keep.id if keep else None)
        if cancelled:
            said.append(f"Cancelled {cancelled} runs that came due while nothing served them.")
        if not in_progress and _give_back_stuck_slot(client, deployment):
            said.append("Gave back the deployment's run slot, held by no run in progress.")
    return said


def _catch_up(client: Any, deployment_id: UUID, due: dt.datetime, now: dt.datetime) -> Any:
    """The overdue run of `due`, if nothing started it, else a new run scheduled now; None
    when this time's catch-up was made before and has ended (at most one per missed time)."""
    waiting = _runs(
        client,
        deployment_id,
        expected_start_time=FlowRunFilterExpectedStartTime(after_=due, before_=now),
        state=_of_types(StateType.SCHEDULED),
    )
    if waiting:
        return max(waiting, key=lambda run: run.expected_start_time)
    run = client.create_flow_run_from_deployment(
        deployment_id,
        state=Scheduled(scheduled_time=now),
        tags=[CATCH_UP_TAG],
        idempotency_key=catch_up_key(deployment_id, due),
    )  # an earlier catch-up of `due`, if there was one
    return run if run.state_type == StateType.SCHEDULED else None


def _cancel_overdue(client: Any, deployment_id: UUID, now: dt.datetime, keep: UUID | None) -> int:
    """Cancel the deployment's scheduled runs due before `now` but `keep`; how many.
    (Pausing a schedule removes its future runs, not those already due.)"""
    cancelled = 0
    for _ in range(MAX_PAGES):
        runs = [
            run
            for run in _runs(
                client,
                deployment_id,
                state=_of_types(StateType.SCHEDULED),
                expected_start_time=FlowRunFilterExpectedStartTime(before_=now),
            )
            if run.id != keep
        ]
        for run in runs:
            state = Cancelled(message="Due while no runner served the deployment.")
            client.set_flow_run_state(run.id, state, force=True)
        cancelled += len(runs)
        if len(runs) < PAGE - 1:
            break
    return cancelled


def _give_back_stuck_slot(client: Any, deployment: Any) -> bool:
    """Free the deployment's concurrency slots when no run holds one; whether any were."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    limit = deployment.global_concurrency_limit
    if limit is None or not limit.active_slots:
        return False
    client.update_global_concurrency_limit(limit.name, GlobalConcurrencyLimitUpdate(active_slots=0))
    return True
