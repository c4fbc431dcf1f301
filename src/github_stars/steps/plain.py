"""Step 00 (lesson 00): the seed's plain pipeline, one request after another.

The seed asks `https://api.github.com`; the steps ask the lessons' API (`GITHUB_API_URL`, else
the lab's local simulator): the address is the only change from the seed's code.
"""

from typing import Any

import httpx
from prefect import flow, task

from github_stars.settings import lesson_api_url

GITHUB_API = lesson_api_url()  # the seed: "https://api.github.com"


@task
def fetch_stats(github_repo: str) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    api_response = httpx.get(f"{GITHUB_API}/repos/{github_repo}")
    api_response.raise_for_status()
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
