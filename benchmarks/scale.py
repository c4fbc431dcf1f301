"""The finished pipeline at scale (`run.py --scale`), on a Prefect server on SQLite and on one
on PostgreSQL.

Each run is `python -m github_stars NAME ...` in a subprocess, as users run it, with
`PREFECT_API_URL` pointing at a server started beforehand (its start-up is not timed) and
`GITHUB_API_URL` at the simulator, which enforces the budget: at most burst + ceil(rate)
requests in any second, else 429 (`pipeline_rejections` counts those refusals). Per database:

- token budget: 10 requests at once, then 1.39/s (GitHub's 5,000/hour), enough repositories
  for a window of at least 60 s after the burst; `achieved rate / budget` is the efficiency,
  "after the burst" meaning after the request that first emptied the token bucket (a sender
  slower than the budget at the start has refill to spend later: counting from request
  number `limit` would credit it with more than the budget);
- full snapshot: all 2,787 repositories at 50 requests/s (burst 50) into an empty result
  cache: wall seconds, the CLI's peak RSS, and the efficiency at 50/s over that run;
- its re-run: every result comes from the cache (0 requests).

Runs are cut at a deadline (a timed-out run is reported with how far it got and a
projection, never as a pass), so `--scale` fits in about 8 minutes.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

from github_stars.lab.measure import achieved_rate, requests_frame
from github_stars.servers import PostgresCluster, PrefectServer, Simulator
from github_stars.settings import RateBudget, process_environment

# A token's 5,000 requests/hour (1.39/s); a burst of 10, so the run is mostly the steady state.
TOKEN_BUDGET = RateBudget(limit=10, per_second=round(5000 / 3600, 2))
FAST_BUDGET = RateBudget(limit=50, per_second=50.0)
DATABASES = ("sqlite", "postgresql")

TARGETS = {  # key: (comparison, threshold)
    "pipeline_efficiency_token_budget": (">=", 0.95),
    "pipeline_efficiency_fast_budget": (">=", 0.8),
    "pipeline_rejections": ("==", 0),
    "full_snapshot_seconds": ("<=", 90.0),
    "full_snapshot_cached_seconds": ("<=", 30.0),
    "full_snapshot_peak_rss_mb": ("<=", 600.0),
}


@dataclass(frozen=True)
class ScalePlan:
    """How big each run is and when it is cut."""

    mode: str
    token_budget: RateBudget
    token_window_s: float  # seconds of requests after the burst
    fast_budget: RateBudget
    full_repos: int | None  # None: the whole snapshot
    token_timeout_s: float
    full_timeout_s: float
    cached_timeout_s: float


SCALE_PLANS = {
    "scale": ScalePlan("scale", TOKEN_BUDGET, 64.0, FAST_BUDGET, None, 110.0, 95.0, 40.0),
    # seconds, for the test suite: tiny budgets, a handful of repositories
    "scale-smoke": ScalePlan(
        "scale-smoke", RateBudget(3, 3.0), 2.0, RateBudget(5, 10.0), 20, 90.0, 90.0, 60.0
    ),
}


def token_repos(plan: ScalePlan) -> int:
    """Repositories for the token-budget run: the burst plus a window of requests after it."""
    budget = plan.token_budget
    return budget.limit + math.ceil(budget.per_second * plan.token_window_s) + 1


def burst_end(starts: np.ndarray, budget: RateBudget) -> int:
    """Index of the request after which a token bucket (`limit`, refilled at `per_second`)
    first held less than one request: from there on the budget bounds the sender. When the
    bucket never ran dry (the sender was slower than the budget), index `limit`."""
    t = np.sort(np.asarray(starts, dtype=float))
    tokens, previous = float(budget.limit), t[0] if len(t) else 0.0
    for index, start in enumerate(t):
        tokens = min(float(budget.limit), tokens + budget.per_second * (start - previous)) - 1
        previous = start
        if tokens < 1:
            return index
    return min(budget.limit, max(len(t) - 1, 0))


# A rate is not measured over less than this: when the bucket first ran dry only near the end
# (a sender slower than the budget almost throughout), the window starts at request `limit`.
MIN_WINDOW_S = 10.0


def window_start(starts: np.ndarray, budget: RateBudget) -> int:
    """Index of the first request of the window the efficiency is measured over.

    `burst_end`, unless fewer than `MIN_WINDOW_S` seconds of requests follow it; then
    request `limit` (after the burst a full bucket allows).
    """
    t = np.sort(np.asarray(starts, dtype=float))
    if len(t) == 0:
        return 0
    dry = burst_end(t, budget)
    if t[-1] - t[dry] >= MIN_WINDOW_S:
        return dry
    return min(budget.limit, len(t) - 1)


def bucket_overshoot(starts: np.ndarray, budget: RateBudget) -> float:
    """Most requests beyond a token bucket (`limit`, refilled at `per_second`) in any interval.

    `max over i <= j of (j - i + 1) - limit - rate * (t_j - t_i)`, in one pass; 0 or less
    when every interval is within the budget (`lab.measure.budget_overshoot`, in O(n)).
    """
    t = np.sort(np.asarray(starts, dtype=float))
    if len(t) == 0:
        return 0.0
    index = np.arange(len(t))
    best_start = np.maximum.accumulate(budget.per_second * t - index)
    return float((index + 1 - budget.per_second * t + best_start).max() - budget.limit)


class RssSampler:
    """Peak resident memory of a process (and its children), sampled every `interval` s."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.peak_bytes = 0
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                tree = [self._process, *self._process.children(recursive=True)]
                self.peak_bytes = max(self.peak_bytes, sum(p.memory_info().rss for p in tree))
            self._stop.wait(self._interval)

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        return self.peak_bytes / 1e6


def run_cli(names: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """`python -m github_stars NAMES` with `env`, cut after `timeout` s; what it printed."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "github_stars", *names],
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        sampler = RssSampler(process.pid)
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            process.kill()
            process.wait()
        except BaseException:  # interrupted: the run does not outlive the benchmark
            process.kill()
            raise
        seconds = time.perf_counter() - started
        peak = sampler.stop()
        out.seek(0)
        err.seek(0)
        lines = out.read().splitlines()
        stderr_tail = err.read()[-1500:]
    stars = [line for line in lines if line.endswith(" stars")]
    return {
        "seconds": seconds,
        "timed_out": timed_out,
        "returncode": process.returncode,
        "repos": len(names),
        "results_ok": len(stars),
        "results_failed": sum(": error: " in line for line in lines),
        "peak_rss_mb": peak,
        "stderr_tail": stderr_tail if process.returncode else "",
    }


def pipeline_env(
    api_url: str, sim: Simulator, budget: RateBudget, storage: Path, home: Path
) -> dict[str, str]:
    """The CLI's environment (its settings' edge): the server, the simulator, the budget, a
    result-cache folder, no token."""
    return process_environment(
        {
            "PREFECT_API_URL": api_url,
            "GITHUB_API_URL": sim.url,
            "PREFECT_HOME": str(home),
            "PREFECT_LOCAL_STORAGE_PATH": str(storage),
            "GITHUB_STARS_RATE_LIMIT": str(budget.limit),
            "GITHUB_STARS_RATE_PER_SECOND": str(budget.per_second),
            "GITHUB_TOKEN": None,
        }
    )


def enforce_budget(sim: Simulator, budget: RateBudget) -> int:
    """Make the simulator refuse (429) more than burst + ceil(rate) requests in any second."""
    allowed = budget.limit + math.ceil(budget.per_second)
    sim.configure(
        secondary_limit=allowed, secondary_window=1.0, rate_limit=1_000_000, rate_limit_status=429
    )
    sim.reset()
    return allowed


def pipeline_run(
    sim: Simulator, names: list[str], env: dict[str, str], budget: RateBudget, timeout: float
) -> dict[str, Any]:
    """One CLI run against the simulator enforcing `budget`; its requests and rates."""
    allowed = enforce_budget(sim, budget)
    run = run_cli(names, env, timeout)
    frame = requests_frame(sim.requests())
    accepted = frame[~frame["rejected"]]
    starts = accepted["start"].sort_values().to_numpy()
    burst = window_start(starts, budget)
    after_burst = starts[burst:]
    rate = achieved_rate(accepted, skip_burst=burst)
    run.update(
        {
            "budget_limit": budget.limit,
            "budget_per_second": budget.per_second,
            "simulator_allows_per_second_window": allowed,
            "requests": len(frame),
            "rejections": int(frame["rejected"].sum()),
            "requests_span_s": float(starts[-1] - starts[0]) if len(starts) > 1 else 0.0,
            "burst_requests": int(burst),
            "window_after_burst_s": float(after_burst[-1] - after_burst[0])
            if len(after_burst) > 1
            else 0.0,
            "achieved_per_second": rate,
            "efficiency": rate / budget.per_second if not math.isnan(rate) else None,
            "bucket_overshoot": bucket_overshoot(starts, budget),
        }
    )
    return {**run, "_frame": frame}


@contextlib.contextmanager
def prefect_server_on(database: str) -> Iterator[tuple[PrefectServer, Any]]:
    """A Prefect server on `database` ('sqlite' or 'postgresql'); yields (server, cluster)."""
    if database == "sqlite":
        with PrefectServer() as server:
            yield server, None
        return
    with PostgresCluster() as cluster, PrefectServer(database_url=cluster.url) as server:
        yield server, cluster


def flow_runs_in_database(server: PrefectServer, cluster: Any) -> tuple[str, int]:
    """Which database holds the server's flow runs, and how many `show-stars` runs it has."""
    query = (
        "SELECT count(*) FROM flow_run JOIN flow ON flow.id = flow_run.flow_id "
        "WHERE flow.name = 'show-stars'"
    )
    if cluster is not None:
        return "postgresql", int(cluster.psql(query))
    with contextlib.closing(sqlite3.connect(server.home / "prefect.db", timeout=30)) as db:
        return "sqlite", int(db.execute(query).fetchone()[0])


def database_scenario(
    database: str, sim: Simulator, names: list[str], plan: ScalePlan
) -> dict[str, Any]:
    """Token-budget run, full snapshot, cached re-run on one Prefect server on `database`."""
    work = Path(tempfile.mkdtemp(prefix="github-stars-bench-scale-"))
    try:
        with prefect_server_on(database) as (server, cluster):
            home = work / "client-home"

            def env(budget: RateBudget, storage: str) -> dict[str, str]:
                return pipeline_env(server.api_url, sim, budget, work / storage, home)

            token = pipeline_run(
                sim,
                names[: token_repos(plan)],
                env(plan.token_budget, "t"),
                plan.token_budget,
                plan.token_timeout_s,
            )
            full_names = names[: plan.full_repos] if plan.full_repos else names
            full = pipeline_run(
                sim,
                full_names,
                env(plan.fast_budget, "full"),
                plan.fast_budget,
                plan.full_timeout_s,
            )
            if full["timed_out"]:
                cached = None
            else:
                cached = pipeline_run(
                    sim,
                    full_names,
                    env(plan.fast_budget, "full"),
                    plan.fast_budget,
                    plan.cached_timeout_s,
                )
            served_by, flow_runs = flow_runs_in_database(server, cluster)
            server_start = server.start_seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summarise_database(database, served_by, flow_runs, server_start, token, full, cached)


def summarise_database(
    database: str,
    served_by: str,
    flow_runs: int,
    server_start: float,
    token: dict,
    full: dict,
    cached: dict | None,
) -> dict[str, Any]:
    """The headline keys of one database, plus each run's details."""
    projected = None
    if full["timed_out"] and full["requests"]:
        projected = full["seconds"] * full["repos"] / full["requests"]
    return {
        "database": served_by,
        "requested_database": database,
        "flow_runs_in_database": flow_runs,
        "server_start_s": server_start,
        "pipeline_efficiency_token_budget": token["efficiency"],
        "pipeline_efficiency_fast_budget": full["efficiency"],
        "pipeline_rejections": token["rejections"]
        + full["rejections"]
        + (cached["rejections"] if cached else 0),
        "full_snapshot_seconds": None if full["timed_out"] else full["seconds"],
        "full_snapshot_projected_seconds": projected,
        "full_snapshot_cached_seconds": cached["seconds"]
        if cached and not cached["timed_out"]
        else None,
        "full_snapshot_cached_requests": cached["requests"] if cached else None,
        "full_snapshot_peak_rss_mb": full["peak_rss_mb"],
        "runs": {"token_budget": token, "full_snapshot": full, "cached_rerun": cached},
    }


def evaluate(summary: dict[str, Any], databases: list[str]) -> dict[str, bool]:
    """`met` for each target key (and its `_postgres` twin)."""
    met = {}
    for database in databases:
        suffix = "" if database == "sqlite" else "_postgres"
        for key, (op, threshold) in TARGETS.items():
            value = summary.get(key + suffix)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                met[key + suffix] = False
            elif op == ">=":
                met[key + suffix] = bool(value >= threshold)
            elif op == "<=":
                met[key + suffix] = bool(value <= threshold)
            else:
                met[key + suffix] = bool(value == threshold)
    return met


def measure_scale(plan: ScalePlan, databases: list[str]) -> dict[str, Any]:
    """Every database's scenario against one simulator; JSON-ready results (+ frames)."""
    from github_stars.servers import free_port, start_simulator
    from github_stars.simulator.snapshot import snapshot_repo_names

    names = snapshot_repo_names()
    sim = start_simulator(port=free_port())
    per_database = {}
    try:
        for database in databases:
            per_database[database] = database_scenario(database, sim, names, plan)
    finally:
        sim.stop()
    summary: dict[str, Any] = {}
    for database, result in per_database.items():
        suffix = "" if database == "sqlite" else "_postgres"
        for key in (
            *TARGETS,
            "database",
            "full_snapshot_projected_seconds",
            "full_snapshot_cached_requests",
            "server_start_s",
        ):
            summary[key + suffix] = result[key]
    return {
        "summary": summary,
        "met": evaluate(summary, databases),
        "targets": {k: f"{op} {v:g}" for k, (op, v) in TARGETS.items()},
        "databases": per_database,
    }


def frames_of(results: dict[str, Any]) -> dict[str, dict[str, pd.DataFrame]]:
    """Pop the request frames out of the results (they do not go into the JSON)."""
    return {
        database: {run: details.pop("_frame") for run, details in result["runs"].items() if details}
        for database, result in results["databases"].items()
    }
