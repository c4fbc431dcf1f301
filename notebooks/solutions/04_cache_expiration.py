"""Lesson 04, try it yourself: a cache entry that expires after 5 seconds."""

import time
from datetime import timedelta
from typing import Any

from prefect import flow, task
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit

from github_stars.client import fetch_repo
from github_stars.config import DEFAULT_REPOS, RateBudget
from github_stars.lab.checks import check, describe_statuses
from github_stars.lab.measure import measure_run
from github_stars.lab.results import start_uncached
from github_stars.rate_limiting import ensure_rate_limit
from github_stars.simulator import start_simulator


@task(retries=3, cache_policy=INPUTS, cache_expiration=timedelta(seconds=5))
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


if __name__ == "__main__":
    start_uncached()  # nothing cached by an earlier run
    ensure_rate_limit("github-api", RateBudget(limit=50, per_second=50.0))
    sim = start_simulator()
    sim.configure(latency=0.1)
    runs = [measure_run(sim, show_stars, DEFAULT_REPOS) for _ in range(2)]  # at once
    time.sleep(6)  # longer than the 5 s expiration
    runs.append(measure_run(sim, show_stars, DEFAULT_REPOS))
    seen = [describe_statuses(run.requests) for run in runs]
    check(
        f"fetched, cached, expired and fetched again: {'; '.join(seen)}",
        [len(run.requests) for run in runs] == [3, 0, 3],
    )
