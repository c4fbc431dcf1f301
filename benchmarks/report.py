"""Each benchmark's JSON as Markdown tables (pandas `to_markdown`) and one chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def table(rows: Any) -> str:
    frame = pd.DataFrame(rows)
    frame = frame.astype(object).where(frame.notna(), None)  # ints stay ints, NaN is "-"
    return frame.to_markdown(index=False, floatfmt=".2f", missingval="-")


def heading(results: dict[str, Any], title: str, server: str) -> list[str]:
    run = results["run"]
    return [
        f"# {title} ({run['mode']} run)",
        "",
        f"{run['date']}, Prefect {run['prefect']}, Python {run['python']}, {run['cpus']} CPUs; "
        f"load average (1 min) {run['load_1m_before']:.1f} at the start and "
        f"{run['load_1m_after']:.1f} at the end, {run['seconds']:.0f} s in all. {server} "
        "Compare ratios within one run, not times across runs.",
        "",
    ]


def features(results: dict[str, Any], frames: dict[str, pd.DataFrame]) -> tuple[str, Figure]:
    conc, cache, rates = results["concurrency"], results["caching"], results["rate_limiting"]
    start = results["summary"]["prefect_server_start_s"]
    efficiencies = ", ".join(f"{e:.2f}" for e in rates["target_efficiencies"])
    lines = [
        *heading(results, "What each feature buys", f"Prefect server start-up {start:.1f} s."),
        "## Targets",
        "",
        table(results["targets"]),
        "",
        f"## Concurrency (wall seconds, {conc['latency_s'] * 1000:.0f} ms per request)",
        "",
        table(conc["runs"]),
        "",
        f"## Caching (the finished pipeline, N={cache['n']})",
        "",
        table([cache]),
        "",
        f"## Rate limiting ({rates['tasks']} waiting tasks, burst {rates['limit']}, "
        f"{rates['per_second']:g}/s; the simulator refuses more than "
        f"{rates['simulator_allows_per_second']} requests in any second)",
        "",
        table(rates["runs"]),
        "",
        f"The target reads `{rates['target_config']}`: efficiency {efficiencies}, median "
        f"{rates['efficiency']:.2f}. A stall: over 1.5 s after the burst with no slot granted.",
        "",
    ]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.5))
    times = pd.DataFrame(conc["runs"]).set_index("n").filter(regex="^[a-z]+_s$")
    times.plot.bar(ax=left, logy=True, rot=0, ylabel="wall seconds (log)", title="Concurrency")
    bars = middle.bar(["uncached", "cached"], [cache["uncached_s"], cache["cached_s"]])
    middle.bar_label(bars, fmt="%.2f s")
    middle.set_title(f"The finished pipeline on {cache['n']} repositories, twice")
    for label, frame in frames.items():
        starts = np.sort(frame["start"].to_numpy())
        right.step(starts, np.arange(1, len(starts) + 1), where="post", label=label)
    t = np.array([0.0, max(frame["start"].max() for frame in frames.values())])
    right.plot(t, rates["limit"] + rates["per_second"] * t, "k--", label="budget")
    right.set(xlabel="seconds", ylabel="requests sent", title="Rate limiting", ylim=(0, None))
    right.legend(fontsize=6)
    return "\n".join(lines), fig


def scale(results: dict[str, Any], frames: dict[str, pd.DataFrame]) -> tuple[str, Figure]:
    databases, summary, met = results["databases"], results["summary"], results["met"]
    targets = [
        {"key": key, "target": target}
        | {
            DATABASES[db]: (
                "-" if summary[f"{key}_{db}"] is None else f"{summary[f'{key}_{db}']:.2f}"
            )
            + (" (met)" if met[f"{key}_{db}"] else " (**not met**)")
            for db in databases
        }
        for key, target in results["targets"].items()
    ]
    runs = pd.DataFrame(
        {"database": DATABASES[db], "run": name} | run
        for db, result in databases.items()
        for name, run in result["runs"].items()
    ).drop(columns=["stderr_tail", "returncode", "reported"])
    servers = "; ".join(
        f"{DATABASES[db]} started in {r['summary']['prefect_server_start_s']:.1f} s, its runs "
        f"kept in {r['served_by']}"
        for db, r in databases.items()
    )
    dask = [f"{key.rsplit('_', 1)[1]} repositories {value:.2f}x" for key, value in summary.items()
            if key.startswith("dask_over_threads")]  # fmt: skip
    lines = [
        *heading(results, "The finished pipeline at scale", f"Prefect servers: {servers}."),
        table(targets),
        "",
        "## Every run",
        "",
        "`python -m github_stars`, one process per run. A run cut at its deadline (`timed_out`) "
        "is projected at its pace (`projected_s`). `budget_overshoot`: the most requests beyond "
        "the budget in any interval (`lab.measure.budget_overshoot`); arrivals up to 1 s late "
        "are jitter (`lab.measure.ARRIVAL_JITTER`), so up to the rate x 1 s is no breach.",
        "",
        table(runs),
        "",
        "Dask over threads (`--dask-workers 2`, 0.2 s per request, the cluster's start-up "
        "included): " + (", ".join(dask) or "not measured") + ".",
        "",
    ]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    efficiency = runs.pivot(index="run", columns="database", values="efficiency")
    efficiency.loc[["token_budget", "full_snapshot"]].plot.bar(ax=left, rot=0)
    left.axhline(1.0, color="k", linestyle="--")
    left.set(ylabel="achieved rate / budget", title="Efficiency after the burst")
    seconds = runs.assign(s=runs["projected_s"].fillna(runs["seconds"]))
    seconds = seconds.pivot(index="run", columns="database", values="s").drop("token_budget")
    seconds.plot.bar(ax=right, rot=20, ylabel="wall seconds (cut: projected)", title="Wall time")
    return "\n".join(lines), fig


def startup(results: dict[str, Any], frames: dict[str, pd.DataFrame]) -> tuple[str, Figure]:
    runs = pd.DataFrame(results["runs"])
    situations = runs.groupby("situation", sort=False).agg(
        runs=("seconds", "size"),
        failed=("as_intended", lambda ran: (~ran).sum()),
        load_1m=("load_1m", lambda load: f"{load.min():.1f}-{load.max():.1f}"),
    )
    seconds = runs[runs["as_intended"]].groupby("situation")["seconds"]
    situations = situations.join(seconds.agg(["median", "min", "max"])).reset_index()
    lab, flows = results["lab_servers_start"], results["lab_server_flow_runs"]
    imports, new_user = results["imports"], results["new_user_first_run"]
    lines = [
        *heading(
            results,
            "`make run`: a fresh `python -m github_stars`",
            f"The lab's servers (`python -m github_stars server start`) started in "
            f"{lab['seconds']:.1f} s (load {lab['load_1m']:.1f}); their Prefect server held "
            f"{flows['counted']} `show-stars` flow runs, {flows['expected']} expected.",
        ),
        table(situations),
        "",
        "Targets: "
        + ", ".join(f"`{k}` {'met' if v else '**not met**'}" for k, v in results["met"].items()),  # noqa: E501
        "",
        f"A new user's very first run (no server, an empty PREFECT_HOME): {new_user['seconds']:.2f}"
        f" s (load {new_user['load_1m']:.1f}).\n"
        if new_user
        else "",
        "Fresh processes for reference: "
        + ", ".join(f"`{code}` {s:.2f} s" for code, s in results["references_s"].items())
        + f". A repeated run under `-X importtime` ({imports['seconds']:.2f} s, load "
        f"{imports['load_1m']:.1f}) spent {imports['imports_s']:.2f} s importing; own time "
        "per package:",
        "",
        table([{"package": k, "seconds": v} for k, v in imports["by_package_s"].items()]),
        "",
    ]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    rows = situations.set_index("situation")
    errors = [rows["median"] - rows["min"], rows["max"] - rows["median"]]
    bars = ax.bar(rows.index.str.replace("_", " "), rows["median"], yerr=errors, capsize=4)
    ax.bar_label(bars, fmt="%.1f s")
    ax.axhline(5.0, color="k", linestyle="--", label="target with the lab's servers running")
    ax.set(ylabel="wall seconds (median, min-max)", title="`make run`, three repositories")
    ax.legend(fontsize=8)
    return "\n".join(lines), fig


REPORTS = {"latest": features, "scale": scale, "startup": startup}


def write_report(name: str, results: dict, frames: dict, out: Path) -> None:
    """`<name>.md` and `<name>.png` in `out`."""
    markdown, figure = REPORTS[name](results, frames)
    (out / f"{name}.md").write_text(markdown)
    figure.tight_layout()
    figure.savefig(out / f"{name}.png", dpi=110)
    plt.close(figure)
