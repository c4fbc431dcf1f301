"""Tables and charts of the star history (pandas + matplotlib; no Prefect).

Every function takes the frame of `StarHistory.frame()`: one row per repository and day,
columns day, repo, stars, forks, watchers, fetched_at, api, source (`day` as datetime64 or
date; without `source`, every row is observed). A repository without a row on a day has a gap
there (NaN), never a zero. Repositories are told apart case-insensitively, shown with their
latest spelling. A `backfilled` row is an estimate (`github_stars.backfill`): the chart draws
it dashed, `estimated_by_day` and the top movers' `estimated` say which figures are.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import StrMethodFormatter

from github_stars.core.history_records import BACKFILLED, COLUMNS
from github_stars.reports.files import save_chart, save_csv

MOVER_COLUMNS = ["repo", "stars_then", "stars_now", "gain", "gain_percent", "estimated"]
MARKERS_UP_TO = 120  # days: a longer chart draws its lines without a marker per day


def _normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Days as midnight datetime64, one spelling per repository, one row per repository-day,
    and `estimated`: whether the row is backfilled."""
    source = frame["source"] if "source" in frame else pd.Series("", index=frame.index)
    rows = frame.assign(
        day=pd.to_datetime(frame["day"]).dt.normalize(), estimated=source.eq(BACKFILLED)
    )
    rows = rows.sort_values("day", kind="stable")
    keys = rows["repo"].str.lower()
    latest = rows.groupby(keys)["repo"].transform("last")
    rows = rows.assign(repo=latest, _key=keys).drop_duplicates(["day", "_key"], keep="last")
    return rows.drop(columns="_key")


def _by_day(frame: pd.DataFrame, values: str) -> pd.DataFrame:
    """`values` per day: index `day` (every calendar day from the first to the last), one
    column per repository, NaN where a repository has no row that day."""
    rows = _normalized(frame)
    table = rows.pivot(index="day", columns="repo", values=values)
    table = table[sorted(table.columns, key=str.lower)]
    days = pd.DatetimeIndex([], name="day")
    if len(table):
        days = pd.date_range(table.index.min(), table.index.max(), freq="D", name="day")
    table = table.reindex(days)
    table.columns.name = "repo"
    return table


def stars_by_day(frame: pd.DataFrame) -> pd.DataFrame:
    """Stars per day: index `day` (every calendar day from the first to the last), one float
    column per repository, NaN where a repository has no row that day."""
    return _by_day(frame, "stars").astype(float)


def estimated_by_day(frame: pd.DataFrame) -> pd.DataFrame:
    """Whether each figure of `stars_by_day` is an estimate (a backfilled row): the same
    index and columns, True or False (False where there is no row)."""
    return _by_day(frame, "estimated").eq(True)


def missing_days(frame: pd.DataFrame) -> list[pd.Timestamp]:
    """The days from the history's first to its last on which no repository has a row."""
    if frame.empty:
        return []
    days = pd.to_datetime(frame["day"]).dt.normalize()
    every = pd.date_range(days.min(), days.max(), freq="D")
    return list(every.difference(pd.DatetimeIndex(days.unique())))


def gains_per_day(frame: pd.DataFrame) -> pd.DataFrame:
    """Stars gained on each day since the calendar day before, per repository (NaN unless
    both days have a row). Index `day` from the second day of the history."""
    return stars_by_day(frame).diff().iloc[1:]


def top_movers(frame: pd.DataFrame, days: int = 7, n: int = 5) -> pd.DataFrame:
    """The `n` repositories that gained most stars over the last `days` days of the history.

    The window runs from `days` days before the history's last day to that day; a
    repository's gain compares its first and last rows in it (it needs two). Columns repo,
    stars_then, stars_now, gain, gain_percent (NaN when stars_then is 0), estimated (either
    figure is a backfilled estimate); gain descending.
    """
    if days < 1 or n < 0:
        raise ValueError(f"need days >= 1 and n >= 0, got days={days}, n={n}")
    rows = _normalized(frame)
    if rows.empty:
        return pd.DataFrame(columns=MOVER_COLUMNS)
    window = rows[rows["day"] >= rows["day"].max() - pd.Timedelta(days=days)]
    stars, estimated = window.groupby("repo")["stars"], window.groupby("repo")["estimated"]
    movers = pd.DataFrame(
        {"stars_then": stars.first(), "stars_now": stars.last(), "rows": stars.size()}
    )
    movers = movers[movers["rows"] >= 2].astype("int64")
    movers["estimated"] = (estimated.first() | estimated.last()).reindex(movers.index)
    movers["gain"] = movers["stars_now"] - movers["stars_then"]
    then = movers["stars_then"].where(movers["stars_then"] > 0)
    movers["gain_percent"] = (movers["gain"] / then * 100).astype(float)
    movers = movers.reset_index().sort_values(["gain", "repo"], ascending=[False, True])
    return movers[MOVER_COLUMNS].head(n).reset_index(drop=True)


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no history yet", ha="center", va="center", transform=ax.transAxes)


def plot_stars_over_time(frame: pd.DataFrame, title: str = "GitHub stars over time") -> Figure:
    """Line chart (DataFrame.plot) of stars per day, one line per repository: observed days
    solid, backfilled days (estimates) dashed; a missing day is a gap in its line (markers
    show days between gaps, up to `MARKERS_UP_TO` days)."""
    table = stars_by_day(frame)
    estimated = estimated_by_day(frame)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if table.empty:
        _no_data(ax)
    else:
        marker = "o" if len(table) <= MARKERS_UP_TO else None
        colors = {repo: f"C{n % 10}" for n, repo in enumerate(table.columns)}
        if estimated.any().any():  # every row dashed; the observed ones drawn solid over them
            table.plot(ax=ax, style="--", color=colors, linewidth=1.2, legend=False)
        observed = table.where(~estimated)
        observed.plot(ax=ax, marker=marker, markersize=3, color=colors, legend=False)
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.legend(handles=_legend(colors, marker, estimated.any().any()))
    ax.set(title=title, xlabel="day", ylabel="stars")
    fig.tight_layout()
    return fig


def _legend(colors: dict[str, str], marker: str | None, estimates: bool) -> list[Line2D]:
    """A line per repository, and with `estimates` what solid and dashed mean."""
    handles = [
        Line2D([], [], color=color, marker=marker, markersize=3, label=repo)
        for repo, color in colors.items()
    ]
    if estimates:
        handles.append(Line2D([], [], color="grey", label="observed"))
        handles.append(Line2D([], [], color="grey", linestyle="--", label="backfilled (estimate)"))
    return handles


def plot_gains(
    frame: pd.DataFrame, title: str = "Stars gained per day", kind: str = "bar"
) -> Figure:
    """Stars gained per day and repository (DataFrame.plot, `kind` "bar" or "line")."""
    if kind not in ("bar", "line"):
        raise ValueError(f"kind must be 'bar' or 'line', got {kind!r}")
    table = gains_per_day(frame)
    if kind == "bar":
        table.index = table.index.strftime("%Y-%m-%d")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if table.empty:
        _no_data(ax)
    else:
        style = {"marker": "o"} if kind == "line" else {}
        table.plot(ax=ax, kind=kind, **style)
        ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(title=title, xlabel="day", ylabel="stars gained")
    fig.tight_layout()
    return fig


def history_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows to write as CSV: one per repository and day, ordered; `day` as YYYY-MM-DD."""
    rows = frame[COLUMNS].assign(day=pd.to_datetime(frame["day"]).dt.strftime("%Y-%m-%d"))
    order = rows.assign(_key=rows["repo"].str.lower()).sort_values(["day", "_key"]).index
    return rows.loc[order].reset_index(drop=True)


def save_history(
    frame: pd.DataFrame,
    csv_path: str | Path | None = None,
    chart_path: str | Path | None = None,
    title: str = "GitHub stars over time",
) -> None:
    """Write the history as CSV (columns `COLUMNS`) and/or the stars-over-time chart as PNG
    (folders are created)."""
    if csv_path:
        save_csv(history_csv_frame(frame), csv_path)
    if chart_path:
        save_chart(plot_stars_over_time(frame, title), chart_path)
