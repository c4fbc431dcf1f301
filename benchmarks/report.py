"""Turn benchmark results into latest.json, a markdown table and PNG charts."""

from __future__ import annotations

import json
from collections import Counter
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
    lines = [
        f"# Benchmark results ({meta['mode']} run)",
        "",
        f"{meta['date']}, Prefect {meta['prefect']}, Python {meta['python']}, "
        f"{meta['cpus']} CPUs, {meta['seconds']} s in total. Local simulator, "
        f"{conc['latency_s'] * 1000:.0f} ms latency per request.",
        "",
        "## Targets",
        "",
        "| target | measured | result | why |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {t['target']} | {fmt(t['measured'])} | {fmt(t['met'])} | {t['why']} |"
        for t in results["targets"]
    ]
    lines += [
        "",
        "## Concurrency (wall seconds)",
        "",
        "| N | Prefect sequential | Prefect .map() | ThreadPoolExecutor | asyncio | "
        "map speed-up vs sequential | map / threads | sequential: Prefect's ms per task | "
        ".map(): ms per task over threads |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['n']} | {fmt(r['sequential_s'])} | {fmt(r['map_s'])} | "
        f"{fmt(r['threads_s'])} | {fmt(r['asyncio_s'])} | "
        f"{fmt(r['map_speedup_vs_sequential'], 1)} | {fmt(r['map_vs_threads_ratio'])} | "
        f"{fmt(r['per_task_overhead_ms'], 0)} | {fmt(r['map_overhead_per_task_ms'], 0)} |"
        for r in conc["runs"]
    ]
    memory = conc["peak_memory_mb"]
    lines += [
        "",
        f"Peak Python memory (tracemalloc, MB) at N={conc['peak_memory_mb_at_n']}: "
        + ", ".join(f"{k} {v:.1f}" for k, v in memory.items())
        + f"; whole benchmark process peak RSS {meta['process_peak_rss_mb']:.0f} MB.",
    ]
    cache = results["caching"]
    lines += [
        "",
        f"## Caching (finished pipeline, N={cache['n']})",
        "",
        "| uncached s | cached s | cached / uncached | requests uncached | requests cached |",
        "| --- | --- | --- | --- | --- |",
        f"| {fmt(cache['uncached_s'])} | {fmt(cache['cached_s'])} | "
        f"{fmt(cache['cached_time_ratio'])} | {cache['uncached_requests']} | "
        f"{cache['cached_requests']} |",
    ]
    rates = results["rate_limiting"]
    lines += [
        "",
        f"## Rate limiting ({rates['tasks']} waiting tasks, limit {rates['limit']}, "
        f"{rates['per_second']:g} slots/s; the simulator rejects more than "
        f"{rates['simulator_allows_per_second_window']} requests in any second)",
        "",
        "| configuration | seconds | requests | rejected | stalls | achieved / s | efficiency |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['config']} | {fmt(r['seconds'])} | {r['requests']} | "
        f"{r['rate_limit_rejections']} | {r['stalls']} | "
        f"{fmt(r['achieved_per_second'])} | {fmt(r['rate_limit_efficiency'])} |"
        for r in rates["runs"]
    ]
    repeats = rates["recommended_repeats"]
    lines += [
        "",
        f"The target is measured on `{rates['recommended_config']}`, the "
        f"configuration the rate-limiting lesson teaches, run {len(repeats)} times: "
        "efficiency "
        + ", ".join(fmt(r["rate_limit_efficiency"]) for r in repeats)
        + " (stalls "
        + ", ".join(str(r["stalls"]) for r in repeats)
        + f"); the target uses the median, {fmt(rates['rate_limit_efficiency'])}. "
        "A stall is a gap between accepted requests longer than 1.5 s and 3 refill "
        "intervals: no waiting task got a slot.",
    ]
    start = results["startup"]
    lines += [
        "",
        "## Start-up (fresh process to first finished flow run, seconds)",
        "",
        "| fresh PREFECT_HOME, temporary server | running server | temporary server start |",
        "| --- | --- | --- |",
        f"| {fmt(start.get('fresh_home_temporary_server_s'))} | "
        f"{fmt(start.get('running_server_s'))} | {fmt(start.get('server_start_s'))} |",
        "",
    ]
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
    ax.set_title(
        f"Fetching N repositories, {results['concurrency']['latency_s'] * 1000:.0f} ms latency each"
    )
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
            frames,
            rates["per_second"],
            rates["limit"],
            title="Requests over time against the configured budget",
        ),
        "caching.png": plot_bars(
            {
                "uncached": results["caching"]["uncached_s"],
                "cached": results["caching"]["cached_s"],
            },
            "wall seconds",
            "The finished pipeline, run twice",
        ),
    }
    paths = [out / "latest.json", out / "latest.md"]
    paths[0].write_text(json.dumps(results, indent=2, default=float) + "\n")
    paths[1].write_text(markdown(results))
    for name, figure in figures.items():
        figure.savefig(out / name, dpi=110)
        plt.close(figure)
        paths.append(out / name)
    return paths


# --- `run.py --scale` ----------------------------------------------------------------------

DB_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _scale_row(key: str, results: dict[str, Any]) -> str:
    cells = []
    for database in results["databases"]:
        full_key = key + ("" if database == "sqlite" else "_postgres")
        value = results["summary"].get(full_key)
        cells.append(f"{fmt(value)} ({fmt(results['met'].get(full_key))})")
    return f"| `{key}` | {results['targets'][key]} | " + " | ".join(cells) + " |"


def scale_markdown(results: dict[str, Any]) -> str:
    """`scale.md`: the targets per database, then each run's details."""
    meta, databases = results["meta"], results["databases"]
    load = ", ".join(f"{x:.1f}" for x in meta.get("load_average", ()))
    lines = [
        f"# The finished pipeline at scale ({meta['mode']} run)",
        "",
        f"{meta['date']}, Prefect {meta['prefect']}, Python {meta['python']}, "
        f"{meta['cpus']} CPUs (load average at the end {load}), {meta['seconds']} s in "
        "total. `python -m github_stars` against the local simulator, which refuses "
        "(429) more than burst + ceil(rate) requests in any second; Prefect server "
        "start-up is not timed.",
        "",
        "| key | target | " + " | ".join(DB_LABELS[d] for d in databases) + " |",
        "| --- | --- |" + " --- |" * len(databases),
    ]
    lines += [_scale_row(key, results) for key in results["targets"]]
    lines += [
        "| `database` (served the runs) | - | "
        + " | ".join(
            f"{r['database']} ({r['flow_runs_in_database']} flow runs)" for r in databases.values()
        )
        + " |",
        "",
    ]
    for database, result in databases.items():
        lines += [
            f"## {DB_LABELS[database]}",
            "",
            f"Prefect server start-up {fmt(result['server_start_s'], 1)} s (not in the figures).",
            "",
            "| run | repositories | wall s | requests | rejected | ok | failed | "
            "budget | achieved / s after the burst | efficiency | window s | "
            "peak RSS MB | cut at deadline |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, run in result["runs"].items():
            if run is None:
                lines.append(f"| {name} | - | not run: the full snapshot was cut |" + " - |" * 10)
                continue
            lines.append(
                f"| {name} | {run['repos']} | {fmt(run['seconds'], 1)} | {run['requests']} | "
                f"{run['rejections']} | {run['results_ok']} | {run['results_failed']} | "
                f"{run['budget_limit']} + {run['budget_per_second']:g}/s | "
                f"{fmt(run['achieved_per_second'])} | {fmt(run['efficiency'])} | "
                f"{fmt(run['window_after_burst_s'], 1)} | {fmt(run['peak_rss_mb'], 0)} | "
                f"{'**yes**' if run['timed_out'] else 'no'} |"
            )
        cached = result["runs"]["cached_rerun"]
        if cached and cached["timed_out"]:
            lines += [
                "",
                f"The cached re-run was cut at its deadline, {cached['seconds']:.0f} s "
                f"({cached['requests']} requests by then).",
            ]
        projected = result.get("full_snapshot_projected_seconds")
        if projected:
            lines += [
                "",
                f"The full snapshot was cut at its deadline after "
                f"{result['runs']['full_snapshot']['requests']} of "
                f"{result['runs']['full_snapshot']['repos']} requests; at that pace it "
                f"would take about {projected:.0f} s.",
            ]
        lines.append("")
    return "\n".join(lines)


def scale_chart(results: dict[str, Any]) -> Figure:
    """Achieved request rate against the budget (token, fast) per database, and the full
    snapshot's wall seconds (uncached, cached) against their targets."""
    databases = list(results["databases"])
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    width = 0.8 / len(databases)
    colors = {"sqlite": "#2f6fde", "postgresql": "#e8590c"}
    for ax, (run, title) in zip(
        axes[:2],
        (("token_budget", "token budget"), ("full_snapshot", "fast budget (full snapshot)")),
        strict=True,
    ):
        budget = None
        for i, database in enumerate(databases):
            details = results["databases"][database]["runs"][run]
            budget = details["budget_per_second"]
            value = details["achieved_per_second"] or 0.0
            bar = ax.bar(
                i * width, value, width * 0.9, color=colors[database], label=DB_LABELS[database]
            )
            ax.bar_label(bar, fmt="%.2f/s", fontsize=8)
        ax.axhline(budget, color="k", linestyle="--", label=f"budget {budget:g}/s")
        ax.set_xticks([])
        ax.set_ylabel("requests/s after the burst")
        ax.set_title(f"{title}: {budget:g} requests/s")
        ax.legend(fontsize=8, loc="lower right")
    ax = axes[2]
    x = np.arange(2)
    for i, database in enumerate(databases):
        result = results["databases"][database]
        full = result["full_snapshot_seconds"]
        values = [
            full if full is not None else result["full_snapshot_projected_seconds"],
            result["full_snapshot_cached_seconds"],
        ]
        bars = ax.bar(
            x + i * width,
            [v or 0.0 for v in values],
            width * 0.9,
            color=colors[database],
            label=DB_LABELS[database],
            hatch=None if full is not None else "//",
        )
        labels = [f"{v:.0f} s" if v else "-" for v in values]
        if full is None and values[0]:
            labels[0] = f"~{values[0]:.0f} s (cut)"
        ax.bar_label(bars, labels=labels, fontsize=8)
    ax.scatter(
        x + width * (len(databases) - 1) / 2,
        [90, 30],
        marker="_",
        s=900,
        color="k",
        label="target",
        zorder=3,
    )
    ax.set_xticks(x + width * (len(databases) - 1) / 2, ["full snapshot", "cached re-run"])
    ax.set_ylabel("wall seconds")
    n = results["databases"][databases[0]]["runs"]["full_snapshot"]["repos"]
    ax.set_title(f"{n} repositories at the fast budget")
    ax.legend(fontsize=8)
    fig.suptitle("The finished pipeline at scale: Prefect server on SQLite vs PostgreSQL")
    fig.tight_layout()
    return fig


def write_scale_outputs(results: dict[str, Any], out: Path) -> list[Path]:
    """Write scale.json, scale.md and scale.png into `out`; returns the paths."""
    from benchmarks.scale import frames_of

    out.mkdir(parents=True, exist_ok=True)
    frames_of(results)  # request logs stay out of the JSON
    figure = scale_chart(results)
    paths = [out / "scale.json", out / "scale.md", out / "scale.png"]
    paths[0].write_text(json.dumps(results, indent=2, default=float) + "\n")
    paths[1].write_text(scale_markdown(results))
    figure.savefig(paths[2], dpi=110)
    plt.close(figure)
    return paths


# --- `run.py --startup` ------------------------------------------------------------------------

SITUATION_COLORS = {
    "no_server_first": "#adb5bd",
    "no_server_repeat": "#6c757d",
    "server_first": "#74a9f0",
    "server_repeat": "#2f6fde",
}


def _seconds_table(title: str, values: dict[str, float] | None, what: str) -> list[str]:
    if not values:
        return []
    return [
        "",
        title,
        "",
        f"| {what} | seconds |",
        "| --- | --- |",
        *(f"| `{name}` | {fmt(value)} |" for name, value in values.items()),
    ]


def startup_markdown(results: dict[str, Any]) -> str:
    """`startup.md`: `make run` per situation, then where the time with a server goes."""
    meta, summary = results["meta"], results["summary"]
    target = results["target_s"]
    lines = [
        f"# `make run`: a fresh `python -m github_stars` ({meta['mode']} run)",
        "",
        f"{meta['date']}, Prefect {meta['prefect']}, Python {meta['python']}, "
        f"{meta['cpus']} CPUs, {meta['seconds']} s in total. The three default repositories "
        "against the bundled simulator; wall time from launching the process to its exit. "
        "Each repetition runs every situation once, one after the other; the load average "
        "(1 minute) is read before each run. The lab's servers "
        f"(`python -m github_stars server start`) took {fmt(results['server_start_s'], 1)} s "
        f"to start (load {fmt(results['server_start_load_1m'], 1)})"
        + "".join(
            f"; an earlier attempt gave up after {fmt(a['wall_s'], 1)} s"
            for a in results.get("server_start_attempts", [])[:-1]
        )
        + ".",
        "",
        f"| situation | runs | median s | min s | max s | load before the runs | "
        f"lab servers' start s | under {target:g} s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for situation, row in summary.items():
        under = "-"
        if situation.startswith("server"):
            under = fmt(row["median_s"] is not None and row["median_s"] < target)
        failed = f" ({row['failed_runs']} failed)" if row["failed_runs"] else ""
        lines.append(
            f"| {row['label']} | {row['runs']}{failed} | {fmt(row['median_s'])} | "
            f"{fmt(row['min_s'])} | {fmt(row['max_s'])} | "
            f"{row['load_1m_min']:.1f}-{row['load_1m_max']:.1f} | "
            f"{fmt(row['server_start_s'], 1)} | {under} |"
        )
    new_home = results.get("no_server_new_home")
    if new_home:
        lines += [
            "",
            f"A new user's very first run (no server, an empty PREFECT_HOME: Prefect creates "
            f"its database): {fmt(new_home['wall_s'])} s (load {new_home['load_1m']:.1f}).",
        ]
    lines += [
        "",
        "A failed run (left out of the figures) ended with an error, did not report the "
        "three repositories or used another Prefect server than its situation names. "
        "Counts from each run's own summary (first runs fetch, repeated runs are answered "
        "from Prefect's cache): "
        + "; ".join(
            f"{row['label']}: from the cache {row['from_cache']}, requests {row['requests_sent']}"
            for row in summary.values()
        )
        + ".",
    ]
    breakdown = results["breakdown"]
    phases = {
        "first": breakdown.get("phases_server_first"),
        "repeated": breakdown.get("phases_server_repeat"),
    }
    measured = [r for r in breakdown["phase_runs"] if r["phases"]]
    if any(phases.values()):
        names = next(p for p in phases.values() if p)
        loads = [r["load_1m"] for r in measured]
        lines += [
            "",
            "## Where the time goes with the lab's servers running",
            "",
            f"`benchmarks/cli_phases.py`: the same run with a clock on each phase (median of "
            f"{max(Counter(r['situation'] for r in measured).values())} run(s) per column, "
            f"load {min(loads):.1f}-{max(loads):.1f}); the phases follow each other and add "
            "up to the wall time.",
            "",
            "| phase | first run s | repeated run s |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| {name} | {fmt((phases['first'] or {}).get(name), 3)} | "
            f"{fmt((phases['repeated'] or {}).get(name), 3)} |"
            for name in names
        ]
        lines.append(
            f"| **total** | {fmt(sum((phases['first'] or {}).values()), 3)} | "
            f"{fmt(sum((phases['repeated'] or {}).values()), 3)} |"
        )
    imports = breakdown.get("importtime_server_repeat") or {}
    if imports.get("total_s") is not None:
        lines += [
            "",
            "### Imports (`python -X importtime -m github_stars`, a repeated run)",
            "",
            f"{imports['modules']} modules, {fmt(imports['total_s'])} s of imports in a "
            f"{fmt(imports['wall_s'])} s run (load {imports['load_1m']:.1f}; importtime "
            "itself slows imports down, so read the shares, and take the seconds from the "
            f"phases above); Prefect, imported by our modules, {fmt(imports['prefect_s'])} s.",
        ]
        lines += _seconds_table("Own import time per package:", imports["by_package_s"], "package")
        lines += _seconds_table(
            "What our modules import from other packages (cumulative):",
            imports["our_imports_s"],
            "import",
        )
        lines += _seconds_table(
            "Imported while the run runs (by Prefect, after our modules):",
            imports["imported_during_run_s"],
            "module",
        )
        lines += _seconds_table(
            "What Prefect's modules import from other packages (cumulative):",
            imports["prefect_pulls_in_s"],
            "package",
        )
    references = breakdown.get("references_s")
    if references:
        lines += [
            "",
            "For reference, fresh processes: "
            + ", ".join(f"`{code}` {fmt(value)} s" for code, value in references.items())
            + ".",
        ]
    lines.append("")
    return "\n".join(lines)


def startup_chart(results: dict[str, Any]) -> Figure:
    """Median wall seconds per situation (min-max bars, the target), and the phases of a
    run with the lab's servers running."""
    summary, breakdown = results["summary"], results["breakdown"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    situations = [s for s, row in summary.items() if row["median_s"] is not None]
    medians = [summary[s]["median_s"] for s in situations]
    errors = [
        [max(0.0, m - summary[s]["min_s"]) for s, m in zip(situations, medians, strict=True)],
        [max(0.0, summary[s]["max_s"] - m) for s, m in zip(situations, medians, strict=True)],
    ]
    bars = left.bar(
        range(len(situations)),
        medians,
        yerr=errors,
        capsize=4,
        color=[SITUATION_COLORS[s] for s in situations],
    )
    left.bar_label(bars, labels=[f"{m:.1f} s" for m in medians], fontsize=8)
    left.axhline(results["target_s"], color="k", linestyle="--", label="target with a server")
    left.set_xticks(
        range(len(situations)),
        [summary[s]["label"].replace(", ", "\n") for s in situations],
        fontsize=8,
    )
    left.set_ylabel("wall seconds (median, min-max)")
    loads = [x for s in situations for x in (summary[s]["load_1m_min"], summary[s]["load_1m_max"])]
    left.set_title(
        f"`make run`, 3 repositories (load {min(loads, default=0):.1f}-"
        f"{max(loads, default=0):.1f})",
        fontsize=10,
    )
    left.legend(fontsize=8)
    columns = {
        "first run": breakdown.get("phases_server_first"),
        "repeated run": breakdown.get("phases_server_repeat"),
    }
    columns = {name: phases for name, phases in columns.items() if phases}
    if columns:
        names = list(next(iter(columns.values())))
        colors = plt.cm.tab20(np.linspace(0, 1, len(names)))
        for row, phases in enumerate(columns.values()):
            start = 0.0
            for color, name in zip(colors, names, strict=True):
                right.barh(
                    row, phases[name], left=start, color=color, label=name if row == 0 else None
                )
                start += phases[name]
        right.set_yticks(range(len(columns)), list(columns))
        right.axvline(results["target_s"], color="k", linestyle="--")
        right.set_xlabel("seconds")
        right.set_title("Where the time goes, the lab's servers running", fontsize=10)
        right.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def write_startup_outputs(results: dict[str, Any], out: Path) -> list[Path]:
    """Write startup.json, startup.md and startup.png into `out`; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    figure = startup_chart(results)
    paths = [out / "startup.json", out / "startup.md", out / "startup.png"]
    paths[0].write_text(json.dumps(results, indent=2, default=float) + "\n")
    paths[1].write_text(startup_markdown(results))
    figure.savefig(paths[2], dpi=110, bbox_inches="tight")
    plt.close(figure)
    return paths
