"""Lesson 06, try it yourself: a pause longer than the run's `max_wait` fails at once."""

from datetime import timedelta
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit

from github_stars.core import (
    ANSWERING_API,
    DEFAULT_REPOS,
    GitHubApi,
    RateBudget,
    RateLimited,
    Settings,
    ensure_rate_limit,
)
from github_stars.lab.checks import check
from github_stars.lab.lesson import lesson_settings
from github_stars.lab.logs import one_line_errors
from github_stars.lab.measure import measure_run
from github_stars.lab.results import start_uncached
from github_stars.servers import start_simulator

REFUSED = "PrefectHQ/prefect"
RETRY_AFTER = 30  # seconds: longer than the run will wait


@task(retries=3, cache_policy=INPUTS - "api" + ANSWERING_API, cache_expiration=timedelta(days=1))
def fetch_stats(github_repo: str, api: GitHubApi) -> dict[str, Any]:
    """Task 1: Fetch the statistics for a GitHub repo"""
    rate_limit("github-api")
    api.wait_out_pause(github_repo)  # a pause GitHub asked for holds every task
    try:
        return api.get_repo(github_repo)
    except RateLimited as refusal:
        api.pause(refusal)  # every task waits as long as GitHub asked; then Prefect retries
        raise


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
    start_uncached()  # nothing cached: the refused repository is asked
    ensure_rate_limit("github-api", RateBudget(limit=50, per_second=50.0))
    sim = start_simulator(latency=0.2, retry_after=RETRY_AFTER, faults={REFUSED: [429]})
    impatient = lesson_settings(sim, max_wait=1)

    with one_line_errors():  # RateLimitWaitTooLong: ... more than the maximum of 1 s
        run = measure_run(sim, show_stars, DEFAULT_REPOS, impatient, return_state=True)
    asked = int((run.requests["repo"] == REFUSED.lower()).sum())
    check(
        f"the run {run.result.name} after {run.seconds:.1f} s instead of waiting "
        f"{RETRY_AFTER} s; {REFUSED} was asked {asked} time",
        run.result.is_failed() and asked == 1 and run.seconds < RETRY_AFTER,
    )
