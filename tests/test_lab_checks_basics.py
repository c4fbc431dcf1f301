"""The checks lessons 00-02 added to `github_stars.lab.checks`, on made-up request logs."""

from __future__ import annotations

import pandas as pd
import pytest

from github_stars.lab.checks import (
    CheckFailed,
    check_faster,
    check_one_at_a_time,
    check_retry_gaps,
)
from github_stars.lab.measure import MeasuredRun


def frame(rows: list[tuple[str, float, float, int]]) -> pd.DataFrame:
    """A request table like `requests_frame` makes: repo, start, end, status."""
    return pd.DataFrame(rows, columns=["repo", "start", "end", "status"])


IN_TURN = frame([("a/a", 0.0, 0.2, 200), ("b/b", 0.2, 0.4, 200), ("c/c", 0.41, 0.61, 200)])
AT_ONCE = frame([("a/a", 0.0, 0.2, 200), ("b/b", 0.01, 0.21, 200), ("c/c", 0.02, 0.22, 200)])


def test_one_at_a_time_passes_for_requests_in_turn(capsys):
    check_one_at_a_time(IN_TURN, latency=0.2)
    assert capsys.readouterr().out == (
        "✔ 3 requests, one at a time: the last ended 0.61 s after the first began "
        "(at least 3 x 0.2 s)\n"
    )


@pytest.mark.parametrize(
    ("requests", "latency"),
    [
        (AT_ONCE, None),  # overlapping
        (IN_TURN, 0.3),  # faster than 3 x 0.3 s: not one answer after another at that latency
        (frame([]), None),  # nothing to check
    ],
)
def test_one_at_a_time_fails(requests, latency):
    with pytest.raises(CheckFailed):
        check_one_at_a_time(requests, latency)


def test_faster_reports_speedup_and_overlap(capsys):
    check_faster(MeasuredRun(None, 6.0, IN_TURN), MeasuredRun(None, 1.5, AT_ONCE))
    assert capsys.readouterr().out == (
        "✔ 3 requests, up to 3 at once; 6.0 s → 1.5 s (4.0x faster, at least 2x)\n"
    )


@pytest.mark.parametrize(
    ("after", "seconds"),
    [
        (AT_ONCE, 4.0),  # only 1.5x faster
        (IN_TURN, 1.0),  # fast, but not overlapping
        (AT_ONCE.iloc[:2], 1.0),  # fewer requests
    ],
)
def test_faster_fails(after, seconds):
    with pytest.raises(CheckFailed):
        check_faster(MeasuredRun(None, 6.0, IN_TURN), MeasuredRun(None, seconds, after))


RETRIED = frame([("a/a", 0.0, 0.05, 503), ("a/a", 0.16, 0.21, 503), ("a/a", 0.42, 0.47, 200)])


def test_retry_gaps_returns_a_table_for_the_chart(capsys):
    gaps = check_retry_gaps(RETRIED, [0.1, 0.2], label="exp")
    assert capsys.readouterr().out == (
        "✔ 2 retries, each after at least its delay: waited 0.11, 0.21 s (configured 0.1, 0.2 s)\n"
    )
    assert list(gaps.columns) == ["repo", "retry", "gap", "expected", "label"]
    assert list(gaps["expected"]) == [0.1, 0.2] and set(gaps["label"]) == {"exp"}


def test_retry_gaps_repeat_the_last_delay_and_fail_when_too_short():
    with pytest.raises(CheckFailed, match="too short"):
        check_retry_gaps(RETRIED, [0.15])  # 0.11 s < 0.15 s
    with pytest.raises(CheckFailed):
        check_retry_gaps(IN_TURN, [0.1])  # no retries at all
