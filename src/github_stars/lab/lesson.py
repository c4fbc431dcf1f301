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
