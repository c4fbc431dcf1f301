"""Lesson 07, try it yourself: a flaky API and a longer list, every repository reported."""

from datetime import timedelta
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit
from prefect.futures import PrefectFuture

from github_stars.core import (
    ANSWERING_API,
    GitHubApi,
    RateBudget,
    RateLimited,
    RepoResult,
    Settings,
    ensure_rate_limit,
    parse_repo_names,
)
from github_stars.lab.checks import check
from github_stars.lab.lesson import lesson_settings
from github_stars.lab.logs import one_line_errors
from github_stars.lab.results import start_uncached
from github_stars.reports.results import results_frame
from github_stars.servers import start_simulator
from github_stars.simulator.snapshot import snapshot_repo_names
from github_stars.steps import paused


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


def get_stars(repo_stats: dict[str, Any]) -> int:
    """Task 2: Get the number of stars from GitHub repo statistics"""
    return repo_stats["stargazers_count"]


def outcome(repo: str, stats: PrefectFuture) -> RepoResult:
    """One repository's outcome: its stars, or why it has none."""
    repo_stats = stats.result(raise_on_failure=False)
    if isinstance(repo_stats, BaseException):
        return RepoResult.failed(repo, repo_stats, attempts=fetch_stats.retries + 1)
    cached = stats.state.name == "Cached"
    return RepoResult(repo, stars=get_stars(repo_stats), stats=repo_stats, cached=cached)


@flow(log_prints=True)
def show_stars(github_repos: list[str], settings: Settings) -> list[RepoResult]:
    """Flow: Show the number of stars that GitHub repos have"""
    names = parse_repo_names(github_repos)  # a bad name is an outcome, never a request
    with GitHubApi.open(settings) as api:
        stats_futures = fetch_stats.map(names.valid, api=unmapped(api))
        fetched = [
            outcome(repo, stats) for repo, stats in zip(names.valid, stats_futures, strict=True)
        ]
    results = names.in_input_order(fetched)
    for result in results:
        print(result.line())
    return results


if __name__ == "__main__":
    start_uncached()  # nothing cached by an earlier run
    ensure_rate_limit("github-api", RateBudget(limit=50, per_second=50.0))
    sim = start_simulator(latency=0.1, failure_rate=0.3, seed=3)  # 30% answered 5xx
    settings = lesson_settings(sim)
    REPOS = [*snapshot_repo_names()[300:320], "not a name", "owner/"]

    with one_line_errors():  # a repository refused 4 times in a row: its error in one line
        table = results_frame(show_stars(REPOS, settings))
        step = paused.show_stars(REPOS, settings, return_state=True)
    print(table[["repo", "stars", "error"]].to_string())

    errors = table["error"].dropna()
    gave_up = errors.str.endswith("(gave up after 4 attempts)").sum()
    check(
        f"all {len(table)} names reported: {table['stars'].notna().sum()} star counts, "
        f"{len(errors)} errors (2 bad names, {gave_up} refused by the flaky API 4 times in a "
        f"row); step 06 on the same list: {step.name}, no star count",
        len(table) == len(REPOS) and len(errors) == 2 + gave_up and step.is_failed(),
    )
