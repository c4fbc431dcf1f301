"""The finished pipeline at scale, as users run it: a Prefect server on SQLite vs PostgreSQL.

    python -m benchmarks.scale [--quick | --smoke] [--databases sqlite,postgresql] [--out DIR]

Per database, `python -m github_stars NAME ...` in a fresh process on a Prefect server started
beforehand, against the simulator enforcing the budget: at a token's budget (1.39/s), all 2,787
snapshot repositories at 50/s and their cached re-run; on the last database, threads vs Dask
(`--dask-workers 2`). Method: benchmarks/README.md. Writes scale.json, .md and .png.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import main, met, prepare_environment, run_cli
from github_stars.lab.measure import achieved_rate, budget_overshoot, requests_frame
from github_stars.servers import PostgresCluster, PrefectServer, free_port, start_simulator
from github_stars.settings import RateBudget, process_environment
from github_stars.simulator.snapshot import snapshot_repo_names

TOKEN = RateBudget(limit=10, per_second=round(5000 / 3600, 2))  # a token's budget
FAST = RateBudget(limit=50, per_second=50.0)  # the simulator's default budget
# token budget, its window after the burst (s), the fast budget, repositories of the full run
# (None: all), deadlines (s) of the token, full, cached and each Dask comparison run, Dask sizes
PLANS = {
    "full": (TOKEN, 64.0, FAST, None, (110, 95, 40, 600), (200, 2787)),
    "quick": (TOKEN, 64.0, FAST, None, (110, 95, 40, 300), (200,)),
    "smoke": (RateBudget(3, 3.0), 2.0, RateBudget(5, 10.0), 20, (90, 90, 60, 120), (5,)),
}
TARGETS = {
    "efficiency_token_budget": ">= 0.95",
    "efficiency_fast_budget": ">= 0.8",
    "rejections": "== 0",
    "full_snapshot_s": "<= 90",
    "full_snapshot_cached_s": "<= 30",
    "full_snapshot_peak_rss_mb": "<= 600",
}
DATABASES = ["sqlite", "postgresql"]
MIN_WINDOW_S = 10.0  # a rate is never measured over less


def burst_end(starts: np.ndarray, budget: RateBudget) -> int:
    """Index of the request after which a token bucket (`limit`, refilled at `per_second`)
    first held less than one request, else `limit` (why: docs/decisions.md)."""
    t = np.sort(np.asarray(starts, dtype=float))
    tokens, previous = float(budget.limit), t[0] if len(t) else 0.0
    for index, start in enumerate(t):
        tokens = min(float(budget.limit), tokens + budget.per_second * (start - previous)) - 1
        previous = start
        if tokens < 1:
            return index
    return min(budget.limit, max(len(t) - 1, 0))


def window_start(starts: np.ndarray, budget: RateBudget) -> int:
    """The first request the efficiency counts: `burst_end`, unless less than `MIN_WINDOW_S`
    of requests follow it, then `limit` (why: docs/decisions.md)."""
    t = np.sort(np.asarray(starts, dtype=float))
    if len(t) == 0:
        return 0
    dry = burst_end(t, budget)
    return dry if t[-1] - t[dry] >= MIN_WINDOW_S else min(budget.limit, len(t) - 1)


def pipeline_run(sim: Any, names: list[str], env: dict, budget: RateBudget, deadline: float,
                 args: tuple[str, ...] = (), latency: float = 0.0) -> dict[str, Any]:  # fmt: skip
    """One command-line run against the simulator enforcing `budget`: its figures and rate."""
    allowed = budget.limit + math.ceil(budget.per_second)
    sim.configure(latency=latency, secondary_limit=allowed, rate_limit=10**6, rate_limit_status=429)
    sim.reset()
    run = run_cli([*args, *names], env, deadline)
    figures = rate_figures(requests_frame(sim.requests()), budget)
    return (
        run
        | figures
        | {
            "repos": len(names),
            "budget": f"{budget.limit} + {budget.per_second:g}/s",
            "projected_s": run["seconds"] * len(names) / max(figures["requests"], 1)
            if run["timed_out"]
            else None,
        }
    )


def rate_figures(frame: pd.DataFrame, budget: RateBudget) -> dict[str, Any]:
    """Requests, refusals and the efficiency at `budget`, from the simulator's request log
    (`lab.measure.requests_frame`)."""
    accepted = frame[~frame["rejected"]]
    first = window_start(accepted["start"].to_numpy(), budget)
    rate = achieved_rate(accepted, skip_burst=first)
    starts = np.sort(accepted["start"].to_numpy())[first:]
    return {
        "requests": len(frame),
        "rejections": int(frame["rejected"].sum()),
        "window_s": float(starts[-1] - starts[0]) if len(starts) > 1 else 0.0,
        "achieved_per_second": None if math.isnan(rate) else rate,
        "efficiency": None if math.isnan(rate) else rate / budget.per_second,
        "budget_overshoot": budget_overshoot(accepted, budget.limit, budget.per_second),
    }


def on_database(database: str, sim: Any, mode: str, dask: bool) -> dict[str, Any]:
    """The runs on a Prefect server on `database` (with `dask`, threads vs Dask too)."""
    token, window, fast, full_repos, deadlines, dask_sizes = PLANS[mode]
    names, work = snapshot_repo_names(), Path(tempfile.mkdtemp(prefix="bench-scale-"))
    token_n = token.limit + math.ceil(token.per_second * window) + 1
    planned = [  # name, repositories, budget, result cache, deadline, options, latency
        ("token_budget", names[:token_n], token, "token", deadlines[0], (), 0.0),
        ("full_snapshot", names[:full_repos], fast, "full", deadlines[1], (), 0.0),
        ("cached_rerun", names[:full_repos], fast, "full", deadlines[2], (), 0.0),
    ]
    for n in dask_sizes if dask else ():
        planned += [
            (f"threads_{n}", names[:n], fast, f"threads-{n}", deadlines[3], (), 0.2),
            (f"dask_{n}", names[:n], fast, f"dask-{n}", deadlines[3], ("--dask-workers", "2"), 0.2),
        ]
    runs: dict[str, Any] = {}
    try:
        with contextlib.ExitStack() as stack:
            cluster = stack.enter_context(PostgresCluster()) if database == "postgresql" else None
            server = stack.enter_context(PrefectServer(cluster and cluster.url, start_timeout=300))
            for name, repos, budget, cache, deadline, options, latency in planned:
                if name == "cached_rerun" and runs["full_snapshot"]["timed_out"]:
                    continue
                env = process_environment(
                    {
                        "PREFECT_API_URL": server.api_url,
                        "GITHUB_API_URL": sim.url,
                        "PREFECT_HOME": str(work / "home"),
                        "PREFECT_LOCAL_STORAGE_PATH": str(work / cache),
                        "GITHUB_STARS_HTTP_CACHE": str(work / cache / "http"),
                        "GITHUB_STARS_RATE_LIMIT": str(budget.limit),
                        "GITHUB_STARS_RATE_PER_SECOND": str(budget.per_second),
                        "GITHUB_TOKEN": None,
                    }
                )
                runs[name] = pipeline_run(sim, repos, env, budget, deadline, options, latency)
            query = "SELECT count(*) FROM flow_run JOIN flow ON flow.id = flow_id "
            query += "WHERE flow.name = 'show-stars'"  # which database kept the runs
            if cluster is None:
                with contextlib.closing(sqlite3.connect(server.home / "prefect.db")) as db:
                    served_by = f"sqlite ({db.execute(query).fetchone()[0]} flow runs)"
            else:
                served_by = f"postgresql ({cluster.psql(query)} flow runs)"
            server_start = server.start_seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)
    token, full, cached = runs["token_budget"], runs["full_snapshot"], runs.get("cached_rerun")
    headline = {  # the targets' keys (None where a run was cut or not run)
        "efficiency_token_budget": token["efficiency"],
        "efficiency_fast_budget": full["efficiency"],
        "rejections": sum(run["rejections"] for run in runs.values()),
        "full_snapshot_s": None if full["timed_out"] else full["seconds"],
        "full_snapshot_cached_s": cached["seconds"] if cached and not cached["timed_out"] else None,
        "full_snapshot_peak_rss_mb": full["peak_rss_mb"],
        "full_snapshot_projected_s": full["projected_s"],
        "cached_rerun_requests": cached["requests"] if cached else None,
        "prefect_server_start_s": server_start,
    }
    return {"summary": headline, "served_by": served_by, "runs": runs}


def measure(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    sim = start_simulator(port=free_port())
    try:
        last = args.databases[-1]
        databases = {db: on_database(db, sim, mode, db == last) for db in args.databases}
    finally:
        sim.stop()
    summary, checked = {}, {}
    for db, result in databases.items():
        for key, value in result["summary"].items():
            summary[f"{key}_{db}"] = value
            if key in TARGETS:
                checked[f"{key}_{db}"] = met(value, TARGETS[key])
    runs = databases[args.databases[-1]]["runs"]
    for n in PLANS[mode][-1]:  # a cut run counts with its projection
        dask, threads = runs[f"dask_{n}"], runs[f"threads_{n}"]
        seconds = [run["projected_s"] or run["seconds"] for run in (dask, threads)]
        summary[f"dask_over_threads_{n}"] = seconds[0] / seconds[1]
    return {"summary": summary, "met": checked, "targets": TARGETS, "databases": databases}


if __name__ == "__main__":
    prepare_environment()
    usage = "comma-separated, from sqlite,postgresql (Dask runs on the last)"
    databases = {"type": lambda text: text.split(","), "default": DATABASES, "help": usage}
    raise SystemExit(main("scale", measure, databases=databases))
