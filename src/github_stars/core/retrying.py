"""Retry only what can succeed: Prefect's `retry_condition_fn` for `fetch_stats`."""

from __future__ import annotations

from prefect.client.schemas.objects import TaskRun
from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
from prefect.states import State
from prefect.tasks import Task

from github_stars.core.errors import GitHubStarsError


def retry_if_transient(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry what can succeed: server errors, timeouts, rate limits (`error.retryable`), and
    a rate-limit slot a busy Prefect server could not grant; never a 404 or a bad answer."""
    try:
        state.result()
    except GitHubStarsError as error:
        return error.retryable
    except ConcurrencySlotAcquisitionError:
        return True
    except Exception:
        return False
    return False
