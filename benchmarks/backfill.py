"""The backfill of 100 snapshot repositories (all their pages) beside the daily run of the same
100, at the simulator's 50/s budget, on a Prefect server on PostgreSQL.

    python -m benchmarks.backfill [--smoke] [--database postgresql|sqlite] [--out DIR]

Against the simulator enforcing 50 + 50/s (its secondary limit: a 429 beyond), its calendar
frozen on day 1: `python -m github_stars NAME ... --history H` (the daily run), then
`python -m github_stars history H --backfill --from LIST` (a count and every page of each
repository's star history), each in a fresh process, the history on the same database as the
Prefect server. Per run: seconds, requests, refusals, efficiency (the rate after the burst over
the budget, as `scale.py` measures it), budget overshoot, the history's rows. Writes
backfill.json and backfill.md (no chart: the README's comes from `docs/backfill_chart.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, load_1m, met, prepare_environment, run_command
from benchmarks.scale import FAST, pipeline_run, rate_figures
from github_stars.settings import RateBudget

REPOS = {"full": 100, "smoke": 5}
DEADLINES = {"full": (120, 300), "smoke": (90, 120)}  # daily, backfill (s)
TARGETS = {"backfill_efficiency": ">= 0.8", "backfill_rejections": "== 0"}


def measured(sim: Any, budget: RateBudget, run: dict[str, Any]) -> dict[str, Any]:
    """The backfill's figures, as `scale.pipeline_run` measures a run of the pipeline."""
    from github_stars.lab.measure import requests_frame

    frame = requests_frame(sim.requests())
    pages = frame["path"].str.endswith("/stargazers/history").sum()
    return run | rate_figures(frame, budget) | {"history_pages": int(pages)}


def rows_by_source(location: str) -> dict[str, int]:
    from github_stars.core.star_history import StarHistory

    with StarHistory.open(location, read_only=True) as history:
        frame = history.frame()
    return {str(k): int(v) for k, v in frame["source"].value_counts().items()}


def measure(mode: str, database: str) -> dict[str, Any]:
    from github_stars.servers import PostgresCluster, PrefectServer, free_port, start_simulator
    from github_stars.servers.postgres import SUPERUSER
    from github_stars.settings import process_environment
    from github_stars.simulator.snapshot import snapshot_repo_names

    names = snapshot_repo_names()[: REPOS[mode]]
    work = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    (work / "repos.txt").write_text("\n".join(names) + "\n")
    sim = start_simulator(port=free_port())
    runs: dict[str, Any] = {}
    try:
        with contextlib.ExitStack() as stack:
            cluster = stack.enter_context(PostgresCluster()) if database == "postgresql" else None
            server = stack.enter_context(PrefectServer(cluster and cluster.url, start_timeout=300))
            location, secrets = str(work / "history.db"), {}
            if cluster is not None:
                cluster.psql('CREATE DATABASE "history"')
                location = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{cluster.port}/history"
                secrets = {"PGPASSWORD": cluster.password, "PGPASSFILE": str(work / "none")}
            env = process_environment(
                {
                    "PREFECT_API_URL": server.api_url,
                    "GITHUB_API_URL": sim.url,
                    "PREFECT_HOME": str(work / "home"),
                    "PREFECT_LOCAL_STORAGE_PATH": str(work / "results"),
                    "GITHUB_STARS_HTTP_CACHE": str(work / "http"),
                    "GITHUB_STARS_RATE_LIMIT": str(FAST.limit),
                    "GITHUB_STARS_RATE_PER_SECOND": str(FAST.per_second),
                    "GITHUB_TOKEN": None,
                    **secrets,
                }
            )
            sim.set_day(1)
            daily, backfill = DEADLINES[mode]  # the daily run enforces the budget (429 beyond)
            runs["daily"] = pipeline_run(sim, names, env, FAST, daily, ("--history", location))
            sim.reset()
            command = [sys.executable, "-m", "github_stars", "history", location, "--backfill"]
            done = run_command([*command, "--from", str(work / "repos.txt")], env, backfill)
            done["stderr_tail"] = done.pop("stderr")[-1500:] if done["returncode"] else ""
            runs["backfill"] = measured(sim, FAST, done)
            with contextlib.ExitStack() as secret:
                for name, value in secrets.items():  # the history's password, for reading it
                    secret.callback(os.environ.pop, name, None)
                    os.environ[name] = value
                rows = rows_by_source(location)
            server_start = server.start_seconds
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    backfilled = runs["backfill"]
    summary = {
        "backfill_efficiency": backfilled["efficiency"],
        "backfill_rejections": backfilled["rejections"],
        "backfill_s": None if backfilled["timed_out"] else backfilled["seconds"],
        "backfill_requests": backfilled["requests"],
        "backfill_pages": backfilled["history_pages"],
        "daily_s": None if runs["daily"]["timed_out"] else runs["daily"]["seconds"],
        "daily_requests": runs["daily"]["requests"],
        "daily_rejections": runs["daily"]["rejections"],
        "daily_efficiency": runs["daily"]["efficiency"],
        "rows_observed": rows.get("observed", 0),
        "rows_backfilled": rows.get("backfilled", 0),
        "prefect_server_start_s": server_start,
    }
    return {"summary": summary, "runs": runs, "database": database, "repositories": len(names)}


def report(results: dict[str, Any]) -> str:
    """backfill.md: the run's conditions, the targets, each run's figures."""
    run, summary = results["run"], results["summary"]
    lines = [
        f"# Backfill vs daily run ({results['repositories']} repositories, "
        f"Prefect server on {results['database']})",
        "",
        f"{run['date']}; Prefect {run['prefect']}, Python {run['python']}, {run['cpus']} CPUs, "
        f"load average {run['load_1m_before']} before, {run['load_1m_after']} after; "
        f"Prefect server started in {summary['prefect_server_start_s']:.1f} s.",
        "",
        "| target | value | met |",
        "| --- | --- | --- |",
    ]
    for key, check in TARGETS.items():
        value = summary[key]
        shown = f"{value:.2f}" if isinstance(value, float) else value
        lines.append(f"| {key} {check} | {shown} | {results['met'][key]} |")
    lines += ["", "| run | s | requests | refusals | rate/s | efficiency | load |"]
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for name, figures in results["runs"].items():
        rate, eff = figures["achieved_per_second"], figures["efficiency"]
        lines.append(
            f"| {name} | {figures['seconds']:.1f} | {figures['requests']:,} | "
            f"{figures['rejections']} | {'-' if rate is None else f'{rate:.1f}'} | "
            f"{'-' if eff is None else f'{eff:.2f}'} | {figures['load_1m']} |"
        )
    lines += [
        "",
        f"History rows after both: {summary['rows_observed']:,} observed, "
        f"{summary['rows_backfilled']:,} backfilled. The daily run's {summary['daily_requests']} "
        "requests fit in the budget's burst and a second or two, so its rate is measured over "
        "a window too short to compare (benchmarks/scale.py measures it over 2,787 "
        "repositories).",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="5 repositories, on SQLite")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output directory")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "full"
    started, load = time.perf_counter(), load_1m()
    results = measure(mode, "sqlite" if args.smoke else args.database)
    run = {"mode": mode, "prefect": version("prefect"), "python": platform.python_version()}
    run |= {"cpus": os.cpu_count(), "load_1m_before": load, "load_1m_after": load_1m()}
    run |= {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    run["seconds"] = round(time.perf_counter() - started, 1)
    results = {"run": run, **results, "targets": TARGETS}
    results["met"] = {key: met(results["summary"][key], check) for key, check in TARGETS.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "backfill.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.out / "backfill.md").write_text(report(results))
    print(json.dumps(results["summary"], indent=2))
    print(f"wrote {args.out}/backfill.json, .md")
    return 0


if __name__ == "__main__":
    prepare_environment()
    raise SystemExit(main())
