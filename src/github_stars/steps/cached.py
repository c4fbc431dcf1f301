"""Step 4 (lesson 04): rate limited + caching: a repository is fetched at most once a day.

The limit itself is created once, outside the code, as in the seed tutorial:
`prefect gcl create github-api --limit 60 --slot-decay-per-second 0.016`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import flow, task
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit

from github_stars.client import fetch_repo


@task(retries=3, cache_policy=INPUTS, cache_expiration=timedelta(days=1))
def fetch_stats(github_repo: str) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    rate_limit("github-api")
    return fetch_repo(github_repo)


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
