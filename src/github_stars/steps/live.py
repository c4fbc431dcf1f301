"""Step 05 (lesson 05): cached + the run's settings as a flow parameter: any API, no code edit.

The API's address is no longer a constant in the code: the flow takes the run's `Settings`
(resolved where the run starts) and gives them to every task. The settings are an input of
`fetch_stats`, so they are part of its cache key: one API's answers are never served for another.
"""

from datetime import timedelta
from typing import Any

import httpx
from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit

from github_stars.core import Settings


@task(retries=3, cache_policy=INPUTS, cache_expiration=timedelta(days=1))
def fetch_stats(github_repo: str, settings: Settings) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    rate_limit("github-api")
    api_response = httpx.get(f"{settings.api_url}/repos/{github_repo}", timeout=settings.timeout)
    api_response.raise_for_status()  # Force a retry if not a 2xx status code
    return api_response.json()


@task
def get_stars(repo_stats: dict[str, Any]) -> int:
    """Task 2: Get the number of stars from GitHub repo statistics"""
    return repo_stats["stargazers_count"]


@flow(log_prints=True)
def show_stars(github_repos: list[str], settings: Settings) -> dict[str, int]:
    """Flow: Show the number of stars that GitHub repos have"""
    stats_futures = fetch_stats.map(github_repos, settings=unmapped(settings))
    stars = dict(zip(github_repos, get_stars.map(stats_futures).result(), strict=True))
    for repo in github_repos:
        print(f"{repo}: {stars[repo]} stars")
    return stars
