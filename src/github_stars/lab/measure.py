"""Measurements the lessons compute and assert: wall time, request logs, achieved rates."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any
from uuid import UUID

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from github_stars.simulator import Simulator

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


def time_interleaved(runs: Mapping[str, Callable[[], Any]], rounds: int = 3) -> pd.DataFrame:
    """Wall seconds of each run in `runs`, once per round, for `rounds` rounds (interleaved).

    One row per round, one column per label. Interleaving spreads a slow moment of the
    machine over all runs; compare medians, which one slow round cannot move.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    rows = []
    for _ in range(rounds):
        row = {}
        for label, run in runs.items():
            with Stopwatch() as watch:
                run()
            row[label] = watch.seconds
        rows.append(row)
    return pd.DataFrame(rows, index=pd.RangeIndex(1, rounds + 1, name="round"))


def requests_frame(log: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The simulator's request log as a DataFrame, times in seconds from the first request."""
    frame = pd.DataFrame(
        list(log),
        columns=["t_start", "t_end", "method", "path", "repo", "status", "kind", "authenticated"],
    )
    if frame.empty:
        return frame.assign(
            start=pd.Series(dtype=float), end=pd.Series(dtype=float), rejected=pd.Series(dtype=bool)
        )
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


# Slots are granted on the Prefect server; the simulator logs when requests arrive. A thread or
# process the busy machine does not schedule for a moment sends the requests it was granted
# late, together with others' later ones. Arrivals up to this many seconds late are jitter: a
# token bucket's arrivals then exceed the budget by at most `per_second * ARRIVAL_JITTER`.
ARRIVAL_JITTER = 1.0


def budget_overshoot(frame: pd.DataFrame, burst: int, per_second: float) -> float:
    """How far the requests exceed a token bucket (`burst`, refilled at `per_second`).

    The most requests sent in any interval minus what the bucket allows in it,
    `burst + per_second * length`; 0 or less when every interval is within the budget.
    """
    starts = np.sort(frame["start"].to_numpy())
    if len(starts) == 0:
        return 0.0
    first, last = np.triu_indices(len(starts))
    sent = last - first + 1
    return float((sent - (burst + per_second * (starts[last] - starts[first]))).max())


def max_in_window(frame: pd.DataFrame, window: float) -> int:
    """Most requests that started within any `window` seconds (sliding)."""
    starts = frame["start"].sort_values().to_numpy()
    best, left = 0, 0
    for right, start in enumerate(starts):
        while start - starts[left] >= window:
            left += 1
        best = max(best, right - left + 1)
    return best


def max_concurrent(frame: pd.DataFrame) -> int:
    """Most requests in flight at the same moment (one ending as another starts: no overlap)."""
    events = sorted([(end, -1) for end in frame["end"]] + [(start, 1) for start in frame["start"]])
    best = in_flight = 0
    for _, change in events:
        in_flight += change
        best = max(best, in_flight)
    return best


def retry_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """Per repository, the seconds between the end of one attempt and the start of the next.

    Columns: `repo`, `retry` (1 for the gap before the first retry, ...), `gap`.
    """
    ordered = frame.sort_values("start")
    by_repo = ordered.groupby("repo", sort=False)
    gaps = ordered.assign(retry=by_repo.cumcount(), gap=ordered["start"] - by_repo["end"].shift())
    return gaps.dropna(subset=["gap"])[["repo", "retry", "gap"]].reset_index(drop=True)


def task_run_states(flow_run_id: UUID, expected: int, timeout: float = 30.0) -> pd.DataFrame:
    """The task runs of a flow run as Prefect's API recorded them, one row per task run.

    Columns: `task_run` (name), `state` (final state name), `run_count` (attempts) and
    `history` (state names in order, as the UI shows them). States reach the API
    asynchronously, so this polls until `expected` task runs have a final state.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    run_filter = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=run_filter)
            histories = {
                run.id: sorted(client.read_task_run_states(run.id), key=lambda s: s.timestamp)
                for run in runs
            }
            # In the order the task runs began (their first state's client-side timestamp;
            # the server may record them in batches, so `created` can tie or reorder).
            runs = sorted(
                runs,
                key=lambda run: (
                    histories[run.id][0].timestamp if histories[run.id] else run.created
                ),
            )
            rows = [
                {
                    "task_run": run.name,
                    "state": run.state.name if run.state else None,
                    "run_count": run.run_count,
                    "history": [s.name for s in histories[run.id]],
                }
                for run in runs
                if run.state and run.state.is_final()
            ]
            settled = all(row["history"] and row["history"][-1] == row["state"] for row in rows)
            if (len(rows) >= expected and settled) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    if len(rows) < expected:
        raise TimeoutError(f"{len(rows)} of {expected} task runs finished within {timeout} s")
    return pd.DataFrame(rows, columns=["task_run", "state", "run_count", "history"])


def describe_limit(name: str) -> str:
    """The global concurrency limit `name` as the Prefect server this process uses stores it,
    in one line: `github-api: limit 60, slot decay 0.016/s, 3 slots taken` (what
    `prefect gcl inspect` shows, without starting a command), or `github-api: no such limit`.
    """
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            found = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            return f"{name}: no such limit"
    decay = found.slot_decay_per_second or 0.0
    taken = f"{found.active_slots} slot{'s' * (found.active_slots != 1)} taken"
    return f"{name}: limit {found.limit}, slot decay {decay:g}/s, {taken}"


def connect_to_prefect() -> str:
    """Reach the Prefect API now and return its URL, so later timings exclude start-up.

    Without `PREFECT_API_URL` this starts the kernel's temporary Prefect server (20 s or more),
    which would otherwise land in the first measured flow run.
    """
    from prefect import get_client

    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
        if problem is not None:
            raise RuntimeError(f"Prefect API at {client.api_url} is not healthy: {problem}")
        return str(client.api_url)


@dataclass
class MeasuredRun:
    """One measured run: what it returned, its wall time and the requests the simulator saw."""

    result: Any
    seconds: float
    requests: pd.DataFrame


def measure_run(sim: Simulator, run: Callable[..., Any], *args: Any, **kwargs: Any) -> MeasuredRun:
    """Empty `sim`'s request log, time `run(*args, **kwargs)` and collect its requests."""
    sim.reset()
    with Stopwatch() as watch:
        result = run(*args, **kwargs)
    return MeasuredRun(result, watch.seconds, requests_frame(sim.requests()))


class PeakThreads:
    """The most threads alive at once in this process while the block runs.

    A background thread samples `threading.active_count()` every `every` seconds (itself not
    counted); `peak` is the highest sample, `before` the count when the block began.
    """

    def __init__(self, every: float = 0.1) -> None:
        self.every = every
        self.before = 0
        self.peak = 0
        self._done = threading.Event()
        self._sampler: threading.Thread | None = None

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, threading.active_count() - 1)  # not the sampler
            if self._done.wait(self.every):
                return

    def __enter__(self) -> PeakThreads:
        self.before = self.peak = threading.active_count()
        self._done.clear()
        self._sampler = threading.Thread(target=self._sample, name="peak-threads", daemon=True)
        self._sampler.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        if self._sampler is not None:
            self._sampler.join()
