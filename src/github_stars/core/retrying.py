"""Retry only what can succeed: Prefect's `retry_condition_fn` for `fetch_stats`."""

from __future__ import annotations

from typing import Any

from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
from prefect.states import State
from prefect.tasks import Task

from github_stars.core.errors import RateLimited, TransientError


def retry_if_transient(task: Task, task_run: Any, state: State) -> bool:
    """Retry 5xx answers, timeouts and rate limits; never a 404 or a malformed answer.

    A rate-limit slot the Prefect server could not grant (e.g. its database was busy) is
    transient too: retried, so a busy server never loses a repository.
    """
    try:
        state.result()
    except (TransientError, RateLimited, ConcurrencySlotAcquisitionError):
        return True
    except Exception:
        return False
    return False
