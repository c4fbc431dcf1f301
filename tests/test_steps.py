"""The lessons' steps: the seed tutorial's pipeline, each step the previous plus one feature,
and the finished pipeline is the last step."""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect

import pytest

from github_stars import pipeline
from github_stars.core import RateBudget, ensure_rate_limit
from github_stars.simulator.snapshot import snapshot_stars
from github_stars.steps import STEPS

PART_ONE = STEPS[: STEPS.index("cached") + 1]  # the seed tutorial: show_stars(repos)

# What each step adds to the one before: the code lines removed and added (stripped of
# indentation; module docstrings aside).
FEATURES = {
    "retries": (
        {
            "@task",
            "api_response.raise_for_status()",
        },
        {
            "@task(retries=3)",
            "api_response.raise_for_status()  # Force a retry if not a 2xx status code",
        },
    ),
    "concurrent": (
        {
            "stars = {}",
            "repo_stats = fetch_stats(repo)",
            "stars[repo] = get_stars(repo_stats)",
        },
        {
            "stats_futures = fetch_stats.map(github_repos)",
            "stars = dict(zip(github_repos, get_stars.map(stats_futures).result(), strict=True))",
        },
    ),
    "rate_limited": (
        set(),
        {
            "from prefect.concurrency.sync import rate_limit",
            'rate_limit("github-api")',
        },
    ),
    "cached": (
        {
            "@task(retries=3)",
        },
        {
            "from datetime import timedelta",
            "from prefect.cache_policies import INPUTS",
            "@task(retries=3, cache_policy=INPUTS, cache_expiration=timedelta(days=1))",
        },
    ),
    "live": (
        {
            "from prefect import flow, task",
            "from github_stars.settings import lesson_api_url",
            'GITHUB_API = lesson_api_url()  # the seed: "https://api.github.com"',
            "def fetch_stats(github_repo: str) -> dict[str, Any]:",
            'api_response = httpx.get(f"{GITHUB_API}/repos/{github_repo}")',
            "def show_stars(github_repos: list[str]) -> dict[str, int]:",
            "stats_futures = fetch_stats.map(github_repos)",
        },
        {
            "from prefect import flow, task, unmapped",
            "from github_stars.core import Settings",
            "def fetch_stats(github_repo: str, settings: Settings) -> dict[str, Any]:",
            'api_response = httpx.get(f"{settings.api_url}/repos/{github_repo}", timeout=settings.timeout)',
            "def show_stars(github_repos: list[str], settings: Settings) -> dict[str, int]:",
            "stats_futures = fetch_stats.map(github_repos, settings=unmapped(settings))",
        },
    ),
    "one_client": (
        {
            "import httpx",
            "from github_stars.core import Settings",
            "@task(retries=3, cache_policy=INPUTS, cache_expiration=timedelta(days=1))",
            "def fetch_stats(github_repo: str, settings: Settings) -> dict[str, Any]:",
            'api_response = httpx.get(f"{settings.api_url}/repos/{github_repo}", timeout=settings.timeout)',
            "api_response.raise_for_status()  # Force a retry if not a 2xx status code",
            "return api_response.json()",
            "stats_futures = fetch_stats.map(github_repos, settings=unmapped(settings))",
        },
        {
            "from github_stars.core import AnsweringApi, GitHubApi, Settings",
            '@task(retries=3, cache_policy=INPUTS - "api" + AnsweringApi(), cache_expiration=timedelta(days=1))',
            "def fetch_stats(github_repo: str, api: GitHubApi) -> dict[str, Any]:",
            "return api.get_repo(github_repo)  # the request, and a typed error for each failure",
            "with GitHubApi.open(settings) as api:",
            "stats_futures = fetch_stats.map(github_repos, api=unmapped(api))",
        },
    ),
    "paused": (
        {
            "from github_stars.core import AnsweringApi, GitHubApi, Settings",
        },
        {
            "from github_stars.core import AnsweringApi, GitHubApi, RateLimited, Settings",
            "api.wait_out_pause(github_repo)  # a pause GitHub asked for holds every task",
            "try:",
            "except RateLimited as refusal:",
            "api.pause(refusal)  # every task waits as long as GitHub asked; then Prefect retries",
            "raise",
        },
    ),
    "outcomes": (
        {
            "from github_stars.core import AnsweringApi, GitHubApi, RateLimited, Settings",
            '@task(retries=3, cache_policy=INPUTS - "api" + AnsweringApi(), cache_expiration=timedelta(days=1))',
            "@task",
            "def show_stars(github_repos: list[str], settings: Settings) -> dict[str, int]:",
            "stars = dict(zip(github_repos, get_stars.map(stats_futures).result(), strict=True))",
            "for repo in github_repos:",
            'print(f"{repo}: {stars[repo]} stars")',
            "return stars",
        },
        {
            "from prefect.futures import PrefectFuture",
            "from github_stars.core import AnsweringApi, GitHubApi, RateLimited, RepoResult, Settings",
            "@task(",
            "retries=3,",
            'cache_policy=INPUTS - "api" + AnsweringApi(),',
            "cache_expiration=timedelta(days=1),",
            'task_run_name="fetch_stats-{github_repo}",',
            ")",
            "def outcome(repo: str, stats: PrefectFuture) -> RepoResult:",
            '"""One repository\'s outcome: its stars, or why it has none."""',
            "repo_stats = stats.result(raise_on_failure=False)  # a failed run's exception, not raised",
            "if isinstance(repo_stats, BaseException):",
            "return RepoResult.failed(repo, repo_stats, attempts=fetch_stats.retries + 1)",
            'cached = stats.state.name == "Cached"',
            "return RepoResult(repo, stars=get_stars(repo_stats), stats=repo_stats, cached=cached)",
            "def show_stars(github_repos: list[str], settings: Settings) -> list[RepoResult]:",
            "results = [",
            "outcome(repo, stats) for repo, stats in zip(github_repos, stats_futures, strict=True)",
            "]",
            "for result in results:",
            "print(result.line())",
            "return results",
        },
    ),
    "selective_retries": (
        {
            "from github_stars.core import AnsweringApi, GitHubApi, RateLimited, RepoResult, Settings",
            "stats_futures = fetch_stats.map(github_repos, api=unmapped(api))",
        },
        {
            "from prefect.tasks import exponential_backoff",
            "from github_stars.core import (",
            "AnsweringApi,",
            "GitHubApi,",
            "RateLimited,",
            "RepoResult,",
            "Settings,",
            "retry_if_transient,",
            ")",
            "retry_jitter_factor=0.5,",
            "retry_condition_fn=retry_if_transient,",
            "backoff = exponential_backoff(backoff_factor=settings.retry_delay)",
            "fetch = fetch_stats.with_options(retry_delay_seconds=backoff)",
            "stats_futures = fetch.map(github_repos, api=unmapped(api))",
        },
    ),
    "at_scale": (
        {
            "from prefect.futures import PrefectFuture",
            "@flow(log_prints=True)",
            "results = [",
            "outcome(repo, stats) for repo, stats in zip(github_repos, stats_futures, strict=True)",
            "]",
        },
        {
            "from prefect.futures import PrefectFuture, as_completed",
            "from prefect.task_runners import ThreadPoolTaskRunner",
            "notify,",
            "TASK_THREADS = 16  # a bounded pool: a steady stream of task runs, not one thread per repository",
            "@flow(log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=TASK_THREADS))",
            "repo_of = dict(zip(stats_futures, github_repos, strict=True))",
            "outcomes = {}",
            "for stats in as_completed(stats_futures):  # in the order they finish",
            "outcomes[stats] = outcome(repo_of[stats], stats)",
            "notify(outcomes[stats])  # e.g. the command line's progress display",
            "results = [outcomes[stats] for stats in stats_futures]  # in input order",
        },
    ),
    "batched": (
        {
            "from prefect.concurrency.sync import rate_limit",
            'rate_limit("github-api")',
        },
        {
            "api.take_request_slot()  # the run's own limit; one round trip for many waiting tasks",
        },
    ),
    "new_day": (
        {
            "from datetime import timedelta",
            "def fetch_stats(github_repo: str, api: GitHubApi) -> dict[str, Any]:",
            "stats_futures = fetch.map(github_repos, api=unmapped(api))",
        },
        {
            "from datetime import date, timedelta",
            "def fetch_stats(github_repo: str, api: GitHubApi, day: date) -> dict[str, Any]:",
            "asked_at = api.now()  # the API's clock: its date is the day of this run's answers",
            "day = asked_at.date()  # an input of fetch_stats: each day has its own cache entries",
            "stats_futures = fetch.map(github_repos, api=unmapped(api), day=unmapped(day))",
        },
    ),
    "daily": (
        {
            "def show_stars(github_repos: list[str], settings: Settings) -> list[RepoResult]:",
            "with GitHubApi.open(settings) as api:",
        },
        {
            "open_history,",
            "def show_stars(",
            "github_repos: list[str], settings: Settings, history: str | None = None",
            ") -> list[RepoResult]:",
            "with GitHubApi.open(settings) as api, open_history(history, api.identity) as star_history:",
            "star_history.keep(day, outcomes[stats], asked_at)  # its row, now",
        },
    ),
}


def code_lines(step: str) -> list[str]:
    """The step module's source lines without its docstring, stripped, blank lines dropped."""
    module = importlib.import_module(f"github_stars.steps.{step}")
    source = inspect.getsource(module)
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    body = source.replace(f'"""{docstring}"""', "", 1)
    return [line.strip() for line in body.splitlines() if line.strip()]


def diff(before: str, after: str) -> tuple[set[str], set[str]]:
    lines = list(difflib.ndiff(code_lines(before), code_lines(after)))
    removed = {line[2:] for line in lines if line.startswith("- ")}
    added = {line[2:] for line in lines if line.startswith("+ ")}
    return removed, added


@pytest.mark.parametrize(("before", "after"), list(zip(STEPS, STEPS[1:], strict=False)))
def test_each_step_is_the_previous_plus_exactly_its_feature(before, after):
    assert diff(before, after) == FEATURES[after]


def test_every_step_has_a_feature_and_a_lesson():
    assert list(FEATURES) == list(STEPS[1:])
    for number, step in enumerate(STEPS):
        doc = importlib.import_module(f"github_stars.steps.{step}").__doc__
        assert doc.startswith(f"Step {number:02d} (lesson {number:02d}): "), step


def test_every_step_defines_the_seeds_three_names():
    for step in STEPS:
        module = importlib.import_module(f"github_stars.steps.{step}")
        assert {"fetch_stats", "get_stars", "show_stars"} <= vars(module).keys()
        assert module.show_stars.name == "show-stars"


def test_the_finished_pipeline_is_the_last_step():
    last = importlib.import_module(f"github_stars.steps.{STEPS[-1]}")
    assert pipeline.show_stars is last.show_stars
    assert pipeline.fetch_stats is last.fetch_stats


def test_every_line_of_the_finished_pipeline_was_introduced_by_a_lesson():
    """Each line of the finished task and flow (and the functions they call from their
    module) is in step 00 or was added by one of the later steps."""
    taught = set(code_lines(STEPS[0]))
    for before, after in zip(STEPS, STEPS[1:], strict=False):
        taught |= diff(before, after)[1]
    finished = [
        pipeline.fetch_stats.fn,
        pipeline.show_stars.fn,
        pipeline.get_stars,
        pipeline.outcome,
    ]
    lines = {
        line.strip()
        for function in finished
        for line in inspect.getsource(function).splitlines()
        if line.strip()
    }
    decorators = {  # the decorators' lines, above the functions' own source
        line.strip()
        for line in code_lines(STEPS[-1])
        if line.startswith(("@", "retries=", "retry_", "cache_", "task_run_name", ")"))
    }
    assert lines | decorators <= taught, sorted((lines | decorators) - taught)


def test_every_step_reports_the_snapshots_stars(sim, settings):
    ensure_rate_limit("github-api", RateBudget(limit=50, per_second=50.0))
    repos = ["PrefectHQ/prefect", "pydantic/pydantic"]
    expected = {repo: snapshot_stars()[repo.lower()] for repo in repos}
    for step in STEPS:
        module = importlib.import_module(f"github_stars.steps.{step}")
        if step in PART_ONE:
            assert module.show_stars(repos) == expected, step
            continue
        results = module.show_stars(repos, settings)
        stars = results if isinstance(results, dict) else {r.repo: r.stars for r in results}
        assert stars == expected, step


def test_the_optional_dask_step_is_the_finished_flow_on_a_dask_task_runner():
    from prefect_dask import DaskTaskRunner

    from github_stars.steps import OPTIONAL_STEPS, on_dask

    flow = on_dask.on_dask("tcp://127.0.0.1:8786")
    assert OPTIONAL_STEPS == ("on_dask",)
    assert flow.fn is pipeline.show_stars.fn
    assert isinstance(flow.task_runner, DaskTaskRunner)
