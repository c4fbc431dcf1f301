"""Step 06 (lesson 06): live + one API client per run: the cache key names the API that answers.

The flow opens the run's `GitHubApi` from its settings (one HTTP client for every task, which
sends the token where the requests are made) and gives it to every task. `api.get_repo` is the
request: the repository's JSON, or a typed error saying which failure it was. The cache key is
the task's inputs without the `api` value, plus the identity of the API (`AnsweringApi`): a
changed timeout fetches nothing again, another API fetches everything.
"""

from datetime import timedelta
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit

from github_stars.core import AnsweringApi, GitHubApi, Settings


@task(retries=3, cache_policy=INPUTS - "api" + AnsweringApi(), cache_expiration=timedelta(days=1))
def fetch_stats(github_repo: str, api: GitHubApi) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    rate_limit("github-api")
    return api.get_repo(github_repo)  # the request, and a typed error for each failure


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
