"""Step 13 (lesson 13): new day + a star history, one row per repository and day.

With `history` (a SQLite file or a database URL), each repository's stars are kept as one row
per repository and day, written as each outcome arrives: a killed run keeps what it wrote, a
re-run completes the day without duplicates, and a failed repository gets no row that day.
`python -m github_stars serve` runs this flow every day as a Prefect deployment.
"""

from datetime import date, timedelta
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from github_stars.core import (
    AnsweringApi,
    GitHubApi,
    RateLimited,
    RepoResult,
    Settings,
    notify,
    open_history,
    retry_if_transient,
)


@task(
    retries=3,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
    cache_policy=INPUTS - "api" + AnsweringApi(),
    cache_expiration=timedelta(days=1),
    task_run_name="fetch_stats-{github_repo}",
)
def fetch_stats(github_repo: str, api: GitHubApi, day: date) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    api.take_request_slot()  # the run's own limit; one round trip for many waiting tasks
    api.wait_out_pause(github_repo)  # a pause GitHub asked for holds every task
    try:
        return api.get_repo(github_repo)  # the request, and a typed error for each failure
    except RateLimited as refusal:
        api.pause(refusal)  # every task waits as long as GitHub asked; then Prefect retries
        raise


def get_stars(repo_stats: dict[str, Any]) -> int:
    """Task 2: Get the number of stars from GitHub repo statistics"""
    return repo_stats["stargazers_count"]


def outcome(repo: str, stats: PrefectFuture) -> RepoResult:
    """One repository's outcome: its stars, or why it has none."""
    repo_stats = stats.result(raise_on_failure=False)  # a failed run's exception, not raised
    if isinstance(repo_stats, BaseException):
        return RepoResult.failed(repo, repo_stats, attempts=fetch_stats.retries + 1)
    cached = stats.state.name == "Cached"
    return RepoResult(repo, stars=get_stars(repo_stats), stats=repo_stats, cached=cached)


TASK_THREADS = 16  # a bounded pool: a steady stream of task runs, not one thread per repository


@flow(log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=TASK_THREADS))
def show_stars(
    github_repos: list[str], settings: Settings, history: str | None = None
) -> list[RepoResult]:
    """Flow: Show the number of stars that GitHub repos have"""
    backoff = exponential_backoff(backoff_factor=settings.retry_delay)
    fetch = fetch_stats.with_options(retry_delay_seconds=backoff)
    with GitHubApi.open(settings) as api, open_history(history, api.identity) as star_history:
        asked_at = api.now()  # the API's clock: its date is the day of this run's answers
        day = asked_at.date()  # an input of fetch_stats: each day has its own cache entries
        stats_futures = fetch.map(github_repos, api=unmapped(api), day=unmapped(day))
        repo_of = dict(zip(stats_futures, github_repos, strict=True))
        outcomes = {}
        for stats in as_completed(stats_futures):  # in the order they finish
            outcomes[stats] = outcome(repo_of[stats], stats)
            star_history.keep(day, outcomes[stats], asked_at)  # its row, now
            notify(outcomes[stats])  # e.g. the command line's progress display
    results = [outcomes[stats] for stats in stats_futures]  # in input order
    for result in results:
        print(result.line())
    return results
