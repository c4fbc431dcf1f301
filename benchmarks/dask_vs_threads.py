"""Benchmark: the finished pipeline on threads vs on a Dask cluster of 2 worker processes.

    python benchmarks/dask_vs_threads.py            # N=200 and the full snapshot (2,787)
    python benchmarks/dask_vs_threads.py --smoke    # N=10, seconds

Both run the same flow (`github_stars.pipeline.show_stars`), uncached (a fresh result store
per run), against the simulator (0.2 s per request) on one Prefect server
(`github_stars.servers.PrefectServer`), side by side in one process run: threads first, then
Dask, for each N. Threads run with the pipeline's `Settings` for the simulator; Dask as the
command line runs it, `pipeline.on_dask(address)` on a local cluster
(`cli.scale_out.dask_cluster`) with `share_pause=True`. The cluster is started once, before
the timed runs (its start-up is reported separately). The pipeline's budget for the
simulator (50 requests/s) bounds both. Writes `dask.json` to `--out`
(default benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `benchmarks` as a package

from benchmarks.run import (  # noqa: E402
    RESULTS_DIR,
    pipeline_settings,
    prepare_environment,
    run_meta,
)

SIZES = {"full": (200, 2787), "smoke": (10,)}
LATENCY = 0.2
WORKERS = 2


@dataclass(frozen=True)
class DaskPlan:
    """What one mode measures."""

    mode: str
    sizes: tuple[int, ...]
    workers: int = WORKERS
    latency: float = LATENCY


def timed_run(sim: Any, flow: Any, names: list[str], settings: Any) -> dict[str, Any]:
    """One uncached run of `flow` on `names` with `settings`: wall seconds, requests,
    repositories reported."""
    from github_stars.lab.results import fresh_results

    sim.reset()
    with fresh_results():
        started = time.perf_counter()
        results = flow(names, settings)
        seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "requests": sim.request_count(),
        "reported": len(results),
        "ok": sum(r.ok for r in results),
    }


def measure(sizes: tuple[int, ...], save: Any = None) -> dict[str, Any]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from github_stars import pipeline
    from github_stars.cli.scale_out import dask_cluster
    from github_stars.servers import PrefectServer, free_port, start_simulator
    from github_stars.simulator.snapshot import snapshot_repo_names

    names = snapshot_repo_names()
    sim = start_simulator(free_port())
    sim.configure(latency=LATENCY)
    on_threads = pipeline_settings(sim.url)
    shared = on_threads.with_changes(share_pause=True)
    rows = []
    try:
        with (
            PrefectServer(start_timeout=300) as server,
            temporary_settings({PREFECT_API_URL: server.api_url}),
        ):
            started = time.perf_counter()
            with dask_cluster(workers=WORKERS) as address:
                cluster_seconds = time.perf_counter() - started
                on_dask = pipeline.on_dask(address)
                timed_run(sim, on_dask, names[:4], shared)  # warm the workers (imports, clients)
                timed_run(sim, pipeline.show_stars, names[:4], on_threads)  # and this process
                for n in sizes:
                    threads = timed_run(sim, pipeline.show_stars, names[:n], on_threads)
                    dask = timed_run(sim, on_dask, names[:n], shared)
                    rows.append(
                        {
                            "n": n,
                            "threads": threads,
                            "dask": dask,
                            "dask_over_threads": round(dask["seconds"] / threads["seconds"], 2),
                        }
                    )
                    print(json.dumps(rows[-1]), flush=True)
                    if save:  # a long run keeps what it has measured so far
                        save({"workers": WORKERS, "latency": LATENCY, "runs": rows})
            api_url, server_start = server.api_url, server.start_seconds
    finally:
        sim.stop()
    return {
        "prefect_api": api_url,
        "prefect_server_start_seconds": round(server_start, 1),
        "workers": WORKERS,
        "latency": LATENCY,
        "cluster_start_seconds": round(cluster_seconds, 1),
        "runs": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="N=10 only")
    parser.add_argument("--sizes", type=int, nargs="+", help="repository counts to measure")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    prepare_environment()
    mode = "smoke" if args.smoke else "full"
    sizes = tuple(args.sizes) if args.sizes else SIZES[mode]
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)

    def save(results: dict[str, Any]) -> None:
        results["meta"] = run_meta(mode, DaskPlan(mode, sizes), started)
        results["note"] = NOTE
        (args.out / "dask.json").write_text(json.dumps(results, indent=2) + "\n")

    save(measure(sizes, save))
    print(f"wrote {args.out / 'dask.json'}")
    return 0


NOTE = (
    "provisional: measured on a shared 2-core machine while other work ran; "
    "both approaches are bounded by the pipeline's 50 requests/s budget "
    "for the simulator"
)


if __name__ == "__main__":
    sys.exit(main())
