"""The finished pipeline: retries, no retry on 404, caching, per-repository outcomes."""

import pytest

from github_stars.pipeline import show_stars
from github_stars.simulator.snapshot import snapshot_stars

STARS = snapshot_stars()


def test_seed_repositories_report_snapshot_stars(sim, settings):
    repos = ["PrefectHQ/prefect", "pydantic/pydantic", "huggingface/transformers"]
    results = show_stars.with_options(name="test-seed")(repos, settings)
    assert [r.repo for r in results] == repos
    assert [r.stars for r in results] == [STARS[r.lower()] for r in repos]


def test_transient_failures_are_retried(sim, settings):
    sim.configure(faults={"tiangolo/typer": [503, 502]})
    (result,) = show_stars(["tiangolo/typer"], settings)
    assert result.stars == STARS["tiangolo/typer"]
    assert sim.stats()["by_repo"]["tiangolo/typer"] == 3


def test_not_found_is_not_retried(sim, settings):
    (result,) = show_stars(["nobody/nothing-here"], settings)
    assert result.error_kind == "not found" and "404" in result.error
    assert sim.request_count() == 1


def test_retry_budget_then_clear_error(sim, settings):
    sim.configure(faults={"tiangolo/sqlmodel": [503] * 10})
    (result,) = show_stars(["tiangolo/sqlmodel"], settings)
    assert result.error_kind == "transient" and "503" in result.error
    assert sim.stats()["by_repo"]["tiangolo/sqlmodel"] == 4  # 1 try + 3 retries


def test_second_run_is_cached_with_zero_requests(sim, settings):
    repos = ["tiangolo/asyncer", "psf/black"]
    first = show_stars(repos, settings)
    assert sim.request_count() == 2 and not any(r.cached for r in first)
    sim.reset()
    second = show_stars(repos, settings)
    assert sim.request_count() == 0
    assert all(r.cached for r in second)
    assert [r.stars for r in second] == [r.stars for r in first]


def test_errors_are_never_cached(sim, settings):
    sim.configure(faults={"encode/httpx": [404]})
    assert show_stars(["encode/httpx"], settings)[0].error_kind == "not found"
    sim.reset(settings=True)
    (result,) = show_stars(["encode/httpx"], settings)
    assert result.stars == STARS["encode/httpx"]
    assert sim.request_count() == 1


def test_one_failure_loses_nothing_and_bad_names_make_no_requests(sim, settings):
    repos = ["foo", "pallets/flask", "nobody/nothing", "a/b/c", ""]
    results = show_stars(repos, settings)
    assert [r.repo for r in results] == repos
    assert results[1].stars == STARS["pallets/flask"]
    assert [r.error_kind for r in results] == [
        "invalid name",
        None,
        "not found",
        "invalid name",
        "invalid name",
    ]
    assert sorted(sim.stats()["by_repo"]) == ["nobody/nothing", "pallets/flask"]


def test_empty_list_completes(sim, settings):
    assert show_stars([], settings) == []
    assert sim.request_count() == 0


@pytest.mark.parametrize("bad", [503, "reset"])
def test_recovers_when_the_api_recovers(sim, settings, bad):
    name = "scrapy/scrapy" if bad == 503 else "django/django"
    sim.configure(faults={name: [bad, bad]})
    assert show_stars([name], settings)[0].stars == STARS[name]
