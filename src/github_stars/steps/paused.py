"""Step 07 (lesson 07): one client + GitHub's `Retry-After` honoured by every task.

A refusal one task gets (`429`/`403` with `Retry-After`, or `x-ratelimit-reset`) pauses every
task of the run until the time GitHub named; then Prefect retries the refused task.
"""

from datetime import timedelta
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit

from github_stars.core import AnsweringApi, GitHubApi, RateLimited, Settings


@task(retries=3, cache_policy=INPUTS - "api" + AnsweringApi(), cache_expiration=timedelta(days=1))
def fetch_stats(github_repo: str, api: GitHubApi) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    rate_limit("github-api")
    api.wait_out_pause(github_repo)  # a pause GitHub asked for holds every task
    try:
        return api.get_repo(github_repo)  # the request, and a typed error for each failure
    except RateLimited as refusal:
        api.pause(refusal)  # every task waits as long as GitHub asked; then Prefect retries
        raise


@task
def get_stars(repo_stats: dict[str, Any]) -> int:
    """Task 2: Get the number of stars from GitHub repo statistics"""
    return repo_stats["stargazers_count"]


@flow(log_prints=True)
def show_stars(github_repos: list[str], settings: Settings) -> dict[str, int]:
    """Flow: Show the number of stars that GitHub repos have"""
    with GitHubApi.open(settings) as api:
        stats_futures = fetch_stats.map(github_repos, api=unmapped(api))
        stars = dict(zip(github_repos, get_stars.map(stats_futures).result(), strict=True))
    for repo in github_repos:
        print(f"{repo}: {stars[repo]} stars")
    return stars
