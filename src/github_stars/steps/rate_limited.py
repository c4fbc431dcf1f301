"""Step 03 (lesson 03): concurrent + `rate_limit("github-api")`: never faster than the budget.

The limit itself is created once, outside the code, as in the seed tutorial:
`prefect gcl create github-api --limit 60 --slot-decay-per-second 0.016`.
"""

from typing import Any

import httpx
from prefect import flow, task
from prefect.concurrency.sync import rate_limit

from github_stars.settings import lesson_api_url

GITHUB_API = lesson_api_url()  # the seed: "https://api.github.com"


@task(retries=3)
def fetch_stats(github_repo: str) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    rate_limit("github-api")
    api_response = httpx.get(f"{GITHUB_API}/repos/{github_repo}")
    api_response.raise_for_status()  # Force a retry if not a 2xx status code
    return api_response.json()


@task
def get_stars(repo_stats: dict[str, Any]) -> int:
    """Task 2: Get the number of stars from GitHub repo statistics"""
    return repo_stats["stargazers_count"]


@flow(log_prints=True)
def show_stars(github_repos: list[str]) -> dict[str, int]:
    """Flow: Show the number of stars that GitHub repos have"""
    stats_futures = fetch_stats.map(github_repos)
    stars = dict(zip(github_repos, get_stars.map(stats_futures).result(), strict=True))
    for repo in github_repos:
        print(f"{repo}: {stars[repo]} stars")
    return stars
