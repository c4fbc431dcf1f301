"""The global concurrency limit the finished pipeline uses as a GitHub rate limit.

Lessons 03-04 use the seed tutorial's limit `github-api`, one slot per request, created with
`prefect gcl create github-api --limit 60 --slot-decay-per-second 0.016`. The finished
pipeline counts each request as `SLOT_UNITS` slots on a limit of its own,
`config.rate_limit_name()`, which it creates or updates for the API it talks to at the start of
each run (`ensure_rate_limit`). Why slot units: the appendix notebook "Under the hood".
"""

from __future__ import annotations

from prefect import get_client
from prefect.exceptions import ObjectAlreadyExists

from github_stars import config

# Slots per request on the finished pipeline's limit (see `in_slot_units`).
SLOT_UNITS = 100


def in_slot_units(budget: config.RateBudget, units: int = SLOT_UNITS) -> config.RateBudget:
    """The same budget counted in `units` slots per request: limit and decay times `units`.

    Prefect decays slots in whole units (`floor(decay * seconds since the last update)`), and
    each granted slot restarts that clock, dropping the fraction of a slot that had refilled
    since, so a limit that counts one slot per request loses up to a request's worth of refill
    at each grant. Counting each request as `units` slots (`rate_limit(name, occupy=units)`)
    makes that loss `units` times smaller (measured in the appendix notebook).
    """
    if units < 1:
        raise ValueError(f"units must be a positive whole number, got {units}")
    return config.RateBudget(budget.limit * units, budget.per_second * units)


def ensure_rate_limit(name: str, budget: config.RateBudget) -> config.RateBudget:
    """Create or update the global concurrency limit `name` (idempotent; safe when runs race).

    The code equivalent of `prefect gcl create NAME --limit L --slot-decay-per-second D`,
    which fails when the limit already exists. Without the limit, `rate_limit(name)` only
    logs a warning and does not throttle at all.
    """
    with get_client(sync_client=True) as client:
        try:
            client.upsert_global_concurrency_limit_by_name(name, budget.limit, budget.per_second)
        except ObjectAlreadyExists:  # another run created it between our read and create
            client.upsert_global_concurrency_limit_by_name(name, budget.limit, budget.per_second)
    return budget


def ensure_pipeline_rate_limit() -> config.RateBudget:
    """The finished pipeline's limit for the configured API's budget, in slot units."""
    return ensure_rate_limit(config.rate_limit_name(), in_slot_units(config.rate_budget()))
