"""Measurement helpers and charts the lessons rely on, checked on hand-made request logs."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from github_stars.lab.charts import plot_request_timelines, plot_retry_gaps
from github_stars.lab.measure import (
    budget_overshoot,
    describe_limit,
    max_concurrent,
    measure_run,
    requests_frame,
    retry_gaps,
    task_run_states,
    time_interleaved,
)
from github_stars.simulator.snapshot import snapshot_stars

STARS = snapshot_stars()


def log_entry(repo: str, start: float, end: float, status: int = 200) -> dict:
    return {
        "t_start": 1000.0 + start,
        "t_end": 1000.0 + end,
        "method": "GET",
        "path": f"/repos/{repo}",
        "repo": repo,
        "status": status,
        "kind": "ok",
        "authenticated": False,
    }


def frame_of(*spans: tuple[float, float]) -> pd.DataFrame:
    return requests_frame(log_entry(f"o/r{i}", start, end) for i, (start, end) in enumerate(spans))


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([(0, 1), (1, 2), (2, 3)], 1),  # back to back: never two at once
        ([(0, 1), (0.5, 1.5), (0.7, 0.8), (2, 3)], 3),
        ([(0, 5)] + [(i, i + 0.5) for i in range(4)], 2),
        ([(0, 1)] * 4, 4),
    ],
)
def test_max_concurrent_counts_requests_in_flight(spans, expected):
    assert max_concurrent(frame_of(*spans)) == expected


@pytest.mark.parametrize(
    ("starts", "expected"),
    [
        ([0, 0, 0, 0, 0.25, 0.5], 0.0),  # burst of 4, then exactly 4/s
        ([0, 0, 0, 0, 0], 1.0),  # one over the burst
        ([0, 0, 0, 0, 3.0, 3.0, 3.0, 3.0], 0.0),  # the bucket refilled during a pause
        ([0, 0, 0, 0, 0.1, 0.2], 2 - 4 * 0.2),  # two refills too early
        ([], 0.0),
    ],
)
def test_budget_overshoot_is_the_worst_interval_against_the_token_bucket(starts, expected):
    frame = frame_of(*[(start, start + 0.01) for start in starts])
    assert budget_overshoot(frame, burst=4, per_second=4.0) == pytest.approx(expected)


def test_max_concurrent_of_an_empty_log_is_zero():
    assert max_concurrent(requests_frame([])) == 0


def test_retry_gaps_measure_end_to_next_start_per_repository():
    log = [
        log_entry("a/x", 0.0, 0.1, 503),
        log_entry("b/y", 0.05, 0.2, 503),
        log_entry("a/x", 0.4, 0.5, 503),
        log_entry("b/y", 1.2, 1.3),
        log_entry("a/x", 1.5, 1.6),
    ]
    gaps = retry_gaps(requests_frame(log))
    assert list(gaps.columns) == ["repo", "retry", "gap"]
    rows = {(r.repo, r.retry): r.gap for r in gaps.itertuples()}
    assert rows.keys() == {("a/x", 1), ("a/x", 2), ("b/y", 1)}
    assert rows[("a/x", 1)] == pytest.approx(0.3)
    assert rows[("a/x", 2)] == pytest.approx(1.0)
    assert rows[("b/y", 1)] == pytest.approx(1.0)


def test_retry_gaps_of_single_attempts_are_empty():
    assert retry_gaps(frame_of((0, 1), (0, 1))).empty


def test_time_interleaved_runs_each_once_per_round_in_order():
    calls = []
    timings = time_interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3
    )
    assert calls == ["a", "b"] * 3
    assert list(timings.columns) == ["a", "b"]
    assert list(timings.index) == [1, 2, 3]
    assert (timings >= 0).all().all()


def test_time_interleaved_needs_a_round():
    with pytest.raises(ValueError, match="rounds must be at least 1"):
        time_interleaved({"a": lambda: None}, rounds=0)


def test_timelines_draw_one_panel_and_one_bar_per_request():
    runs = {"loop": frame_of((0, 1), (1, 2), (2, 3)), "map": frame_of((0, 1), (0, 1))}
    fig = plot_request_timelines(runs)
    axes = fig.get_axes()
    assert [ax.get_title(loc="left") for ax in axes] == ["loop", "map"]
    assert [len(ax.patches) for ax in axes] == [3, 2]
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[1])


def test_retry_gap_chart_shows_configured_and_measured_bars():
    gaps = pd.DataFrame(
        {"label": ["fixed", "fixed"], "retry": [1, 2], "expected": [0.2, 0.2], "gap": [0.21, 0.22]}
    )
    (ax,) = plot_retry_gaps(gaps).get_axes()
    heights = sorted(round(p.get_height(), 2) for p in ax.patches)
    assert heights == [0.2, 0.2, 0.21, 0.22]
    assert "fixed" in [text.get_text() for text in ax.texts]  # the variant's name
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "configured delay",
        "measured gap",
    ]


def test_task_run_states_show_each_attempt_as_the_api_recorded_it():
    from prefect import flow, task

    attempts: list[int] = []

    @task(retries=2, task_run_name="flaky-{n}")
    def flaky(n: int) -> int:
        attempts.append(n)
        if attempts.count(n) < 2:
            raise RuntimeError("first attempt fails")
        return n

    @flow
    def two_flaky_tasks() -> list[int]:
        return [flaky(1), flaky(2)]

    state = two_flaky_tasks(return_state=True)
    runs = task_run_states(state.state_details.flow_run_id, expected=2)
    assert list(runs["task_run"]) == ["flaky-1", "flaky-2"]
    assert list(runs["state"]) == ["Completed", "Completed"]
    assert list(runs["run_count"]) == [2, 2]
    for history in runs["history"]:
        assert history[0] == "Pending" and history[-1] == "Completed"
        assert "Retrying" in history


def test_measure_run_times_the_call_and_keeps_only_its_requests(sim):
    import httpx

    def fetch_repo(name: str) -> dict:
        return httpx.get(f"{sim.url}/repos/{name}").raise_for_status().json()

    sim.configure(latency=0.1)
    fetch_repo("psf/requests")  # before the measured run: must not be counted

    def fetch_two() -> list[int]:
        return [fetch_repo(name)["stargazers_count"] for name in ("pallets/flask", "psf/black")]

    run = measure_run(sim, fetch_two)
    assert run.result == [STARS["pallets/flask"], STARS["psf/black"]]
    assert list(run.requests["repo"]) == ["pallets/flask", "psf/black"]
    assert run.seconds >= 0.2  # two sequential answers of 0.1 s each


def test_describe_limit_reads_the_limit_from_the_server():
    import uuid

    from github_stars.core import RateBudget, ensure_rate_limit

    name = f"test-describe-{uuid.uuid4().hex[:8]}"
    assert describe_limit(name) == f"{name}: no such limit"
    ensure_rate_limit(name, RateBudget(60, 0.016))
    assert describe_limit(name) == f"{name}: limit 60, slot decay 0.016/s, 0 slots taken"
