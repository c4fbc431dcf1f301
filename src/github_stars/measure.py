"""Measurements the lessons compute and assert: wall time, request logs, achieved rates."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

REJECTED_KINDS = {"primary_limit", "secondary_limit"}


@dataclass
class Stopwatch:
    """`with Stopwatch() as sw: ...` then `sw.seconds`."""

    started: float = 0.0
    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def requests_frame(log: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The simulator's request log as a DataFrame, times in seconds from the first request."""
    frame = pd.DataFrame(list(log), columns=["t_start", "t_end", "method", "path", "repo",
                                             "status", "kind", "authenticated"])
    if frame.empty:
        return frame.assign(start=pd.Series(dtype=float), end=pd.Series(dtype=float),
                            rejected=pd.Series(dtype=bool))
    origin = frame["t_start"].min()
    return frame.assign(
        start=frame["t_start"] - origin,
        end=frame["t_end"] - origin,
        rejected=frame["kind"].isin(REJECTED_KINDS),
    ).sort_values("start", ignore_index=True)


def achieved_rate(frame: pd.DataFrame, skip_burst: int = 0) -> float:
    """Requests per second between the first and last request (after `skip_burst` requests)."""
    starts = frame["start"].sort_values().to_numpy()[skip_burst:]
    if len(starts) < 2 or starts[-1] == starts[0]:
        return float("nan")
    return (len(starts) - 1) / (starts[-1] - starts[0])


def max_in_window(frame: pd.DataFrame, window: float) -> int:
    """Most requests that started within any `window` seconds (sliding)."""
    starts = frame["start"].sort_values().to_numpy()
    best, left = 0, 0
    for right, start in enumerate(starts):
        while start - starts[left] >= window:
            left += 1
        best = max(best, right - left + 1)
    return best
