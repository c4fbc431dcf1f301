"""The checks of `github_stars.lab.checks` that read the session's Prefect server."""

from __future__ import annotations

import uuid

import pytest
from prefect import flow, task
from prefect.cache_policies import INPUTS

from github_stars.core import RateBudget, ensure_rate_limit
from github_stars.lab.checks import CheckFailed, check_limit, check_task_runs


def test_check_limit_passes_for_the_limit_as_created(capsys):
    name = f"test-check-limit-{uuid.uuid4().hex[:8]}"
    ensure_rate_limit(name, RateBudget(60, 0.016))
    check_limit(name, 60, 0.016)
    out = capsys.readouterr().out
    assert out.startswith(f"✔ {name} on http") and out.endswith(": limit 60, slot decay 0.016/s\n")


@pytest.mark.parametrize(("limit", "decay"), [(61, 0.016), (60, 0.017)])
def test_check_limit_fails_for_other_values(limit, decay):
    name = f"test-check-limit-{uuid.uuid4().hex[:8]}"
    ensure_rate_limit(name, RateBudget(60, 0.016))
    with pytest.raises(CheckFailed, match="limit 60, slot decay 0.016/s"):
        check_limit(name, limit, decay)


def test_check_limit_fails_for_a_missing_limit():
    with pytest.raises(CheckFailed, match="no such limit"):
        check_limit(f"test-missing-{uuid.uuid4().hex[:8]}", 1, 1.0)


@task(cache_policy=INPUTS)
def double(x: int) -> int:
    return 2 * x


@task
def add_one(x: int) -> int:
    return x + 1


@flow
def double_then_add(xs: list[int]) -> list[int]:
    return add_one.map(double.map(xs)).result()


def test_check_task_runs_sees_cached_runs_of_one_task(capsys):
    xs = [uuid.uuid4().int % 10**9 for _ in range(2)]  # inputs no other test cached
    double_then_add(xs)
    second = double_then_add(xs, return_state=True)
    runs = check_task_runs(second.state_details.flow_run_id, "double", "Cached", 2, task_runs=4)
    assert capsys.readouterr().out == "✔ 2 double task runs Cached\n"
    assert sorted(runs["state"]) == ["Cached", "Cached", "Completed", "Completed"]


def test_check_task_runs_fails_when_the_states_differ():
    xs = [uuid.uuid4().int % 10**9]
    first = double_then_add(xs, return_state=True)
    with pytest.raises(CheckFailed, match="Completed"):
        check_task_runs(first.state_details.flow_run_id, "double", "Cached", 1, task_runs=2)
