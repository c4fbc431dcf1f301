"""The token a run's requests carry, in each process the run reaches: `run_token`.

`settings.token_for` holds the rule (only the API configured where the command started, over
HTTPS unless loopback, never the bundled simulator); this module applies it to a run's
`Settings` and says on the run's log, in one line, when a token set in the environment is not
sent. Whether a loopback API is the bundled simulator is asked of it (`api_identity`, without
the token) only when the rule would otherwise send the token there.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from github_stars.settings import SIMULATOR_SERVICE, Settings, is_loopback_host, token_for


def is_bundled_simulator(settings: Settings) -> bool:
    """Whether the API of `settings` says it is the bundled simulator (its health route)."""
    from github_stars.core.api import api_identity  # api.py imports us

    return api_identity(settings).startswith(f"{SIMULATOR_SERVICE}@")


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """The Prefect run's logger (shown in the UI and on the console), else this module's."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def run_token(settings: Settings) -> str | None:
    """The token for this run's requests to `settings.api_url` from this process, or None
    (then, if the environment has one, why it is withheld, once, on the run's log)."""
    choice = token_for(settings.api_url)
    loopback = is_loopback_host(urlsplit(settings.api_url).hostname or "")
    if choice.token and loopback and is_bundled_simulator(settings):
        choice = token_for(settings.api_url, simulator=True)
    if choice.withheld:
        run_logger().warning(choice.withheld)
    return choice.token
