"""Step 05 (lesson 05): cached + the API as a value: going live without mixing answers.

The flow takes the run's `Settings` (the API's address, timeouts; resolved where the run
starts) and opens a `GitHubApi` for the run, which every task receives. The API's identity is
in the cache key (`ANSWERING_API`); the token is read where the request is made, so it is in
no parameter, key or result.
"""

from datetime import timedelta
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit

from github_stars.core import ANSWERING_API, GitHubApi, Settings


@task(retries=3, cache_policy=INPUTS - "api" + ANSWERING_API, cache_expiration=timedelta(days=1))
def fetch_stats(github_repo: str, api: GitHubApi) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    rate_limit("github-api")
    return api.get_repo(github_repo)


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
