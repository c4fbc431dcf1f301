"""Step 08 (lesson 08): paused + every repository reported: one failure never loses the others.

Each repository ends as a `RepoResult`, its stars or its error: the flow reads each task run's
final state (`outcome`) instead of letting the first failure end the run, and each task run is
named after its repository. `get_stars` is a plain function the flow calls on each answer.
"""

from datetime import timedelta
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit
from prefect.futures import PrefectFuture

from github_stars.core import AnsweringApi, GitHubApi, RateLimited, RepoResult, Settings


@task(
    retries=3,
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
    with GitHubApi.open(settings) as api:
        stats_futures = fetch_stats.map(github_repos, api=unmapped(api))
        results = [
            outcome(repo, stats) for repo, stats in zip(github_repos, stats_futures, strict=True)
        ]
    for result in results:
        print(result.line())
    return results
