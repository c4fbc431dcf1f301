"""The benchmark's smallest variant runs and writes well-formed results (no timing claims)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from numbers import Real
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SUMMARY_KEYS = {
    "map_speedup_vs_sequential",
    "map_vs_threads_ratio",
    "per_task_overhead_ms",
    "cached_requests",
    "cached_time_ratio",
    "rate_limit_efficiency",
    "rate_limit_rejections",
    "rate_limit_stalls",
}


def test_smoke_benchmark_writes_json_table_and_charts(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        env=dict(os.environ),
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = json.loads((tmp_path / "latest.json").read_text())

    summary = results["summary"]
    assert set(summary) >= SUMMARY_KEYS
    assert all(isinstance(summary[key], Real) for key in SUMMARY_KEYS)
    assert summary["cached_requests"] == 0  # a count, not a timing: caching must hold
    assert isinstance(summary["rate_limit_rejections"], int)

    run = results["concurrency"]["runs"][0]
    assert {"n", "sequential_s", "map_s", "threads_s", "asyncio_s"} <= set(run)
    assert all(run[f"{a}_s"] > 0 for a in ("sequential", "map", "threads", "asyncio"))
    assert set(results["concurrency"]["peak_memory_mb"]) == {
        "sequential",
        "map",
        "threads",
        "asyncio",
    }
    configs = results["rate_limiting"]["runs"]
    assert [c["requests"] for c in configs] == [results["rate_limiting"]["tasks"]] * len(configs)
    assert "occupy=" in results["summary"]["rate_limit_config"]  # the configuration taught
    assert all(isinstance(t["met"], bool) for t in results["targets"])

    table = (tmp_path / "latest.md").read_text()
    assert "| target | measured | result | why |" in table
    for chart in ("concurrency.png", "rate_limit.png", "caching.png"):
        assert (tmp_path / chart).read_bytes().startswith(b"\x89PNG")


SCALE_KEYS = {
    "pipeline_efficiency_token_budget",
    "pipeline_efficiency_fast_budget",
    "pipeline_rejections",
    "full_snapshot_seconds",
    "full_snapshot_cached_seconds",
    "full_snapshot_peak_rss_mb",
}


def test_scale_smoke_writes_json_table_and_chart(tmp_path: Path) -> None:
    """`run.py --scale` in miniature, SQLite only (the PostgreSQL server: test_postgres.py)."""
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--scale",
            "--smoke",
            "--databases",
            "sqlite",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=dict(os.environ),
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = json.loads((tmp_path / "scale.json").read_text())

    summary, met = results["summary"], results["met"]
    assert set(summary) >= SCALE_KEYS | {"database"} and set(met) == SCALE_KEYS
    assert summary["database"] == "sqlite"  # the server's own database held the runs
    assert summary["full_snapshot_cached_requests"] == 0  # counts, not timings
    assert summary["pipeline_rejections"] == 0
    assert all(isinstance(value, bool) for value in met.values())
    runs = results["databases"]["sqlite"]["runs"]
    assert all(run["results_ok"] == run["repos"] for run in runs.values())
    assert "| key | target | SQLite |" in (tmp_path / "scale.md").read_text()
    assert (tmp_path / "scale.png").read_bytes().startswith(b"\x89PNG")


def test_the_efficiency_window_is_never_a_moment_at_the_end() -> None:
    import numpy as np

    from benchmarks.scale import MIN_WINDOW_S, RateBudget, burst_end, window_start

    budget = RateBudget(limit=50, per_second=50.0)
    at_budget = np.arange(800) / 50.0  # 50/s for 16 s ...
    at_budget[:50] = 0.0  # ... after a burst of 50 at once
    assert window_start(at_budget, budget) == burst_end(at_budget, budget) == 49
    slow = np.arange(1000) / 25.0  # half the budget for 40 s ...
    slow = np.concatenate([slow, np.full(100, slow[-1] + 0.01)])  # ... then 100 at once
    assert slow[-1] - slow[burst_end(slow, budget)] < MIN_WINDOW_S  # dry only at the end
    assert window_start(slow, budget) == budget.limit
