"""Tabulate and chart pipeline results with pandas and matplotlib; write them as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from github_stars.core import RepoResult
from github_stars.reports.files import save_chart, save_csv

COLUMNS = ["repo", "stars", "forks", "watchers", "language", "created_at", "error", "cached"]


def results_frame(results: Iterable[RepoResult]) -> pd.DataFrame:
    """One row per repository: stars, forks, language, ... or the error."""
    rows = [
        {
            "repo": r.repo,
            "stars": r.stars,
            "forks": r.stats.get("forks_count"),
            "watchers": r.stats.get("subscribers_count"),
            "language": r.stats.get("language"),
            "created_at": r.stats.get("created_at"),
            "error": r.error,
            "cached": r.cached,
        }
        for r in results
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"stars": "Int64", "forks": "Int64", "watchers": "Int64"})


def plot_stars(results: Iterable[RepoResult], title: str = "GitHub stars") -> Figure:
    """Horizontal bar chart (pandas) of the star counts of the successful repositories."""
    frame = results_frame(results).dropna(subset=["stars"]).astype({"stars": int})
    frame = frame.sort_values("stars")
    ax = frame.plot.barh(
        x="repo",
        y="stars",
        legend=False,
        color="#2f6fde",
        title=title,
        figsize=(8, 0.45 * max(len(frame), 3) + 1),
    )
    ax.bar_label(ax.containers[0], labels=[f" {stars:,}" for stars in frame["stars"]], fontsize=9)
    ax.set(xlabel="stars", ylabel="")
    ax.margins(x=0.15)
    ax.figure.tight_layout()
    return ax.figure


def save_results(
    results: list[RepoResult],
    csv_path: Path | None = None,
    chart_path: Path | None = None,
    title: str = "GitHub stars",
) -> None:
    """Write the results as CSV and/or a PNG bar chart (folders are created)."""
    if csv_path:
        save_csv(results_frame(results), csv_path)
    if chart_path:
        save_chart(plot_stars(results, title), chart_path)


def results_json(results: Iterable[RepoResult], api: str) -> list[dict[str, Any]]:
    """One object per repository: `repo`, `stars`, `error`, `cached` and the `api` that answered."""
    return [
        {"repo": r.repo, "stars": r.stars, "error": r.error, "cached": r.cached, "api": api}
        for r in results
    ]


def save_json(results: Iterable[RepoResult], path: Path, api: str) -> None:
    """Write `results_json` as a JSON array, one object per line (the folder is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps(row, ensure_ascii=False) for row in results_json(results, api)]
    path.write_text("[\n" + ",\n".join(rows) + ("\n" if rows else "") + "]\n", encoding="utf-8")


INT_COLUMNS = ("stars", "forks", "watchers")


def _from_csv_text(column: str, text: str) -> str | int | bool | None:
    if text == "":
        return None
    if column in INT_COLUMNS:
        return int(text)
    if column == "cached":
        return text == "True"
    return text


def read_results(csv_path: Path) -> pd.DataFrame:
    """Read a CSV written by `save_results` back with the columns and dtypes of `results_frame`."""
    raw = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    rows = [
        {column: _from_csv_text(column, text) for column, text in row.items()}
        for row in raw.to_dict("records")
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype(dict.fromkeys(INT_COLUMNS, "Int64"))


def plot_stars_vs_forks(results: Iterable[RepoResult], title: str = "Stars and forks") -> Figure:
    """One labelled point per successful repository: forks against stars (log axes if > 0)."""
    frame = results_frame(results).dropna(subset=["stars", "forks"])
    stars, forks = frame["stars"].astype(int), frame["forks"].astype(int)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(stars, forks, color="#2f6fde")
    for repo, x, y in zip(frame["repo"], stars, forks, strict=True):
        ax.annotate(repo, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=8)
    if len(frame) and (stars > 0).all() and (forks > 0).all():
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("stars")
    ax.set_ylabel("forks")
    ax.set_title(title)
    ax.margins(0.15)
    fig.tight_layout()
    return fig


def plot_language_counts(
    results: Iterable[RepoResult], title: str = "Repositories by main language"
) -> Figure:
    """Bar chart: how many successful repositories have each main language."""
    frame = results_frame(results).dropna(subset=["stars"])
    counts = frame["language"].fillna("(none)").value_counts()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bars = ax.bar(counts.index.astype(str), counts.to_numpy(), color="#2f6fde")
    ax.bar_label(bars)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(y=0.15)
    ax.set_ylabel("repositories")
    ax.set_title(title)
    fig.tight_layout()
    return fig
