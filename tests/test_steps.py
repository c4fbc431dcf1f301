"""The lessons' steps: the seed tutorial's pipeline, each step the previous plus one feature."""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect

import pytest

from github_stars.config import RateBudget
from github_stars.rate_limiting import ensure_rate_limit
from github_stars.simulator.snapshot import snapshot_stars
from github_stars.steps import STEPS

# What each step adds to the one before: the code lines removed and added (stripped of
# indentation; module docstrings aside).
FEATURES = {
    "retries": ({"@task"}, {"@task(retries=3)"}),
    "concurrent": (
        {"stars = {}", "repo_stats = fetch_stats(repo)", "stars[repo] = get_stars(repo_stats)"},
        {
            "stats_futures = fetch_stats.map(github_repos)",
            "stars = dict(zip(github_repos, get_stars.map(stats_futures).result(), strict=True))",
        },
    ),
    "rate_limited": (
        set(),
        {"from prefect.concurrency.sync import rate_limit", 'rate_limit("github-api")'},
    ),
    "cached": (
        {"@task(retries=3)"},
        {
            "from datetime import timedelta",
            "from prefect.cache_policies import INPUTS",
            "@task(retries=3, cache_policy=INPUTS, cache_expiration=timedelta(days=1))",
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


@pytest.mark.parametrize(("before", "after"), list(zip(STEPS, STEPS[1:], strict=False)))
def test_each_step_is_the_previous_plus_exactly_its_feature(before, after):
    diff = list(difflib.ndiff(code_lines(before), code_lines(after)))
    removed = {line[2:] for line in diff if line.startswith("- ")}
    added = {line[2:] for line in diff if line.startswith("+ ")}
    assert (removed, added) == FEATURES[after]


def test_every_step_defines_the_seeds_three_names():
    for step in STEPS:
        module = importlib.import_module(f"github_stars.steps.{step}")
        assert {"fetch_stats", "get_stars", "show_stars"} <= vars(module).keys()
        assert module.show_stars.name == "show-stars"


def test_every_step_reports_the_snapshots_stars(sim, own_result_storage):
    ensure_rate_limit("github-api", RateBudget(limit=50, per_second=50.0))
    repos = ["PrefectHQ/prefect", "pydantic/pydantic"]
    expected = {repo: snapshot_stars()[repo.lower()] for repo in repos}
    for step in STEPS:
        module = importlib.import_module(f"github_stars.steps.{step}")
        assert module.show_stars(repos) == expected, step
