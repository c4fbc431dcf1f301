"""The checks of `github_stars.lab.checks` that need no server, on made-up request logs and
terminal output."""

from __future__ import annotations

import pandas as pd
import pytest

from github_stars.lab.checks import (
    CheckFailed,
    check_faster,
    check_log_finished,
    check_one_at_a_time,
    check_retry_gaps,
    check_under_budget,
    expect_failure,
    finished_states,
)
from github_stars.lab.measure import MeasuredRun, requests_frame


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


def test_expect_failure_prints_the_first_line_of_the_message(capsys):
    with expect_failure(ValueError):
        raise ValueError("Server error '503 Service Unavailable'\nFor more information: ...")
    assert capsys.readouterr().out == (
        "✔ failed as expected: ValueError: Server error '503 Service Unavailable'\n"
    )


def test_expect_failure_fails_when_nothing_fails_and_lets_other_errors_through():
    with (
        pytest.raises(CheckFailed, match="expected ValueError, but nothing failed"),
        expect_failure(ValueError),
    ):
        pass
    with pytest.raises(KeyError), expect_failure(ValueError):
        raise KeyError("another error")


def arrivals(*starts: float, kind: str = "ok", status: int = 200) -> list[dict]:
    """Simulator log entries of requests that arrived at `starts` (seconds)."""
    return [
        {
            "t_start": 100.0 + start,
            "t_end": 100.0 + start + 0.05,
            "method": "GET",
            "path": f"/repos/o/r{i}",
            "repo": f"o/r{i}",
            "status": status,
            "kind": kind,
            "authenticated": False,
        }
        for i, start in enumerate(starts)
    ]


def test_under_budget_passes_for_a_paced_run(capsys):
    check_under_budget(requests_frame(arrivals(0.0, 0.0, 0.25, 0.5, 0.75)), burst=2, per_second=4)
    assert capsys.readouterr().out == (
        "✔ 5 requests: 5 x 200, none refused, never more than 2 + 4 × t in any t seconds\n"
    )


@pytest.mark.parametrize(
    "log",
    [
        arrivals(0.0, 0.0, 0.0, 0.0),  # two whole requests over the burst
        arrivals(0.0, 0.5) + arrivals(0.6, kind="secondary_limit", status=429),  # one refused
        [],  # nothing sent: nothing shown
    ],
)
def test_under_budget_fails(log):
    with pytest.raises(CheckFailed):
        check_under_budget(requests_frame(log), burst=2, per_second=4)


# What a terminal shows of the seed's second run (rich colours parts of the log lines).
SECOND_RUN = [
    "20:03:04.398 | INFO | prefect.engine - Created flow run 'laughing-nightingale'",
    "20:03:05.146 | INFO | Task run 'fetch_stats-90f' - Finished in state Cached(type=COMPLETED)",
    "20:03:05.149 | INFO | Task run 'fetch_stats-258' - Finished in state "
    "\x1b[32mCached\x1b[0m(type=COMPLETED)",
    "20:03:05.153 | INFO | Task run 'fetch_stats-924' - Finished in state Cached(type=COMPLETED)",
    "20:03:05.159 | INFO | Task run 'get_stars-3a9' - Finished in state Completed()",
    "20:03:05.162 | INFO | Flow run 'laughing-nightingale' - PrefectHQ/prefect: 17756 stars",
    "20:03:05.339 | INFO | Flow run 'laughing-nightingale' - Finished in state Completed()",
]


def test_finished_states_count_the_log_lines_of_one_task():
    assert finished_states(SECOND_RUN, "fetch_stats") == {"Cached(type=COMPLETED)": 3}
    assert finished_states("\n".join(SECOND_RUN), "get_stars") == {"Completed()": 1}
    assert finished_states(SECOND_RUN, "fetch") == {}  # a task's whole name, not a prefix


def test_log_finished_passes_when_every_run_ended_so(capsys):
    check_log_finished(SECOND_RUN, "fetch_stats", "Cached(type=COMPLETED)", 3)
    assert capsys.readouterr().out == (
        "✔ the log shows 3 fetch_stats task runs Finished in state Cached(type=COMPLETED)\n"
    )


@pytest.mark.parametrize(
    "log",
    [
        SECOND_RUN[:3],  # two of the three
        [
            *SECOND_RUN,
            "12:00:00.000 | INFO | Task run 'fetch_stats-111' - Finished in state Completed()",
        ],  # one of them fetched
        [],
    ],
)
def test_log_finished_fails(log):
    with pytest.raises(CheckFailed):
        check_log_finished(log, "fetch_stats", "Cached(type=COMPLETED)", 3)
