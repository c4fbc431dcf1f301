"""Report extras lesson 05 relies on: CSV round trip, scatter and language charts; and the
Prefect connection helper the lessons call before timing anything."""

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from github_stars.core import RepoResult
from github_stars.lab.measure import connect_to_prefect
from github_stars.reports.run_report import (
    plot_language_counts,
    plot_stars_vs_forks,
    read_results,
    results_frame,
    save_results,
)


def repo(name: str, stars: int, forks: int, language: str | None) -> RepoResult:
    stats = {
        "forks_count": forks,
        "subscribers_count": stars // 10,
        "language": language,
        "created_at": "2018-05-01T00:00:00Z",
    }
    return RepoResult(repo=name, stars=stars, stats=stats, cached=stars % 2 == 0)


RESULTS = [
    repo("a/python-one", 1200, 300, "Python"),
    repo("b/python-two", 80, 9, "Python"),
    repo("c/rusty", 5000, 700, "Rust"),
    repo("d/docs", 40, 2, None),
    RepoResult(repo="e/missing", error="not found (404)", error_kind="not found"),
]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_csv_round_trips_with_the_same_columns_and_dtypes(tmp_path):
    csv = tmp_path / "out" / "stars.csv"
    save_results(RESULTS, csv_path=csv)
    pd.testing.assert_frame_equal(read_results(csv), results_frame(RESULTS))


def test_csv_round_trip_of_successes_only(tmp_path):
    csv = tmp_path / "stars.csv"
    save_results(RESULTS[:3], csv_path=csv)
    back = read_results(csv)
    pd.testing.assert_frame_equal(back, results_frame(RESULTS[:3]))
    assert back["error"].isna().all() and list(back["stars"]) == [1200, 80, 5000]


def test_scatter_has_one_labelled_point_per_success_on_log_axes():
    (ax,) = plot_stars_vs_forks(RESULTS).get_axes()
    points = ax.collections[0].get_offsets()
    assert sorted(map(tuple, points.tolist())) == [(40, 2), (80, 9), (1200, 300), (5000, 700)]
    assert sorted(t.get_text() for t in ax.texts) == [
        "a/python-one",
        "b/python-two",
        "c/rusty",
        "d/docs",
    ]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")


def test_scatter_stays_linear_when_a_count_is_zero():
    (ax,) = plot_stars_vs_forks([repo("a/new", 3, 0, "Go")]).get_axes()
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear")


def test_language_counts_count_successes_and_name_missing_languages():
    (ax,) = plot_language_counts(RESULTS).get_axes()
    bars = {
        label.get_text(): patch.get_height()
        for label, patch in zip(ax.get_xticklabels(), ax.patches, strict=True)
    }
    assert bars == {"Python": 2, "Rust": 1, "(none)": 1}


def test_connect_to_prefect_reaches_the_configured_api():
    url = connect_to_prefect()
    assert url.rstrip("/") == os.environ["PREFECT_API_URL"].rstrip("/")
