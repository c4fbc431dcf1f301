"""The global concurrency limit the pipeline uses as a GitHub rate limit."""

from __future__ import annotations

from prefect import get_client
from prefect.concurrency.sync import rate_limit
from prefect.exceptions import ObjectAlreadyExists

from github_stars import config


def ensure_rate_limit(
    name: str = config.RATE_LIMIT_NAME, budget: config.RateBudget | None = None
) -> config.RateBudget:
    """Create or update the limit `name` (idempotent; safe when two runs race).

    The code equivalent of `prefect gcl create github-api --limit 60
    --slot-decay-per-second 0.016`, which fails when the limit already exists. Without
    the limit, `rate_limit(name)` only logs a warning and does not throttle at all.
    """
    budget = budget or config.rate_budget()
    with get_client(sync_client=True) as client:
        try:
            client.upsert_global_concurrency_limit_by_name(name, budget.limit, budget.per_second)
        except ObjectAlreadyExists:  # another run created it between our read and create
            client.upsert_global_concurrency_limit_by_name(name, budget.limit, budget.per_second)
    return budget


def take_github_slot() -> None:
    """Block until the `github-api` limit grants a slot (call before each request)."""
    rate_limit(config.RATE_LIMIT_NAME)
