"""Turn benchmark results into latest.json, a markdown table and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from github_stars.lab.charts import plot_bars, plot_requests_over_time  # noqa: E402

APPROACHES = ("sequential", "map", "threads", "asyncio")


def fmt(value: Any, digits: int = 2) -> str:
    """A table cell: numbers rounded, missing values as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "met" if value else "**not met**"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    """The results as markdown tables."""
    meta, conc = results["meta"], results["concurrency"]
    lines = [f"# Benchmark results ({meta['mode']} run)", "",
             f"{meta['date']}, Prefect {meta['prefect']}, Python {meta['python']}, "
             f"{meta['cpus']} CPUs, {meta['seconds']} s in total. Local simulator, "
             f"{conc['latency_s'] * 1000:.0f} ms latency per request.", "",
             "## Targets", "", "| target | measured | result | why |", "| --- | --- | --- | --- |"]
    lines += [f"| {t['target']} | {fmt(t['measured'])} | {fmt(t['met'])} | {t['why']} |"
              for t in results["targets"]]
    lines += ["", "## Concurrency (wall seconds)", "",
              "| N | Prefect sequential | Prefect .map() | ThreadPoolExecutor | asyncio | "
              "map speed-up vs sequential | map / threads | sequential: Prefect's ms per task | "
              ".map(): ms per task over threads |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['n']} | {fmt(r['sequential_s'])} | {fmt(r['map_s'])} | "
              f"{fmt(r['threads_s'])} | {fmt(r['asyncio_s'])} | "
              f"{fmt(r['map_speedup_vs_sequential'], 1)} | {fmt(r['map_vs_threads_ratio'])} | "
              f"{fmt(r['per_task_overhead_ms'], 0)} | {fmt(r['map_overhead_per_task_ms'], 0)} |"
              for r in conc["runs"]]
    memory = conc["peak_memory_mb"]
    lines += ["", f"Peak Python memory (tracemalloc, MB) at N={conc['peak_memory_mb_at_n']}: "
              + ", ".join(f"{k} {v:.1f}" for k, v in memory.items())
              + f"; whole benchmark process peak RSS {meta['process_peak_rss_mb']:.0f} MB."]
    cache = results["caching"]
    lines += ["", f"## Caching (finished pipeline, N={cache['n']})", "",
              "| uncached s | cached s | cached / uncached | requests uncached | "
              "requests cached |", "| --- | --- | --- | --- | --- |",
              f"| {fmt(cache['uncached_s'])} | {fmt(cache['cached_s'])} | "
              f"{fmt(cache['cached_time_ratio'])} | {cache['uncached_requests']} | "
              f"{cache['cached_requests']} |"]
    rates = results["rate_limiting"]
    lines += ["", f"## Rate limiting ({rates['tasks']} waiting tasks, limit {rates['limit']}, "
              f"{rates['per_second']:g} slots/s; the simulator rejects more than "
              f"{rates['simulator_allows_per_second_window']} requests in any second)", "",
              "| configuration | seconds | requests | rejected | stalls | achieved / s | "
              "efficiency |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['config']} | {fmt(r['seconds'])} | {r['requests']} | "
              f"{r['rate_limit_rejections']} | {r['stalls']} | "
              f"{fmt(r['achieved_per_second'])} | {fmt(r['rate_limit_efficiency'])} |"
              for r in rates["runs"]]
    repeats = rates["recommended_repeats"]
    lines += ["", f"The target is measured on `{rates['recommended_config']}`, the "
              f"configuration the rate-limiting lesson teaches, run {len(repeats)} times: "
              "efficiency " + ", ".join(fmt(r["rate_limit_efficiency"]) for r in repeats)
              + " (stalls " + ", ".join(str(r["stalls"]) for r in repeats)
              + f"); the target uses the median, {fmt(rates['rate_limit_efficiency'])}. "
              "A stall is a gap between accepted requests longer than 1.5 s and 3 refill "
              "intervals: no waiting task got a slot."]
    start = results["startup"]
    lines += ["", "## Start-up (fresh process to first finished flow run, seconds)", "",
              "| fresh PREFECT_HOME, temporary server | running server | "
              "temporary server start |", "| --- | --- | --- |",
              f"| {fmt(start.get('fresh_home_temporary_server_s'))} | "
              f"{fmt(start.get('running_server_s'))} | {fmt(start.get('server_start_s'))} |", ""]
    return "\n".join(lines)


def concurrency_chart(results: dict[str, Any]) -> Figure:
    """Grouped bars: wall seconds of each approach at each N (log scale)."""
    runs = results["concurrency"]["runs"]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    x = np.arange(len(runs))
    width = 0.2
    for i, approach in enumerate(APPROACHES):
        values = [r[f"{approach}_s"] or np.nan for r in runs]
        ax.bar(x + (i - 1.5) * width, values, width, label=approach)
    ax.set_xticks(x, [f"N={r['n']}" for r in runs])
    ax.set_yscale("log")
    ax.set_ylabel("wall seconds (log)")
    ax.set_title(f"Fetching N repositories, {results['concurrency']['latency_s'] * 1000:.0f} ms "
                 "latency each")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def write_outputs(results: dict[str, Any], out: Path) -> list[Path]:
    """Write latest.json, latest.md and the charts into `out`; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    rates = results["rate_limiting"]
    frames = rates.pop("_frames")
    figures = {
        "concurrency.png": concurrency_chart(results),
        "rate_limit.png": plot_requests_over_time(
            frames, rates["per_second"], rates["limit"],
            title="Requests over time against the configured budget"),
        "caching.png": plot_bars(
            {"uncached": results["caching"]["uncached_s"],
             "cached": results["caching"]["cached_s"]},
            "wall seconds", "The finished pipeline, run twice"),
    }
    paths = [out / "latest.json", out / "latest.md"]
    paths[0].write_text(json.dumps(results, indent=2, default=float) + "\n")
    paths[1].write_text(markdown(results))
    for name, figure in figures.items():
        figure.savefig(out / name, dpi=110)
        plt.close(figure)
        paths.append(out / name)
    return paths
