"""The benchmarks' smallest variants run and write well-formed results (no timing claims)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from numbers import Real
from pathlib import Path

import pytest

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


# Ceilings for a loaded machine (a quiet one needs a fraction): each run starts servers.
RUN_TIMEOUT = 600
TEST_TIMEOUT = RUN_TIMEOUT + 120


def run_benchmark(*args: str) -> None:
    """`benchmarks/run.py ARGS` in a subprocess; its output in the failure message. Past its
    deadline it gets SIGTERM and time to stop the servers it started."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), *args],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            _, stderr = process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        message = f"run.py {' '.join(args)}: cut after {RUN_TIMEOUT} s\n{stderr[-3000:]}"
        raise AssertionError(message) from None
    assert process.returncode == 0, stderr[-3000:]


@pytest.mark.timeout(TEST_TIMEOUT)
def test_smoke_benchmark_writes_json_table_and_charts(tmp_path: Path) -> None:
    run_benchmark("--smoke", "--out", str(tmp_path))
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


@pytest.mark.timeout(TEST_TIMEOUT)
def test_scale_smoke_writes_json_table_and_chart(tmp_path: Path) -> None:
    """`run.py --scale` in miniature, SQLite only (the PostgreSQL server: test_postgres.py)."""
    run_benchmark("--scale", "--smoke", "--databases", "sqlite", "--out", str(tmp_path))
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


@pytest.mark.timeout(TEST_TIMEOUT)
def test_startup_smoke_writes_json_table_and_chart(tmp_path: Path) -> None:
    """`run.py --startup` in miniature: the lab's servers, a first and a repeated run."""
    run_benchmark("--startup", "--smoke", "--out", str(tmp_path))
    results = json.loads((tmp_path / "startup.json").read_text())

    runs = {run["situation"]: run for run in results["runs"]}
    assert set(runs) == {"server_first", "server_repeat"}
    assert all(run["returncode"] == 0 and run["results"] == 3 for run in runs.values())
    assert (runs["server_first"]["from_cache"], runs["server_first"]["requests_sent"]) == (0, 3)
    assert (runs["server_repeat"]["from_cache"], runs["server_repeat"]["requests_sent"]) == (3, 0)
    assert results["server_start_s"] > 0
    assert all(isinstance(value, bool) for value in results["met"].values())

    breakdown = results["breakdown"]
    phases = breakdown["phases_server_repeat"]
    assert phases["import cli.run (core, Prefect)"] > 0 and phases["the flow run"] > 0
    imports = breakdown["importtime_server_repeat"]
    assert imports["modules"] > 100 and "prefect" in imports["by_package_s"]
    assert any(name.endswith(" -> prefect") for name in imports["our_imports_s"])
    assert "| situation | runs | median s |" in (tmp_path / "startup.md").read_text()
    assert (tmp_path / "startup.png").read_bytes().startswith(b"\x89PNG")


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:    100000 |     100000 |   encodings
import time:     50000 |     150000 | site
import time:    300000 |     300000 |       prefect.settings
import time:    400000 |     700000 |     prefect
import time:   1000000 |    1000000 |     sqlalchemy
import time:     10000 |    1710000 |   github_stars.core
import time:      5000 |    1715000 | github_stars.cli.run
import time:    600000 |     600000 | fastapi.encoders
"""


def test_the_import_report_is_read_as_a_tree() -> None:
    from benchmarks.startup import import_breakdown, import_tree

    roots = import_tree(IMPORTTIME)
    assert [root.name for root in roots] == ["site", "github_stars.cli.run", "fastapi.encoders"]
    core = roots[1].children[0]
    assert [child.name for child in core.children] == ["prefect", "sqlalchemy"]
    assert core.children[0].children[0].name == "prefect.settings"

    breakdown = import_breakdown(IMPORTTIME)
    assert breakdown["total_s"] == 2.465
    assert breakdown["by_package_s"]["prefect"] == 0.7
    assert breakdown["our_imports_s"] == {
        "github_stars.core -> sqlalchemy": 1.0,
        "github_stars.core -> prefect": 0.7,
    }
    assert breakdown["prefect_s"] == 0.7
    assert breakdown["imported_during_run_s"] == {"fastapi.encoders": 0.6}


def test_the_phases_follow_each_other() -> None:
    from benchmarks.startup import PHASES, phases_of

    marks = sorted({mark for pair in PHASES.values() for mark in pair} - {"launched", "ended"})
    moments = [(name, 10.0 + index) for index, name in enumerate(marks)]
    phases = phases_of(moments, launched=9.0, ended=30.0)
    assert list(phases) == list(PHASES)
    assert sum(phases.values()) == 30.0 - 9.0
