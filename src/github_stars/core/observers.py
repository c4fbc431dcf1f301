"""Who watches a run: an observer (e.g. the command line's progress display) set for the
calling context, told of each repository's outcome as it finishes.

    with observing(display):
        show_stars(names, settings)

The observer lives in a context variable, not in the flow's parameters (Prefect stores those)
nor in a module global: each run's caller sees only its own run's outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from github_stars.core.api import GitHubApi
    from github_stars.core.repo_result import RepoResult


class RunObserver(Protocol):
    """Told of the run's API when it opens (for its request counts), then of each outcome."""

    def opened(self, api: GitHubApi) -> None: ...

    def finished(self, result: RepoResult) -> None: ...


_observer: ContextVar[RunObserver | None] = ContextVar("github_stars_observer", default=None)


@contextmanager
def observing(observer: RunObserver) -> Iterator[RunObserver]:
    """Runs started inside the block (in this context) tell `observer` how they go."""
    token = _observer.set(observer)
    try:
        yield observer
    finally:
        _observer.reset(token)


def _tell(event: str, *args: object) -> None:
    observer = _observer.get()
    if observer is None:
        return
    try:
        getattr(observer, event)(*args)
    except Exception:  # a display must never cost a result
        logging.getLogger(__name__).exception("observer %r failed", observer)


def notify(*results: RepoResult) -> None:
    """Tell the observer of this context, if any, that each of `results` is in."""
    for result in results:
        _tell("finished", result)


def notify_opened(api: GitHubApi) -> None:
    """Tell the observer of this context, if any, which API the run talks to."""
    _tell("opened", api)
