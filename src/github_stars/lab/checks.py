"""Short checks for the lessons: each checks one claim and prints what it verified.

A lesson calls one of these where it makes a claim; nbmake fails the notebook when the claim
stops being true (`CheckFailed`), and a reader sees one line of evidence, e.g.
`✔ 9 requests: 6 x 503, then 3 x 200`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from github_stars.lab.measure import requests_frame
from github_stars.lab.results import fresh_results
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
    check(describe_statuses(requests), seen == dict(expected),
          f"{seen} instead of {dict(expected)}")
    return requests


def check_stars(stars: Mapping[str, int]) -> None:
    """Check every star count against the snapshot the simulator serves."""
    truth = snapshot_stars()
    wrong = {repo: count for repo, count in stars.items() if truth.get(repo.lower()) != count}
    check(f"{len(stars)} star counts match the snapshot of {SNAPSHOT_DATE}", not wrong,
          f"differ: {wrong}")


@dataclass
class RunRecord:
    """What one flow run returned and which requests it made."""

    stars: Any
    statuses: str


def _record_runs(flow: Callable[..., Any], sim: Simulator, repos: list[str],
                 runs: int) -> list[RunRecord]:
    records = []
    with fresh_results():  # nothing cached by an earlier run, yours or the step's
        for _ in range(runs):
            sim.reset()
            stars = flow(repos)
            records.append(RunRecord(stars, describe_statuses(requests_frame(sim.requests()))))
    return records


def check_same_as_step(mine: Callable[..., Any], step: Any, sim: Simulator, repos: list[str],
                       runs: int = 1) -> None:
    """Run your flow and `step.show_stars` alike, `runs` times each; check they behave the same.

    Same stars and the same requests (counted per status) in every run, each flow starting with
    nothing cached. The simulator keeps its knobs, so both meet the same faults and limits.
    """
    ours, theirs = (_record_runs(flow, sim, repos, runs) for flow in (mine, step.show_stars))
    name = step.__name__
    summary = "; ".join(f"run {i}: {record.statuses}" for i, record in enumerate(ours, 1))
    check(f"your show_stars behaves like {name}.show_stars ({summary})", ours == theirs,
          f"yours {ours}, {name}'s {theirs}")


@contextlib.contextmanager
def expect_failure(exception: type[BaseException]) -> Iterator[None]:
    """`with expect_failure(TransientError): ...` for a cell whose point is that it fails."""
    try:
        yield
    except exception as exc:
        print(f"✔ failed as expected: {type(exc).__name__}: {exc}")
    else:
        raise CheckFailed(f"expected {exception.__name__}, but nothing failed")
