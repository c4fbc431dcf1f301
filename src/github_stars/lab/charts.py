"""Charts the lessons draw from measurements (matplotlib; they return the Figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

STATUS_COLORS = {2: "#2f9e44", 3: "#868e96", 4: "#e8590c", 5: "#c92a2a"}


def _draw_requests(ax: plt.Axes, frame: pd.DataFrame, height: float) -> None:
    """One bar per request from start to end (seconds), coloured by HTTP status class."""
    colors = [STATUS_COLORS.get(int(s) // 100, "#000") for s in frame["status"]]
    ax.barh(
        np.arange(len(frame)),
        frame["end"] - frame["start"],
        left=frame["start"],
        color=colors,
        height=height,
    )


def plot_request_timeline(frame: pd.DataFrame, title: str = "When each request ran") -> Figure:
    """One bar per request from start to end (seconds), coloured by HTTP status class."""
    fig, ax = plt.subplots(figsize=(9, 0.22 * max(len(frame), 8) + 1.2))
    _draw_requests(ax, frame, height=0.7)
    ax.set_yticks(np.arange(len(frame)))
    ax.set_yticklabels(frame["repo"].fillna(frame["path"]), fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first request")
    ax.set_title(title)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in STATUS_COLORS.values()]
    ax.legend(handles, ["2xx", "3xx", "4xx", "5xx"], loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_requests_over_time(
    frames: dict[str, pd.DataFrame],
    allowed_per_second: float | None = None,
    burst: int = 0,
    title: str = "Requests over time",
) -> Figure:
    """Cumulative requests of each run against the allowed budget `burst + rate * t`.

    Rejected requests (rate-limit refusals) are marked with an x.
    """
    fig, ax = plt.subplots(figsize=(9, 4.5))
    horizon = 0.0
    for label, frame in frames.items():
        starts = frame["start"].sort_values().to_numpy()
        ax.step(starts, np.arange(1, len(starts) + 1), where="post", label=label)
        rejected = frame[frame["rejected"]]
        if len(rejected):
            order = frame["start"].rank(method="first").loc[rejected.index]
            ax.scatter(
                rejected["start"],
                order,
                marker="x",
                color="#c92a2a",
                zorder=3,
                label=f"{label}: rejected ({len(rejected)})",
            )
        horizon = max(horizon, starts[-1] if len(starts) else 0.0)
    if allowed_per_second:
        t = np.linspace(0, horizon or 1.0, 100)
        ax.plot(
            t,
            burst + allowed_per_second * t,
            "k--",
            label=f"allowed: {burst} + {allowed_per_second:g}/s",
        )
    ax.set_xlabel("seconds since the first request")
    ax.set_ylabel("requests sent (cumulative)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_bars(values: dict[str, float], ylabel: str, title: str) -> Figure:
    """A small labelled bar chart (e.g. wall time per approach)."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bars = ax.bar(list(values), list(values.values()), color="#2f6fde")
    ax.bar_label(bars, fmt="%.2f")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_request_timelines(
    frames: dict[str, pd.DataFrame], title: str = "When each request ran"
) -> Figure:
    """One timeline panel per run on a shared time axis, to compare how requests overlap.

    Requests are labelled by repository when a panel has at most 12 of them.
    """
    heights = [max(len(frame), 3) for frame in frames.values()]
    fig, axes = plt.subplots(
        len(frames),
        1,
        sharex=True,
        squeeze=False,
        figsize=(9, 0.1 * sum(heights) + 1.0 * len(frames) + 0.8),
        gridspec_kw={"height_ratios": heights},
    )
    for ax, (label, frame) in zip(axes[:, 0], frames.items(), strict=True):
        _draw_requests(ax, frame, height=0.8)
        if len(frame) <= 12:
            ax.set_yticks(np.arange(len(frame)))
            ax.set_yticklabels(frame["repo"].fillna(frame["path"]), fontsize=7)
        else:
            ax.set_yticks([])
            ax.set_ylabel(f"{len(frame)} requests", fontsize=8)
        ax.set_ylim(len(frame) - 0.5, -0.5)
        ax.set_title(label, fontsize=10, loc="left")
    statuses = sorted({int(s) // 100 for frame in frames.values() for s in frame["status"]})
    handles = [plt.Rectangle((0, 0), 1, 1, color=STATUS_COLORS.get(s, "#000")) for s in statuses]
    axes[0, 0].legend(handles, [f"{s}xx" for s in statuses], loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds since the run's first request")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_retry_gaps(gaps: pd.DataFrame, title: str = "Wait before each retry") -> Figure:
    """Configured delay (`expected`) next to the measured `gap`, per `label` and `retry`."""
    fig, ax = plt.subplots(figsize=(10, 4))
    group, labels = pd.factorize(gaps["label"])  # 0, 0, 0, 1, 1, ... in order of appearance
    x = np.arange(len(gaps)) + 0.6 * group  # a little space between variants
    ax.bar(x - 0.2, gaps["expected"], width=0.4, color="#adb5bd", label="configured delay")
    bars = ax.bar(x + 0.2, gaps["gap"], width=0.4, color="#2f6fde", label="measured gap")
    ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(x)
    ax.set_xticklabels([f"retry {retry}" for retry in gaps["retry"]], fontsize=7)
    for number, label in enumerate(labels):
        ax.text(
            x[group == number].mean(),
            -0.14,
            label,
            ha="center",
            va="top",
            fontsize=9,
            transform=ax.get_xaxis_transform(),
        )
    ax.set_ylabel("seconds")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
