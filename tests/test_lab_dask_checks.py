"""Unit tests of `github_stars.lab.dask_checks` (lesson 10's checks)."""

import pandas as pd
import pytest

from github_stars.lab.checks import CheckFailed
from github_stars.lab.dask_checks import (
    check_pause_held,
    check_within_budget,
    check_workers,
    requests_during_pause,
    workers_used,
)


def frame(rows: list[tuple[float, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["start", "end", "status"])


def test_workers_used_and_checked(capsys):
    stream = [{"worker": "tcp://a"}, {"worker": "tcp://b"}, {"worker": "tcp://a"}]
    assert workers_used(stream) == {"tcp://a": 2, "tcp://b": 1}
    check_workers(stream, 2)
    assert "3 tasks ran in 2 worker processes (2, 1)" in capsys.readouterr().out
    with pytest.raises(CheckFailed):
        check_workers(stream, 3)


def test_a_request_inside_the_pause_is_caught():
    held = frame([(0.0, 0.1, 200), (0.2, 0.3, 429), (0.4, 0.5, 200), (2.4, 2.5, 200)])
    assert requests_during_pause(held, retry_after=2).empty  # 0.4 is within the grace
    check_pause_held(held, retry_after=2)
    broken = frame([(0.2, 0.3, 429), (1.5, 1.6, 200), (2.4, 2.5, 200)])  # 1.5: past the grace
    assert list(requests_during_pause(broken, retry_after=2)["start"]) == [1.5]
    with pytest.raises(CheckFailed):
        check_pause_held(broken, retry_after=2)
    with pytest.raises(CheckFailed):  # no refusal: nothing was shown
        check_pause_held(frame([(0.0, 0.1, 200)]), retry_after=2)


def test_within_budget():
    check_within_budget(frame([(0.0, 0.1, 200), (0.0, 0.1, 200), (1.0, 1.1, 200)]), 2, 1.0)
    with pytest.raises(CheckFailed):
        check_within_budget(frame([(0.0, 0.1, 200)] * 4), 2, 1.0)  # 2 over: not jitter
