"""The pipeline's Prefect tasks, as built up by the lessons (retries, rate limit, caching)."""

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
from github_stars.client import get_repo
from github_stars.errors import RateLimited, TransientError
from github_stars.rate_limiting import take_github_slot


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


CACHE_POLICY = INPUTS + ApiEndpoint()


@task(
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=config.retry_base_delay()),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
    cache_policy=CACHE_POLICY,
    cache_expiration=timedelta(days=1),
    task_run_name="fetch_stats-{github_repo}",
)
def fetch_stats(github_repo: str) -> dict[str, Any]:
    """Task 1: fetch a repository's statistics, one rate-limit slot per request."""
    return get_repo(github_repo, before_request=take_github_slot)


@task
def get_stars(repo_stats: dict[str, Any]) -> int:
    """Task 2: the star count (validated by the client, so never a `KeyError`)."""
    return repo_stats["stargazers_count"]
