"""Step 11 (lesson 11): on Dask + every day: the API's day in the cache key, a star history.

The run asks the API for its date (`GitHubApi.now`, the `Date` of `GET /rate_limit`): a new
day fetches again, a re-run the same day is answered from Prefect's cache. With `history` (a
SQLite file or a database URL), each repository's stars are kept as one row per repository
and day, written as each answer arrives, so a killed run keeps what it wrote and a re-run
completes the day without duplicates. A failed repository gets no row that day.
"""

from datetime import date, timedelta
from typing import Any

from prefect import Flow, flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from github_stars.core import (
    ANSWERING_API,
    GitHubApi,
    RateLimited,
    RepoResult,
    Settings,
    notify,
    open_history,
    parse_repo_names,
    retry_if_transient,
)


@task(
    retries=3,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
    cache_policy=INPUTS - "api" + ANSWERING_API,
    cache_expiration=timedelta(days=1),
    task_run_name="fetch_stats-{github_repo}",
)
def fetch_stats(github_repo: str, api: GitHubApi, day: date) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    api.take_request_slot()  # 100 slots of the run's own limit; one round trip for many tasks
    api.wait_out_pause(github_repo)  # a pause GitHub asked for holds every task
    try:
        return api.get_repo(github_repo)
    except RateLimited as refusal:
        api.pause(refusal)  # every task waits as long as GitHub asked; then Prefect retries
        raise


def get_stars(repo_stats: dict[str, Any]) -> int:
    """Task 2: Get the number of stars from GitHub repo statistics"""
    return repo_stats["stargazers_count"]


def outcome(repo: str, stats: PrefectFuture) -> RepoResult:
    """One repository's outcome: its stars, or why it has none."""
    repo_stats = stats.result(raise_on_failure=False)
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
    names = parse_repo_names(github_repos)  # a bad name is an outcome, never a request
    backoff = exponential_backoff(backoff_factor=settings.retry_delay)
    fetch = fetch_stats.with_options(retry_delay_seconds=backoff)
    with GitHubApi.open(settings) as api, open_history(history, api.identity) as star_history:
        asked_at = api.now()  # the API's clock: its date is the day of this run's answers
        day = asked_at.date()  # an input of fetch_stats: each day has its own cache entries
        stats_futures = fetch.map(names.valid, api=unmapped(api), day=unmapped(day))
        repo_of = dict(zip(stats_futures, names.valid, strict=True))
        notify(*names.invalid_results())  # a bad name's outcome is known at once
        fetched = []
        for stats in as_completed(stats_futures):  # in the order they finish
            fetched.append(outcome(repo_of[stats], stats))
            star_history.keep(day, fetched[-1], asked_at)  # its row, now
            notify(fetched[-1])  # e.g. the command line's progress display
    results = names.in_input_order(fetched)
    for result in results:
        print(result.line())
    return results


def on_dask(address: str) -> Flow:
    """`show_stars` with its tasks on the Dask cluster at `address`.

    Run it with `share_pause=True` in its settings, so that a pause one worker process is
    told holds every worker (the pause is then kept on the Prefect server too).
    """
    from prefect_dask import DaskTaskRunner  # imported here: Dask is slow to import

    return show_stars.with_options(task_runner=DaskTaskRunner(address=address))
