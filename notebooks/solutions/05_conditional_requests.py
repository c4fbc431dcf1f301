"""Lesson 05, try it yourself: conditional requests, a setting of the same `GitHubApi`."""

import os
import tempfile
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit

from github_stars.core import (
    ANSWERING_API,
    DEFAULT_REPOS,
    GitHubApi,
    RateBudget,
    Settings,
    ensure_rate_limit,
)
from github_stars.lab.checks import check, describe_statuses
from github_stars.lab.lesson import lesson_settings
from github_stars.lab.measure import measure_run
from github_stars.lab.results import fresh_results
from github_stars.servers import start_simulator

TOKEN = "ghp_lesson05MadeUpToken"  # not a real token: the simulator accepts any


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


if __name__ == "__main__":
    ensure_rate_limit("github-api", RateBudget(limit=50, per_second=50.0))
    sim = start_simulator(latency=0.1)
    settings = lesson_settings(sim)

    runs = []
    with tempfile.TemporaryDirectory() as folder, patch.dict(os.environ, GITHUB_TOKEN=TOKEN):
        conditional = settings.with_changes(http_cache=folder)
        for _ in range(2):
            with fresh_results():  # Prefect's cache would answer without a request
                runs.append(measure_run(sim, show_stars, DEFAULT_REPOS, conditional))
    statuses = [sorted(run.requests["status"]) for run in runs]
    check(
        f"run 1: {describe_statuses(runs[0].requests)}; run 2: "
        f"{describe_statuses(runs[1].requests)} (unchanged, free with a token), "
        "the same star counts",
        statuses == [[200] * 3, [304] * 3] and runs[0].result == runs[1].result,
    )
