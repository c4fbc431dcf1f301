"""For the optional lesson "Scale out on Dask": workers warmed up, which worker processes ran
tasks, GitHub's pause, the budget.

Each check prints one line of evidence through `checks.check`, or raises `CheckFailed`.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from github_stars.lab.checks import check
from github_stars.lab.measure import ARRIVAL_JITTER, budget_overshoot


def import_module(module: str) -> str:
    """Import `module` in this process (a worker's, through `client.run`); its name."""
    importlib.import_module(module)
    return module


def import_in_workers(client: Any, module: str) -> float:
    """Import `module` now in every worker process of `client`'s Dask cluster (`client.run`),
    so that a measured run does not pay for it; the seconds it took, the lab's own import in
    the workers included."""
    started = time.perf_counter()
    client.run(import_module, module)
    return round(time.perf_counter() - started, 1)


def workers_used(task_stream: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Tasks per worker address in a Dask task stream (`distributed.get_task_stream().data`)."""
    counts: dict[str, int] = {}
    for entry in task_stream:
        counts[entry["worker"]] = counts.get(entry["worker"], 0) + 1
    return counts


def check_workers(task_stream: Iterable[Mapping[str, Any]], processes: int) -> dict[str, int]:
    """Check that `processes` different Dask worker processes ran tasks; returns the counts."""
    counts = workers_used(task_stream)
    shares = ", ".join(str(n) for n in sorted(counts.values(), reverse=True))
    check(
        f"{sum(counts.values())} tasks ran in {len(counts)} worker processes ({shares})",
        len(counts) == processes,
        f"{len(counts)} worker processes instead of {processes}",
    )
    return counts


# A refusal reaches the other processes through the Prefect server (a write, then their reads):
# requests past their pause check before that may still start in the pause's first moments,
# up to a second on a busy machine.
PAUSE_NEWS = 1.0


def requests_during_pause(
    requests: pd.DataFrame, retry_after: float, grace: float = PAUSE_NEWS
) -> pd.DataFrame:
    """Requests that started while a 429's `Retry-After` held, after a `grace` period.

    `requests` is `measure.requests_frame(...)` (times in seconds). The pause runs from the
    end of each 429 for `retry_after` s; requests already past their wait when the refusal
    came back may still start in its first `grace` seconds.
    """
    refusals = requests[requests["status"] == 429]
    during = pd.Series(False, index=requests.index)
    for end in refusals["end"]:
        during |= (requests["start"] > end + grace) & (requests["start"] < end + retry_after)
    return requests[during]


def check_pause_held(requests: pd.DataFrame, retry_after: float, grace: float = PAUSE_NEWS) -> None:
    """Check that after each 429 no request started before its `Retry-After` had passed."""
    refusals = int((requests["status"] == 429).sum())
    during = requests_during_pause(requests, retry_after, grace)
    later = (
        int(
            (
                requests["start"]
                >= requests.loc[requests["status"] == 429, "end"].min() + retry_after
            ).sum()
        )
        if refusals
        else 0
    )
    check(
        f"{refusals} refusal(s) with Retry-After {retry_after:g} s: no request from any "
        f"worker in the pause (after its first {grace:g} s), {later} after it",
        refusals > 0 and during.empty and later > 0,
        f"{len(during)} requests during the pause, {refusals} refusals, {later} after",
    )


def check_within_budget(requests: pd.DataFrame, burst: int, per_second: float) -> None:
    """Check that no interval saw more requests than `burst + per_second * its length`, with
    arrivals up to `ARRIVAL_JITTER` seconds after their slot (still far below what an unlimited
    run sends at once)."""
    over = budget_overshoot(requests, burst, per_second)
    slack = per_second * ARRIVAL_JITTER
    check(
        f"{len(requests)} requests, never more than {burst} + {per_second:g}/s in any interval "
        f"(worst interval: {over:+.1f} requests; arrivals up to {ARRIVAL_JITTER:g} s late allow "
        f"{slack:g})",
        over <= slack,
        f"{over:.1f} requests over the budget",
    )
