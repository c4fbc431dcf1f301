"""The benchmark's measurements: each function runs one scenario against the simulator.

The concurrency and rate-limit scenarios' tasks make one request each with the pipeline
core's `fetch_repo` on one pooled client per API (`client_for`), with no cache and no rate
limit of their own; the caching scenario runs the finished pipeline
(`github_stars.pipeline.show_stars`) with a `Settings` value for the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pandas as pd
from prefect import flow, get_client, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import rate_limit
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner

from github_stars.core import GitHubStarsError, ensure_rate_limit
from github_stars.core.client import fetch_repo, make_http_client, request_headers
from github_stars.core.rate_limits import in_slot_units
from github_stars.lab.measure import Stopwatch, achieved_rate, requests_frame
from github_stars.pipeline import show_stars
from github_stars.servers import Simulator
from github_stars.settings import RateBudget, Settings

BENCH_LIMIT = "bench-github-api"


@functools.cache
def client_for(api_url: str) -> httpx.Client:
    """One pooled client per API for every thread of this process (no token: the simulator)."""
    return make_http_client(Settings(api_url=api_url))


@task(cache_policy=NO_CACHE, task_run_name="bench-fetch-{name}", retries=2)
def fetch(name: str, api_url: str) -> int:
    """One request, no rate limit and no cache: the pure cost of a Prefect task around it.

    The simulator does not fail these requests; the retries only keep a rare local
    connection error (seen once in 200 threads sharing one pool) from ending the benchmark.
    """
    return fetch_repo(client_for(api_url), name)["stargazers_count"]


@task(cache_policy=NO_CACHE, task_run_name="bench-limited-{name}")
def fetch_limited(name: str, api_url: str, limit_name: str | None, occupy: int = 1) -> None:
    """One request after `occupy` slots of `limit_name` (if given); API errors are the
    measurement."""
    if limit_name:
        rate_limit(limit_name, occupy=occupy)
    with contextlib.suppress(GitHubStarsError):  # the simulator's log records rejections
        fetch_repo(client_for(api_url), name)


@flow(name="bench-sequential")
def prefect_sequential(names: list[str], api_url: str) -> list[int]:
    """The tutorial's first flow: one task after the other."""
    return [fetch(name, api_url) for name in names]


@flow(name="bench-map")
def prefect_map(names: list[str], api_url: str) -> list[int]:
    """The tutorial's concurrent flow: `.map()` on the default (unbounded) thread pool."""
    return fetch.map(names, api_url=unmapped(api_url)).result()


def plain_threads(names: list[str], api_url: str) -> list[int]:
    """Baseline without Prefect: a thread per repository, one shared httpx client."""
    http = client_for(api_url)
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return list(pool.map(lambda name: fetch_repo(http, name)["stargazers_count"], names))


def plain_asyncio(names: list[str], api_url: str) -> list[int]:
    """Baseline without Prefect: `asyncio.gather` over one `httpx.AsyncClient`."""

    async def main() -> list[int]:
        # A long timeout: 200 connections at once can take seconds to open on a busy machine.
        async with httpx.AsyncClient(
            base_url=api_url, headers=request_headers(None), timeout=60.0
        ) as http:
            responses = await asyncio.gather(*(http.get(f"/repos/{n}") for n in names))
        return [r.raise_for_status().json()["stargazers_count"] for r in responses]

    return asyncio.run(main())


APPROACHES: dict[str, Callable[[list[str], str], list[int]]] = {
    "sequential": prefect_sequential,
    "map": prefect_map,
    "threads": plain_threads,
    "asyncio": plain_asyncio,
}


def timed(run: Callable[[], Any]) -> float:
    """Wall seconds of `run()`."""
    with Stopwatch() as watch:
        run()
    return watch.seconds


def peak_memory_mb(run: Callable[[], Any]) -> float:
    """Peak Python memory allocated while `run()` runs (tracemalloc), in MB."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def concurrency(
    sim: Simulator, names: list[str], latency: float, sequential_up_to: int
) -> dict[str, Any]:
    """Each approach on the same `names`; sequential only up to `sequential_up_to` names."""
    sim.configure(latency=latency)
    row: dict[str, Any] = {"n": len(names)}
    server_seconds = 0.0  # mean time the simulator took per request of the sequential run
    for approach, run in APPROACHES.items():
        if approach == "sequential" and len(names) > sequential_up_to:
            row["sequential_s"] = None
            continue
        sim.reset()
        row[f"{approach}_s"] = timed(lambda run=run: run(names, sim.url))
        assert sim.request_count() == len(names), f"{approach}: {sim.request_count()} requests"
        if approach == "sequential":
            served = requests_frame(sim.requests())
            server_seconds = float((served["end"] - served["start"]).mean())
    seq = row["sequential_s"]
    row["map_speedup_vs_sequential"] = seq / row["map_s"] if seq else None
    row["map_vs_threads_ratio"] = row["map_s"] / row["threads_s"]
    row["per_task_overhead_ms"] = (seq / len(names) - server_seconds) * 1000 if seq else None
    row["map_overhead_per_task_ms"] = (row["map_s"] - row["threads_s"]) / len(names) * 1000
    return row


def memory(sim: Simulator, names: list[str], latency: float) -> dict[str, float]:
    """Peak memory (MB) of each approach on `names` (a separate pass: tracemalloc is slow)."""
    sim.configure(latency=latency)
    return {
        approach: round(peak_memory_mb(lambda run=run: run(names, sim.url)), 2)
        for approach, run in APPROACHES.items()
    }


def caching(sim: Simulator, names: list[str], latency: float, settings: Settings) -> dict[str, Any]:
    """The finished pipeline twice with `settings`: uncached, then cached (requests counted
    by the simulator)."""
    sim.configure(latency=latency)
    sim.reset()
    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):  # entries of an
        uncached = timed(lambda: show_stars(names, settings))  # earlier run must not serve
    uncached_requests = sim.request_count()
    assert uncached_requests == len(names), f"uncached run: {uncached_requests} requests"
    sim.reset()
    results: list[Any] = []
    cached = timed(lambda: results.extend(show_stars(names, settings)))
    return {
        "n": len(names),
        "uncached_s": uncached,
        "cached_s": cached,
        "uncached_requests": uncached_requests,
        "cached_requests": sim.request_count(),
        "cached_results": sum(result.cached for result in results),
        "cached_time_ratio": cached / uncached,
    }


def reset_limit(budget: RateBudget) -> None:
    """A fresh `BENCH_LIMIT` (no slots taken), so each configuration starts alike."""
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectNotFound):
        client.delete_global_concurrency_limit_by_name(BENCH_LIMIT)
    ensure_rate_limit(BENCH_LIMIT, budget)


def stall_gaps(accepted: pd.DataFrame, budget: RateBudget) -> np.ndarray:
    """Gaps between accepted requests (after the burst) longer than 1.5 s and 3 refill
    intervals: moments when no waiting task got a slot."""
    gaps = np.diff(accepted["start"].sort_values().to_numpy()[budget.limit :])
    return gaps[gaps > max(1.5, 3 / budget.per_second)]


def rate_limited_run(
    sim: Simulator,
    names: list[str],
    budget: RateBudget,
    use_limit: bool,
    max_workers: int | None,
    slot_units: int = 1,
) -> dict[str, Any]:
    """`len(names)` waiting tasks against the simulator enforcing `budget`; achieved rate.

    With `slot_units` > 1 the limit counts each request as that many slots
    (`in_slot_units`), and each task takes them with `rate_limit(..., occupy=slot_units)`.
    """
    reset_limit(in_slot_units(budget, slot_units))

    @flow(name="bench-rate-limit", task_runner=ThreadPoolTaskRunner(max_workers=max_workers))
    def run(repos: list[str]) -> None:
        fetch_limited.map(
            repos,
            api_url=unmapped(sim.url),
            limit_name=BENCH_LIMIT if use_limit else None,
            occupy=slot_units,
        ).wait()

    sim.reset()
    seconds = timed(lambda: run(names))
    frame = requests_frame(sim.requests())
    accepted = frame[~frame["rejected"]]
    rate = achieved_rate(accepted, skip_burst=budget.limit)
    return {
        "seconds": seconds,
        "stalls": len(stall_gaps(accepted, budget)),
        "requests": len(frame),
        "rate_limit_rejections": int(frame["rejected"].sum()),
        "achieved_per_second": rate,
        "rate_limit_efficiency": rate / budget.per_second,
        "frame": frame,
    }


STARTUP_SCRIPT = """
from prefect import flow

@flow
def hello() -> int:
    return 1

hello()
"""


def first_flow_seconds(env: dict[str, str]) -> float:
    """Wall seconds of a fresh Python process that imports Prefect and runs one flow."""
    with Stopwatch() as watch:
        subprocess.run(
            [sys.executable, "-c", STARTUP_SCRIPT],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return watch.seconds


def startup(base_env: dict[str, str], api_url: str) -> dict[str, float]:
    """First flow run in a fresh process: fresh PREFECT_HOME (temporary server) vs running."""
    fresh = {k: v for k, v in base_env.items() if k != "PREFECT_API_URL"}
    fresh["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    running = {**base_env, "PREFECT_API_URL": api_url}
    with tempfile.TemporaryDirectory(prefix="bench-fresh-home-") as home:
        fresh["PREFECT_HOME"] = home
        fresh_seconds = first_flow_seconds(fresh)
    return {
        "fresh_home_temporary_server_s": fresh_seconds,
        "running_server_s": first_flow_seconds(running),
    }
