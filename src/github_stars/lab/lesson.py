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


def shell_uses_this_kernel() -> str:
    """Make this kernel's `!` commands use its Python environment and its Prefect server
    (`PREFECT_API_URL`, which a `prefect` command or a script reads); returns its address."""
    from github_stars.lab.measure import connect_to_prefect
    from github_stars.settings import share_with_shell_commands

    api_url = connect_to_prefect()
    share_with_shell_commands(api_url)
    return api_url
