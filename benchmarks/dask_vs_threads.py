"""Benchmark: the finished pipeline on threads vs on a Dask cluster of 2 worker processes.

    python benchmarks/dask_vs_threads.py            # N=200 and the full snapshot (2,787)
    python benchmarks/dask_vs_threads.py --smoke    # N=10, seconds

Both run the same flow (`github_stars.pipeline.show_stars`), uncached (a fresh result store
per run), against the simulator (0.2 s per request) on one Prefect server, side by side in
one process run: threads first, then Dask, for each N. The cluster is started once, before
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

from benchmarks.run import RESULTS_DIR, prepare_environment, run_meta  # noqa: E402

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


def timed_run(sim: Any, flow: Any, names: list[str]) -> dict[str, Any]:
    """One uncached run of `flow` on `names`: wall seconds, requests, repositories reported."""
    from github_stars.lab.results import fresh_results

    sim.reset()
    with fresh_results():
        started = time.perf_counter()
        results = flow(names)
        seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "requests": sim.request_count(),
        "reported": len(results),
        "ok": sum(r.ok for r in results),
    }


def measure(sizes: tuple[int, ...], save: Any = None) -> dict[str, Any]:
    from github_stars.pipeline import show_stars
    from github_stars.scale_out import dask_task_runner, shared_prefect_server
    from github_stars.simulator import free_port, start_simulator
    from github_stars.simulator.snapshot import snapshot_repo_names

    names = snapshot_repo_names()
    sim = start_simulator(free_port())
    sim.configure(latency=LATENCY)
    rows = []
    try:
        with shared_prefect_server() as api_url:
            started = time.perf_counter()
            with dask_task_runner(workers=WORKERS) as runner:
                cluster_seconds = time.perf_counter() - started
                on_dask = show_stars.with_options(task_runner=runner)
                timed_run(sim, on_dask, names[:4])  # warm the workers (imports, clients)
                timed_run(sim, show_stars, names[:4])  # and this process
                for n in sizes:
                    threads = timed_run(sim, show_stars, names[:n])
                    dask = timed_run(sim, on_dask, names[:n])
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
    finally:
        sim.stop()
    return {
        "prefect_api": api_url,
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
