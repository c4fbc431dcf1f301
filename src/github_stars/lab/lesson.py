"""The lessons' set-up helper: the pipeline's settings for the simulator a lesson uses.

The edge of a lesson, as the command line is the edge of a run: the settings are resolved
here, once, and passed to the flow (`show_stars(repos, settings)`).
"""

from __future__ import annotations

from typing import Any

from github_stars.settings import Settings
from github_stars.simulator import Simulator

LESSON_RETRY_DELAY = 0.1  # seconds: lessons keep retries short so they run quickly


def lesson_settings(sim: Simulator, **changes: Any) -> Settings:
    """Settings for the pipeline against `sim`, with short retry delays and `changes`."""
    settings = Settings.from_environment().with_changes(
        api_url=sim.url, retry_delay=LESSON_RETRY_DELAY
    )
    return settings.with_changes(**changes) if changes else settings


def set_github_api_limit(limit: int = 50, per_second: float = 50.0) -> None:
    """Create or update the seed's rate limit `github-api` (lesson 03), by default with a
    budget the simulator accepts: lessons run in any order, and steps 03-10 take its slots."""
    from github_stars.core import RateBudget, ensure_rate_limit

    ensure_rate_limit("github-api", RateBudget(limit=limit, per_second=per_second))
