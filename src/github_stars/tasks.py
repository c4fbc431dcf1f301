"""The finished pipeline's tasks: lesson 04's step plus what production needs (lesson 05).

Beside `steps.cached`: the task retries only what can succeed, with backoff; honours
GitHub's `Retry-After` for every task (`retry_after`); counts each request in slot units on
its own limit (`rate_limiting`); and keys its cache by the API too, so answers from the
simulator and from GitHub never mix. `get_stars` is a plain function here (see its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import INPUTS, CachePolicy
from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
from prefect.context import TaskRunContext
from prefect.states import State
from prefect.tasks import Task, exponential_backoff
from prefect.utilities.hashing import hash_objects

from github_stars import config
from github_stars.client import fetch_repo
from github_stars.errors import RateLimited, TransientError
from github_stars.rate_limiting import take_request_slot
from github_stars.retry_after import GITHUB_PAUSE


def retry_if_transient(task: Task, task_run: Any, state: State) -> bool:
    """`retry_condition_fn`: retry 5xx, timeouts and rate limits; never 404s or bad data.

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


@dataclass
class ApiEndpoint(CachePolicy):
    """Cache-key part: which API answered, so simulator and live results never mix.

    Only `config.api_identity()` is hashed: the token is deliberately not part of any key.
    """

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        return hash_objects(config.api_identity())


# The repository and the API; `max_wait` changes how long we wait, not the answer.
CACHE_POLICY = (INPUTS - "max_wait") + ApiEndpoint()


@task(
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=config.retry_base_delay()),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
    cache_policy=CACHE_POLICY,
    cache_expiration=timedelta(days=1),
    task_run_name="fetch_stats-{github_repo}",
)
def fetch_stats(github_repo: str, max_wait: float | None = None) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo (waiting at most `max_wait` s if told)."""
    GITHUB_PAUSE.wait_out(github_repo, max_wait)  # a Retry-After any task was given holds here
    take_request_slot(config.rate_limit_name())  # the slots, one round trip for many tasks
    GITHUB_PAUSE.wait_out(github_repo, max_wait)  # ... and one given while we waited for it
    try:
        return fetch_repo(github_repo)  # make the request
    except RateLimited as refusal:
        GITHUB_PAUSE.honour(refusal, max_wait)  # every task waits as told; then Prefect retries
        raise


def get_stars(repo_stats: dict[str, Any]) -> int:
    """Get the number of stars (validated by the client, so never a `KeyError`).

    A plain function, not a task as in the lessons' steps: Prefect's bookkeeping for a task run
    (creating it, its states and events, its cache key) costs more than this lookup, and at
    thousands of repositories half the run's task runs were `get_stars`.
    """
    return repo_stats["stargazers_count"]
