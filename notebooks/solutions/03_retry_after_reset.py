"""Lesson 03, try it yourself: a 403 with `x-ratelimit-remaining: 0` waits until the reset."""

import time
from typing import Any

from prefect import flow, task
from prefect.concurrency.sync import rate_limit

from github_stars.client import fetch_repo
from github_stars.errors import RateLimited
from github_stars.lab.checks import check, describe_statuses
from github_stars.lab.measure import measure_run, retry_gaps
from github_stars.simulator import start_simulator


@task(retries=3)
def fetch_stats(github_repo: str) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    rate_limit("github-api")
    try:
        return fetch_repo(github_repo)
    except RateLimited as refusal:
        time.sleep(refusal.wait_seconds)  # until x-ratelimit-reset, for this 403
        raise


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
    RESET_IN = 2  # the simulator's 403 says: x-ratelimit-remaining 0, reset RESET_IN s ahead
    sim = start_simulator()
    sim.configure(latency=0.05, retry_after=RESET_IN, faults={"PrefectHQ/prefect": [403]})
    run = measure_run(sim, show_stars, ["PrefectHQ/prefect"])
    gaps = retry_gaps(run.requests)
    waited = ", ".join(f"{gap:.2f}" for gap in gaps["gap"])
    check(
        f"the retry came {waited} s after the 403, once the reset ({RESET_IN} s or more "
        f"ahead) had passed: {describe_statuses(run.requests)}",
        list(run.requests["status"]) == [403, 200] and (gaps["gap"] >= RESET_IN - 0.1).all(),
    )
