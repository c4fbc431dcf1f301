"""What each feature of the pipeline buys, side by side in one process run (`make bench`).

    python -m benchmarks.features [--quick | --smoke] [--out DIR]

Concurrency (a Prefect loop, `.map()`, threads, asyncio), caching (the finished pipeline twice),
rate limiting (six configurations) against the simulator, on a Prefect server started here.
"""
# ruff: noqa: E402  (the process's settings go in before Prefect loads them)

from __future__ import annotations

from benchmarks.common import main, met, prepare_environment

if __name__ == "__main__":
    prepare_environment()

import argparse
import asyncio
import contextlib
import functools
import math
import statistics
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
from prefect import flow, get_client, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import rate_limit
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, PREFECT_TASKS_REFRESH_CACHE, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner

from github_stars.core import GitHubStarsError, TransientError, ensure_rate_limit
from github_stars.core.client import fetch_repo, make_http_client, request_headers
from github_stars.core.rate_limits import SLOT_UNITS, SlotBatcher, in_slot_units
from github_stars.lab.measure import Stopwatch, achieved_rate, requests_frame
from github_stars.pipeline import TASK_THREADS, show_stars
from github_stars.servers import PrefectServer, Simulator, free_port, start_simulator
from github_stars.settings import RateBudget, Settings
from github_stars.simulator.snapshot import snapshot_repo_names

# sizes, latency (s), repositories cached, waiting tasks, their budget, runs of the target's
PLANS = {
    "full": ((10, 50, 200), 0.2, 50, 40, RateBudget(5, 5.0), 3),
    "quick": ((10, 50), 0.2, 50, 30, RateBudget(5, 5.0), 1),
    "smoke": ((5,), 0.05, 5, 4, RateBudget(2, 4.0), 1),
}
TARGET_N = 50  # the size the targets read (smoke: its one size)
LIMIT = "bench-github-api"


@functools.cache
def client_for(api_url: str) -> httpx.Client:
    return make_http_client(Settings(api_url=api_url))


# retries: only for a rare local connection error with 200 threads sharing one pool
@task(cache_policy=NO_CACHE, task_run_name="bench-fetch-{name}", retries=2)
def fetch(name: str, api_url: str) -> int:
    return fetch_repo(client_for(api_url), name)["stargazers_count"]


@flow(name="bench-sequential")
def prefect_loop(names: list[str], api_url: str) -> list[int]:
    return [fetch(name, api_url) for name in names]


@flow(name="bench-map")
def prefect_map(names: list[str], api_url: str) -> list[int]:
    return fetch.map(names, api_url=unmapped(api_url)).result()


def plain_threads(names: list[str], api_url: str) -> list[int]:
    def stars(name: str, attempts: int = 3) -> int:  # retried as `fetch` is
        try:
            return fetch_repo(client_for(api_url), name)["stargazers_count"]
        except TransientError:  # seen: "Bad file descriptor" with 200 threads on one pool
            if attempts == 1:
                raise
            return stars(name, attempts - 1)

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return list(pool.map(stars, names))


def plain_asyncio(names: list[str], api_url: str) -> list[int]:
    async def gather() -> list[int]:
        # a long timeout: 200 connections at once take seconds to open on a busy machine
        headers = request_headers(None)
        async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60.0) as http:
            answers = await asyncio.gather(*(http.get(f"/repos/{n}") for n in names))
        return [answer.raise_for_status().json()["stargazers_count"] for answer in answers]

    return asyncio.run(gather())


APPROACHES = {
    "sequential": prefect_loop,
    "map": prefect_map,
    "threads": plain_threads,
    "asyncio": plain_asyncio,
}


def concurrency(sim: Simulator, names: list[str]) -> dict[str, Any]:
    """Each approach on the same `names`: wall seconds, and what Prefect adds per task."""
    row: dict[str, Any] = {"n": len(names)}
    for approach, run in APPROACHES.items():
        sim.reset()
        with Stopwatch() as watch:
            run(names, sim.url)
        row[f"{approach}_s"] = watch.seconds
        assert sim.request_count() >= len(names), f"{approach}: {sim.request_count()} requests"
        if approach == "sequential":  # the simulator's own seconds per answer in this run
            served = requests_frame(sim.requests())
            answer_s = float((served["end"] - served["start"]).mean())
    n, loop, mapped, threads = len(names), row["sequential_s"], row["map_s"], row["threads_s"]
    return row | {
        "map_speedup_vs_sequential": loop / mapped,
        "map_vs_threads_ratio": mapped / threads,
        "per_task_overhead_ms": (loop / n - answer_s) * 1000,
        "map_overhead_per_task_ms": (mapped - threads) / n * 1000,
    }


def caching(sim: Simulator, names: list[str], settings: Settings) -> dict[str, Any]:
    """The finished pipeline twice: every task fetching, then plainly (from its cache)."""
    sim.reset()
    with Stopwatch() as uncached, temporary_settings({PREFECT_TASKS_REFRESH_CACHE: True}):
        show_stars(names, settings)
    assert sim.request_count() == len(names), f"uncached: {sim.request_count()} requests"
    sim.reset()
    with Stopwatch() as cached:
        results = show_stars(names, settings)
    return {
        "n": len(names),
        "uncached_s": uncached.seconds,
        "cached_s": cached.seconds,
        "cached_requests": sim.request_count(),
        "cached_results": sum(result.cached for result in results),
        "cached_time_ratio": cached.seconds / uncached.seconds,
    }


@task(cache_policy=NO_CACHE, task_run_name="bench-limited-{name}")
def fetch_limited(name: str, api_url: str, take: Any) -> None:
    if take:
        take()
    with contextlib.suppress(GitHubStarsError):  # the simulator's log records refusals
        fetch_repo(client_for(api_url), name)


def rate_limited(sim: Simulator, names: list[str], budget: RateBudget, config: tuple) -> dict:
    """`names` as tasks on `workers` threads (None: one per task), each taking `units` slots
    (`rate_limit(occupy=units)`; 0: no limit; None: the finished pipeline's `SlotBatcher`)."""
    label, units, workers = config
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectNotFound):
        client.delete_global_concurrency_limit_by_name(LIMIT)
    take = SlotBatcher(LIMIT, budget).take if units is None else None
    if units:
        ensure_rate_limit(LIMIT, in_slot_units(budget, units))
        take = functools.partial(rate_limit, LIMIT, occupy=units)

    @flow(name="bench-rate-limit", task_runner=ThreadPoolTaskRunner(max_workers=workers))
    def run() -> None:
        fetch_limited.map(names, api_url=unmapped(sim.url), take=unmapped(take)).wait()

    sim.reset()
    with Stopwatch() as watch:
        run()
    frame = requests_frame(sim.requests())
    starts = np.sort(frame.loc[~frame["rejected"], "start"].to_numpy())
    rate = achieved_rate(frame[~frame["rejected"]], skip_burst=budget.limit)
    gaps = np.diff(starts[budget.limit :])  # a stall: no task got a slot for that long
    return {
        "config": label,
        "seconds": watch.seconds,
        "requests": len(frame),
        "rejections": int(frame["rejected"].sum()),
        "stalls": int((gaps > max(1.5, 3 / budget.per_second)).sum()),
        "achieved_per_second": rate,
        "efficiency": rate / budget.per_second,
        "_frame": frame,
    }


def rate_limiting(sim: Simulator, names: list[str], budget: RateBudget, repeats: int) -> dict:
    """Each configuration once; the one the target reads `repeats` times (their median)."""
    allowed = budget.limit + math.ceil(budget.per_second)
    sim.configure(latency=0.05, secondary_limit=allowed, rate_limit_status=429)
    bounded = f"ThreadPoolTaskRunner(max_workers={budget.limit})"
    configs = [
        ("no rate limit", 0, None),
        ("rate_limit, unbounded task runner", 1, None),
        (f"rate_limit, {bounded}", 1, budget.limit),
        (f"rate_limit(occupy={SLOT_UNITS}), unbounded task runner", SLOT_UNITS, None),
        (f"rate_limit(occupy={SLOT_UNITS}), {bounded}", SLOT_UNITS, budget.limit),
        (f"SlotBatcher (the finished pipeline), {TASK_THREADS} threads", None, TASK_THREADS),
    ]
    runs = [rate_limited(sim, names, budget, config) for config in configs]
    again = [rate_limited(sim, names, budget, configs[4]) for _ in range(repeats - 1)]
    efficiencies = [run["efficiency"] for run in (runs[4], *again)]
    return {
        "tasks": len(names),
        "limit": budget.limit,
        "per_second": budget.per_second,
        "simulator_allows_per_second": allowed,
        "runs": runs,
        "target_config": configs[4][0],  # slot units, a bounded runner: lesson 09, the appendix
        "target_efficiencies": efficiencies,
        "efficiency": statistics.median(efficiencies),
        "efficiency_min": min(efficiencies),
        "rejections": sum(run["rejections"] for run in (runs[4], *again)),
        "stalls": sum(run["stalls"] for run in (runs[4], *again)),
    }


def measure(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    sizes, latency, cache_n, tasks, budget, repeats = PLANS[mode]
    names, sim = snapshot_repo_names(), start_simulator(port=free_port())
    settings = Settings(api_url=sim.url, retry_delay=0.05)  # short retries, as in the tests
    try:
        with (
            PrefectServer(start_timeout=300) as server,
            temporary_settings({PREFECT_API_URL: server.api_url}),
        ):
            sim.configure(latency=latency)
            prefect_map(names[:2], sim.url)  # warm-up: imports, the client, flow registration
            rows = [concurrency(sim, names[:n]) for n in sizes]
            cache = caching(sim, names[1000 : 1000 + cache_n], settings)
            rates = rate_limiting(sim, names[:tasks], budget, repeats)
    finally:
        sim.stop()
    row = next((row for row in rows if row["n"] == TARGET_N), rows[-1])
    n = row["n"]
    targets = [  # the issue's: (target, measured, check)
        (f".map() within 2x of the thread pool, N={n}", row["map_vs_threads_ratio"], "<= 2"),
        (f".map() 10x faster than the loop, N={n}", row["map_speedup_vs_sequential"], ">= 10"),
        ("cached re-run: 0 requests", cache["cached_requests"], "== 0"),
        ("cached re-run under 15% of the uncached time", cache["cached_time_ratio"], "< 0.15"),
        ("rate-limit efficiency >= 0.8 (median)", rates["efficiency"], ">= 0.8"),
        ("rate limit: 0 rejections", rates["rejections"], "== 0"),
    ]
    summary = {f"{k}_{r['n']}": v for r in rows for k, v in r.items() if k != "n"}
    summary |= {key: value for key, value in cache.items() if key != "n"}
    summary |= {f"rate_limit_{k}": v for k, v in rates.items() if isinstance(v, int | float)}
    summary |= {"batched_taker_efficiency": rates["runs"][-1]["efficiency"]}
    summary["prefect_server_start_s"] = server.start_seconds
    return {
        "summary": summary,
        "targets": [
            {"target": target, "measured": value, "met": met(value, check)}
            for target, value, check in targets
        ],
        "concurrency": {"latency_s": latency, "runs": rows},
        "caching": cache,
        "rate_limiting": rates,
        "_frames": {run["config"]: run.pop("_frame") for run in rates["runs"]},
    }


if __name__ == "__main__":
    raise SystemExit(main("latest", measure))
