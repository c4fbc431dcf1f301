"""Short checks for the lessons: each checks one claim and prints what it verified.

A lesson calls one of these where it makes a claim; nbmake fails the notebook when the claim
stops being true (`CheckFailed`), and a reader sees one line of evidence, e.g.
`✔ 9 requests: 6 x 503, then 3 x 200`.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from github_stars.lab.measure import (
    MeasuredRun,
    budget_overshoot,
    max_concurrent,
    requests_frame,
    retry_gaps,
)
from github_stars.lab.result_store import fresh_results
from github_stars.simulator import Simulator
from github_stars.simulator.snapshot import SNAPSHOT_DATE, snapshot_stars


class CheckFailed(AssertionError):
    """A lesson's claim did not hold; the message says what was expected and what was seen."""


def check(claim: str, holds: bool, seen: str = "") -> None:
    """Print `✔ claim`, or raise `CheckFailed` with the claim and what was `seen`."""
    if not holds:
        raise CheckFailed(f"expected: {claim}" + (f"; seen: {seen}" if seen else ""))
    print(f"✔ {claim}")


def describe_statuses(requests: pd.DataFrame) -> str:
    """`9 requests: 6 x 503, then 3 x 200`: counts per status, in order of first appearance."""
    if requests.empty:
        return "0 requests"
    counts = requests.sort_values("start")["status"].value_counts(sort=False)
    parts = ", then ".join(f"{count} x {status}" for status, count in counts.items())
    return f"{len(requests)} request{'s' * (len(requests) != 1)}: {parts}"


def check_requests(sim: Simulator, expected: Mapping[int, int]) -> pd.DataFrame:
    """Check the simulator saw exactly `expected` requests per status; return them as a table.

    `expected` maps status to count, e.g. `{503: 6, 200: 3}`.
    """
    requests = requests_frame(sim.requests())
    seen = requests["status"].value_counts().to_dict() if len(requests) else {}
    check(
        describe_statuses(requests), seen == dict(expected), f"{seen} instead of {dict(expected)}"
    )
    return requests


def check_stars(stars: Mapping[str, int]) -> None:
    """Check every star count against the snapshot the simulator serves."""
    truth = snapshot_stars()
    wrong = {repo: count for repo, count in stars.items() if truth.get(repo.lower()) != count}
    check(
        f"{len(stars)} star counts match the snapshot of {SNAPSHOT_DATE}",
        not wrong,
        f"differ: {wrong}",
    )


@dataclass
class RunRecord:
    """What one flow run returned and which requests it made (counted per status: concurrent
    requests finish in any order)."""

    stars: Any
    statuses: str


def count_statuses(requests: pd.DataFrame) -> str:
    """`7 requests: 3 x 200, 4 x 404`: counts per status, by status code."""
    counts = requests["status"].value_counts().sort_index()
    parts = ", ".join(f"{count} x {status}" for status, count in counts.items())
    return f"{len(requests)} request{'s' * (len(requests) != 1)}" + (f": {parts}" if parts else "")


def _record_runs(
    flow: Callable[..., Any], sim: Simulator, repos: list[str], runs: int, args: tuple
) -> list[RunRecord]:
    records = []
    with fresh_results():  # nothing cached by an earlier run, yours or the step's
        for _ in range(runs):
            sim.reset()
            stars = flow(repos, *args)
            records.append(RunRecord(stars, count_statuses(requests_frame(sim.requests()))))
    return records


def check_same_as_step(
    mine: Callable[..., Any],
    step: Any,
    sim: Simulator,
    repos: list[str],
    *args: Any,
    runs: int = 1,
) -> None:
    """Run your flow and `step.show_stars` alike (`flow(repos, *args)`), `runs` times each;
    check they behave the same.

    Same results and the same requests (counted per status) in every run, each flow starting
    with nothing cached. The simulator keeps its knobs, so both meet the same faults and limits.
    """
    ours, theirs = (_record_runs(flow, sim, repos, runs, args) for flow in (mine, step.show_stars))
    name = step.__name__.rsplit(".", 1)[-1]  # "plain", not "github_stars.steps.plain"
    summary = "; ".join(f"run {i}: {record.statuses}" for i, record in enumerate(ours, 1))
    check(
        f"your show_stars behaves like {name}.show_stars ({summary})",
        ours == theirs,
        f"yours {ours}, {name}'s {theirs}",
    )


@contextlib.contextmanager
def expect_failure(exception: type[BaseException]) -> Iterator[None]:
    """`with expect_failure(HTTPStatusError): ...` for a cell whose point is that it fails.

    Prints the exception's first line (httpx adds a second one, a link to MDN).
    """
    try:
        yield
    except exception as exc:
        first_line = next(iter(str(exc).splitlines()), "")
        print(f"✔ failed as expected: {type(exc).__name__}: {first_line}")
    else:
        raise CheckFailed(f"expected {exception.__name__}, but nothing failed")


def check_one_at_a_time(requests: pd.DataFrame, latency: float | None = None) -> None:
    """Check no two requests were in flight at once (and, given `latency`, the wait it costs).

    Prints e.g. `✔ 3 requests, one at a time: the last ended 0.62 s after the first began`;
    with `latency`, also checks that span is at least `len(requests) x latency`.
    """
    most = max_concurrent(requests) if len(requests) else 0
    span = float(requests["end"].max() - requests["start"].min()) if len(requests) else 0.0
    claim = (
        f"{len(requests)} requests, one at a time: "
        f"the last ended {span:.2f} s after the first began"
    )
    holds = len(requests) > 0 and most == 1
    if latency is not None:
        claim += f" (at least {len(requests)} x {latency:g} s)"
        holds = holds and span >= len(requests) * latency
    check(claim, holds, f"{len(requests)} requests, up to {most} at once, over {span:.2f} s")


def check_faster(before: MeasuredRun, after: MeasuredRun, at_least: float = 2.0) -> None:
    """Check `after` made as many requests as `before`, overlapped them and was faster.

    Prints e.g. `✔ 10 requests, up to 10 at once; 5.1 s → 1.2 s (4.3x faster, at least 2x)`.
    """
    speedup = before.seconds / after.seconds if after.seconds > 0 else float("inf")
    most = max_concurrent(after.requests) if len(after.requests) else 0
    claim = (
        f"{len(after.requests)} requests, up to {most} at once; {before.seconds:.1f} s → "
        f"{after.seconds:.1f} s ({speedup:.1f}x faster, at least {at_least:g}x)"
    )
    holds = len(after.requests) == len(before.requests) and most > 1 and speedup >= at_least
    check(claim, holds, f"{len(before.requests)} requests before, {len(after.requests)} after")


def check_retry_gaps(
    requests: pd.DataFrame, delays: list[float], label: str = "measured"
) -> pd.DataFrame:
    """Check each retry waited at least its configured delay; return the gaps.

    `delays[i]` is the delay before retry `i + 1` (the last one repeats, as in Prefect). The
    gaps are measured from the end of one request to the start of the next for the same
    repository (`retry_gaps`); the returned table has `repo`, `retry`, `gap`, `expected` and
    `label`, ready for `charts.plot_retry_gaps`.
    """
    gaps = retry_gaps(requests)
    gaps = gaps.assign(
        expected=[delays[min(retry, len(delays)) - 1] for retry in gaps["retry"]], label=label
    )
    short = gaps[gaps["gap"] < gaps["expected"] - 0.001]  # 1 ms for clock resolution
    measured = ", ".join(f"{gap:.2f}" for gap in gaps["gap"])
    configured = ", ".join(f"{delay:g}" for delay in gaps["expected"])
    check(
        f"{len(gaps)} retries, each after at least its delay: waited {measured} s "
        f"(configured {configured} s)",
        len(gaps) > 0 and short.empty,
        f"too short: {short.to_dict('records')}",
    )
    return gaps


def check_limit(name: str, limit: int, slot_decay_per_second: float) -> None:
    """Check the Prefect server this kernel uses has the global concurrency limit `name`
    with `limit` slots and `slot_decay_per_second`, as `prefect gcl inspect` would show it.

    Prints e.g. `✔ github-api on http://127.0.0.1:4200/api: limit 60, slot decay 0.016/s`.
    """
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            found = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            found = None
        api_url = client.api_url
    seen = (
        f"limit {found.limit}, slot decay {found.slot_decay_per_second:g}/s"
        if found
        else "no such limit"
    )
    check(
        f"{name} on {api_url}: limit {limit}, slot decay {slot_decay_per_second:g}/s",
        found is not None
        and found.limit == limit
        and abs((found.slot_decay_per_second or 0.0) - slot_decay_per_second) < 1e-9,
        seen,
    )


def check_task_runs(
    flow_run_id: Any, task: str, state: str, count: int, task_runs: int
) -> pd.DataFrame:
    """Check that Prefect's API recorded `count` runs of `task` in the flow run, all `state`.

    `task_runs` is how many task runs the flow run has in all (every task), so the check
    waits until the API has them all (`measure.task_run_states`). Prints e.g.
    `✔ 3 fetch_stats task runs Cached`; returns every task run of the flow run.
    """
    from github_stars.lab.measure import task_run_states

    runs = task_run_states(flow_run_id, expected=task_runs)
    mine = runs[runs["task_run"].str.startswith(f"{task}-")]
    states = mine["state"].value_counts().to_dict()
    check(
        f"{count} {task} task run{'s' * (count != 1)} {state}",
        states == {state: count},
        f"{task} task runs: {states or 'none'}",
    )
    return runs


def check_under_budget(requests: pd.DataFrame, burst: int, per_second: float) -> None:
    """Check no request was refused and no interval held more requests than a token bucket of
    `burst`, refilled at `per_second`, allows (`budget_overshoot` below 1: not one whole
    request too many, whatever the moment each request reached the API).

    Prints e.g. `✔ 12 requests: 12 x 200, none refused, never more than 2 + 4 × t in any t
    seconds`.
    """
    overshoot = budget_overshoot(requests, burst, per_second)
    refused = int(requests["rejected"].sum()) if len(requests) else 0
    check(
        f"{describe_statuses(requests)}, none refused, never more than "
        f"{burst} + {per_second:g} × t in any t seconds",
        len(requests) > 0 and refused == 0 and overshoot < 1,
        f"{refused} refused; the fullest interval held {overshoot:+.2f} requests over the budget",
    )


# The escape sequences a terminal's colours are made of (rich colours Prefect's log lines).
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def finished_states(log: Iterable[str] | str, task: str) -> Counter[str]:
    """How many runs of `task` a Prefect log says finished in each state, e.g.
    `Counter({"Cached(type=COMPLETED)": 3})` from lines like
    `Task run 'fetch_stats-90f' - Finished in state Cached(type=COMPLETED)`."""
    text = log if isinstance(log, str) else "\n".join(log)
    pattern = re.compile(rf"Task run '{re.escape(task)}-\w+' - Finished in state (\S+)")
    return Counter(pattern.findall(ANSI_ESCAPE.sub("", text)))


def check_log_finished(log: Iterable[str] | str, task: str, state: str, count: int) -> None:
    """Check a run's log (the lines a terminal shows) says `count` runs of `task` finished in
    `state`, and no run of it in another state.

    Prints e.g. `✔ the log shows 3 fetch_stats task runs Finished in state
    Cached(type=COMPLETED)`.
    """
    states = finished_states(log, task)
    check(
        f"the log shows {count} {task} task run{'s' * (count != 1)} Finished in state {state}",
        states == Counter({state: count}),
        f"{task} finished: {dict(states) or 'no such line'}",
    )
