"""Step 01 (lesson 01): plain + `@task(retries=3)`: a failed request is tried again."""

from typing import Any

import httpx
from prefect import flow, task

from github_stars.settings import lesson_api_url

GITHUB_API = lesson_api_url()  # the seed: "https://api.github.com"


@task(retries=3)
def fetch_stats(github_repo: str) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
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
    stars = {}
    for repo in github_repos:
        repo_stats = fetch_stats(repo)
        stars[repo] = get_stars(repo_stats)
        print(f"{repo}: {stars[repo]} stars")
    return stars
