"""Lesson 04 · Try it yourself: a cache entry that expires after 5 seconds.

Run 1 fetches and stores each repository's statistics; run 2, at once, finds them valid and
asks nothing; run 3, 6 seconds later, finds them expired and fetches again.
"""

import time
from datetime import timedelta
from typing import Any

import httpx
from prefect import flow, task
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit

from github_stars.core import RateBudget, ensure_rate_limit
from github_stars.lab.checks import check
from github_stars.lab.measure import measure_run
from github_stars.lab.results import start_uncached
from github_stars.settings import DEFAULT_REPOS
from github_stars.simulator import start_simulator

sim = start_simulator()
sim.configure(latency=0.1)
GITHUB_API = sim.url  # the seed: "https://api.github.com"


@task(retries=3, cache_policy=INPUTS, cache_expiration=timedelta(seconds=5))
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


start_uncached()  # a fresh cache: entries stored earlier are valid for a day
ensure_rate_limit("github-api", RateBudget(limit=50, per_second=50.0))
runs = [measure_run(sim, show_stars, DEFAULT_REPOS) for _ in range(2)]  # at once
time.sleep(6)  # longer than the 5 s expiration
runs.append(measure_run(sim, show_stars, DEFAULT_REPOS))
requests = [len(run.requests) for run in runs]
check(
    f"fetched, cached, expired and fetched again: {requests[0]}, {requests[1]} and "
    f"{requests[2]} requests",
    requests == [3, 0, 3],
)
