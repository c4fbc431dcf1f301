"""Step 2 (lesson 02): retries + `.map()`: the requests run concurrently."""

from __future__ import annotations

from typing import Any

from prefect import flow, task

from github_stars.client import fetch_repo


@task(retries=3)
def fetch_stats(github_repo: str) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
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
