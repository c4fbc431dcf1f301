"""Step 09 (lesson 09): outcomes + retry only what can succeed, with backoff.

A `404` or a bad name is tried once; `5xx` answers, timeouts and rate limits are retried after
a growing, jittered delay (`settings.retry_delay`, doubled each time).
"""

from datetime import timedelta
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit
from prefect.futures import PrefectFuture
from prefect.tasks import exponential_backoff

from github_stars.core import (
    AnsweringApi,
    GitHubApi,
    RateLimited,
    RepoResult,
    Settings,
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
def fetch_stats(github_repo: str, api: GitHubApi) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    rate_limit("github-api")
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


@flow(log_prints=True)
def show_stars(github_repos: list[str], settings: Settings) -> list[RepoResult]:
    """Flow: Show the number of stars that GitHub repos have"""
    backoff = exponential_backoff(backoff_factor=settings.retry_delay)
    fetch = fetch_stats.with_options(retry_delay_seconds=backoff)
    with GitHubApi.open(settings) as api:
        stats_futures = fetch.map(github_repos, api=unmapped(api))
        results = [
            outcome(repo, stats) for repo, stats in zip(github_repos, stats_futures, strict=True)
        ]
    for result in results:
        print(result.line())
    return results
