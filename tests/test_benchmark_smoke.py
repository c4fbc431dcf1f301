"""Each benchmark's smallest variant runs and writes well-formed results (no timing claims)."""

from __future__ import annotations

import json
import subprocess
import sys
from numbers import Real
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 600  # a ceiling for a loaded machine (a quiet one needs a fraction): servers start


def smoke(question: str, out: Path, *options: str) -> dict:
    """`python -m benchmarks.QUESTION --smoke`: its JSON, after checking its Markdown and chart.
    Past its deadline it gets SIGTERM and time to stop the servers it started."""
    command = [sys.executable, "-m", f"benchmarks.{question}", "--smoke", "--out", str(out)]
    process = subprocess.Popen([*command, *options], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.terminate()
        _, stderr = process.communicate(timeout=90)
        raise AssertionError(f"{question}: cut after {RUN_TIMEOUT} s\n{stderr[-3000:]}") from None
    assert process.returncode == 0, stderr[-3000:]
    name = "latest" if question == "features" else question
    results = json.loads((out / f"{name}.json").read_text())
    assert (out / f"{name}.md").read_text().startswith("# ")
    if question != "backfill":  # its chart is README's, from docs/backfill_chart.py
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    assert results["run"]["prefect"] and isinstance(results["run"]["load_1m_before"], Real)
    return results


@pytest.mark.timeout(RUN_TIMEOUT + 120)
def test_features(tmp_path: Path) -> None:
    results = smoke("features", tmp_path)
    summary = results["summary"]
    assert summary["cached_requests"] == 0  # a count, not a timing: caching must hold
    assert all(isinstance(value, Real) for value in summary.values())
    run = results["concurrency"]["runs"][0]
    assert all(run[f"{approach}_s"] > 0 for approach in ("sequential", "map", "threads", "asyncio"))
    runs = results["rate_limiting"]["runs"]
    assert [run["requests"] for run in runs] == [results["rate_limiting"]["tasks"]] * len(runs)
    assert all(isinstance(target["met"], bool) for target in results["targets"])


@pytest.mark.timeout(RUN_TIMEOUT + 120)
def test_scale_on_sqlite(tmp_path: Path) -> None:
    """In miniature, SQLite only (a server on PostgreSQL: test_postgres.py), Dask included."""
    results = smoke("scale", tmp_path, "--databases", "sqlite")
    assert results["databases"]["sqlite"]["served_by"].startswith("sqlite")
    runs = results["databases"]["sqlite"]["runs"]
    assert set(runs) == {"token_budget", "full_snapshot", "cached_rerun", "threads_5", "dask_5"}
    assert all(run["ok"] == run["repos"] for run in runs.values())
    assert runs["cached_rerun"]["requests"] == 0 and runs["cached_rerun"]["from_cache"] == 20
    assert results["summary"]["rejections_sqlite"] == 0
    assert all(isinstance(value, bool) for value in results["met"].values())


@pytest.mark.timeout(RUN_TIMEOUT + 120)
def test_startup_with_the_lab_servers(tmp_path: Path) -> None:
    results = smoke("startup", tmp_path)
    runs = {run["situation"]: run for run in results["runs"]}
    assert set(runs) == {"server_first", "server_repeat"}
    assert all(run["as_intended"] for run in runs.values()), runs
    assert results["lab_server_flow_runs"]["counted"] == 2
    assert results["summary"]["lab_servers_start_s"] > 0
    assert "prefect" in results["imports"]["by_package_s"]


@pytest.mark.timeout(RUN_TIMEOUT + 120)
def test_backfill_beside_the_daily_run(tmp_path: Path) -> None:
    """In miniature, on SQLite (the full run is on PostgreSQL)."""
    results = smoke("backfill", tmp_path)
    runs, summary = results["runs"], results["summary"]
    assert runs["daily"]["returncode"] == 0 and runs["backfill"]["returncode"] == 0
    assert summary["daily_requests"] == results["repositories"] == 5
    assert summary["backfill_pages"] >= results["repositories"]  # every page, at least one each
    assert summary["rows_observed"] == 5 and summary["rows_backfilled"] > 5
    assert all(isinstance(value, bool) for value in results["met"].values())


def test_the_efficiency_window_is_never_a_moment_at_the_end() -> None:
    from benchmarks.scale import MIN_WINDOW_S, RateBudget, burst_end, window_start

    budget = RateBudget(limit=50, per_second=50.0)
    at_budget = np.arange(800) / 50.0  # 50/s for 16 s ...
    at_budget[:50] = 0.0  # ... after a burst of 50 at once
    assert window_start(at_budget, budget) == burst_end(at_budget, budget) == 49
    slow = np.arange(1000) / 25.0  # half the budget for 40 s ...
    slow = np.concatenate([slow, np.full(100, slow[-1] + 0.01)])  # ... then 100 at once
    assert slow[-1] - slow[burst_end(slow, budget)] < MIN_WINDOW_S  # dry only at the end
    assert window_start(slow, budget) == budget.limit
