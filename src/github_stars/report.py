"""Tabulate and chart pipeline results with pandas and matplotlib."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from github_stars.pipeline import RepoResult

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
    """Horizontal bar chart of star counts of the successful repositories."""
    frame = results_frame(results).dropna(subset=["stars"]).sort_values("stars")
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(frame), 3) + 1))
    ax.barh(frame["repo"], frame["stars"].astype(int), color="#2f6fde")
    for y, stars in enumerate(frame["stars"].astype(int)):
        ax.text(stars, y, f" {stars:,}", va="center", fontsize=9)
    ax.set_xlabel("stars")
    ax.set_title(title)
    ax.margins(x=0.15)
    fig.tight_layout()
    return fig


def save_results(results: list[RepoResult], csv_path: Path | None = None,
                 chart_path: Path | None = None, title: str = "GitHub stars") -> None:
    """Write the results as CSV and/or a PNG bar chart (folders are created)."""
    if csv_path:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        results_frame(results).to_csv(csv_path, index=False)
    if chart_path:
        Path(chart_path).parent.mkdir(parents=True, exist_ok=True)
        fig = plot_stars(results, title)
        fig.savefig(chart_path, dpi=120)
        plt.close(fig)
