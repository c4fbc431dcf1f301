"""The finished pipeline: lesson 04's flow plus per-repository outcomes (lesson 05).

One task run per repository: `fetch_stats` is the task; `get_stars` is a plain function the
flow calls on each result, as a task it would double the task runs for one dictionary lookup.

One failure never loses the others: bad names are reported before any request, duplicates
are fetched once, and every repository ends as a `RepoResult` with its stars or its error.
An observer (`observe`, e.g. the CLI's progress display) hears of each one as it finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from prefect import flow
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from github_stars import config
from github_stars.errors import GitHubStarsError
from github_stars.rate_limiting import ensure_pipeline_rate_limit
from github_stars.repo_names import parse_repo_names
from github_stars.tasks import fetch_stats, get_stars


@dataclass
class RepoResult:
    """One repository's outcome: its stats and stars, or the reason it failed."""

    repo: str
    stars: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        """`owner/repo: N stars` or `owner/repo: error: <reason>`."""
        if self.ok:
            return f"{self.repo}: {self.stars} stars"
        return f"{self.repo}: error: {self.error}"


class RunObserver(Protocol):
    """Told how many repositories a run has, then of each outcome as it finishes."""

    def started(self, total: int) -> None: ...

    def finished(self, result: RepoResult) -> None: ...


_observers: list[RunObserver] = []


@contextmanager
def observe(observer: RunObserver) -> Iterator[RunObserver]:
    """Tell `observer` about every `show_stars` run in this process inside the block."""
    _observers.append(observer)
    try:
        yield observer
    finally:
        _observers.remove(observer)


def _tell(event: str, *args: Any) -> None:
    for observer in list(_observers):
        try:
            getattr(observer, event)(*args)
        except Exception:  # a display must never cost a result
            logging.getLogger(__name__).exception("observer %r failed", observer)


def _error_result(repo: str, exc: BaseException) -> RepoResult:
    kind = exc.kind if isinstance(exc, GitHubStarsError) else type(exc).__name__
    reason = str(exc)
    prefix = f"{repo}: "
    if reason.lower().startswith(prefix.lower()):  # our errors start with the name
        reason = reason[len(prefix) :]
    if getattr(exc, "retryable", False):  # retried until the budget was spent
        reason += f" (gave up after {fetch_stats.retries + 1} attempts)"
    return RepoResult(repo=repo, error=reason or kind, error_kind=kind)


def _outcome(repo: str, stats_future: PrefectFuture) -> RepoResult:
    stats = stats_future.result(raise_on_failure=False)
    if isinstance(stats, BaseException):
        return _error_result(repo, stats)
    stars = get_stars(stats)
    return RepoResult(
        repo=repo, stars=stars, stats=stats, cached=stats_future.state.name == "Cached"
    )


# Threads for the flow's task runs. Prefect's default pool is unbounded: a run of N
# repositories starts N threads at once, each creating its task run and asking for a
# rate-limit slot, so the first request waits for all of that. A bounded pool runs them as a
# steady stream; the budget, not the threads, sets the pace (benchmarks/README.md, "Profile").
TASK_THREADS = 16


@flow(log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=TASK_THREADS))
def show_stars(
    github_repos: list[str] = config.DEFAULT_REPOS, max_wait: float | None = None
) -> list[RepoResult]:
    """Flow: Show the number of stars that GitHub repos have; one failure never loses the others.

    Returns one `RepoResult` per distinct input, in input order. `max_wait`: the longest
    rate-limit pause to wait out (default `GITHUB_STARS_MAX_WAIT`, else 60 s).
    """
    parsed = parse_repo_names(github_repos)
    for raw, problem in parsed.invalid.items():  # reported before any request is made
        print(f"Skipping {raw!r}: {problem}")
    for name in parsed.duplicates:
        print(f"Skipping {name!r}: listed more than once, fetched once")
    if parsed.valid:
        ensure_pipeline_rate_limit()
    _tell("started", len(parsed.valid) + len(parsed.invalid))
    invalid = {
        raw: RepoResult(repo=raw, error=problem, error_kind="invalid name")
        for raw, problem in parsed.invalid.items()
    }
    for result in invalid.values():
        _tell("finished", result)
    stats_futures = fetch_stats.map(parsed.valid, max_wait=max_wait)
    repos = dict(zip(stats_futures, parsed.valid, strict=True))
    fetched: dict[str, RepoResult] = {}
    for stats in as_completed(list(stats_futures)):  # in the order they finish
        name = repos[stats]
        fetched[name.lower()] = outcome = _outcome(name, stats)
        _tell("finished", outcome)
    results: list[RepoResult] = []
    for raw in map(str, github_repos):
        if raw in invalid:
            results.append(invalid.pop(raw))
        elif raw.strip().lower() in fetched:
            results.append(fetched.pop(raw.strip().lower()))
    for result in results:
        print(result.line())
    if not github_repos:
        print("No repositories given.")
    return results
