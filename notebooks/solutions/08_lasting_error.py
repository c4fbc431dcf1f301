"""Lesson 08, try it yourself: a server error that lasts, retried with backoff until given up."""

from datetime import timedelta
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import rate_limit
from prefect.futures import PrefectFuture
from prefect.tasks import exponential_backoff

from github_stars.core import (
    ANSWERING_API,
    GitHubApi,
    RateBudget,
    RateLimited,
    RepoResult,
    Settings,
    ensure_rate_limit,
    parse_repo_names,
    retry_if_transient,
)
from github_stars.lab.checks import check
from github_stars.lab.lesson import lesson_settings
from github_stars.lab.logs import one_line_errors
from github_stars.lab.measure import measure_run, retry_gaps
from github_stars.lab.results import start_uncached
from github_stars.servers import start_simulator

FLAKY = "pydantic/pydantic"


@task(
    retries=3,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
    cache_policy=INPUTS - "api" + ANSWERING_API,
    cache_expiration=timedelta(days=1),
)
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
    backoff = exponential_backoff(backoff_factor=settings.retry_delay)
    fetch = fetch_stats.with_options(retry_delay_seconds=backoff)
    with GitHubApi.open(settings) as api:
        stats_futures = fetch.map(names.valid, api=unmapped(api))
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
    sim = start_simulator(latency=0.1, faults={FLAKY: [503] * 5})
    quicker = lesson_settings(sim, retry_delay=0.2)

    with one_line_errors():  # the error of the last attempt, in one line
        run = measure_run(sim, show_stars, [FLAKY], quicker)
    (result,) = run.result
    gaps = list(retry_gaps(run.requests)["gap"])
    backoff = [quicker.retry_delay * 2**n for n in range(3)]  # 0.2, 0.4, 0.8 s
    check(
        f"{FLAKY} was asked {len(run.requests)} times, retried after "
        + ", ".join(f"{gap:.2f}" for gap in gaps)
        + " s (backoff "
        + ", ".join(f"{delay:g}" for delay in backoff)
        + f" s, jittered): {result.line()}",
        len(run.requests) == 4
        and all(gap >= 0.6 * delay for gap, delay in zip(gaps, backoff, strict=True))
        and (result.error or "").endswith("(gave up after 4 attempts)"),
    )
