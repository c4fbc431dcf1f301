"""`python -m github_stars [OWNER/REPO ...]`: run the finished pipeline and report stars."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from github_stars import config


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m github_stars",
        description="Report GitHub star counts with a resilient Prefect pipeline. Without "
        "GITHUB_API_URL it uses the bundled local GitHub API simulator (snapshot data).",
    )
    parser.add_argument("repos", nargs="*", metavar="OWNER/REPO",
                        help=f"repositories (default: {' '.join(config.DEFAULT_REPOS)})")
    parser.add_argument("--live", action="store_true",
                        help=f"use the real API at {config.LIVE_API_URL} (GITHUB_TOKEN if set)")
    parser.add_argument("--csv", type=Path, metavar="PATH", help="write the results as CSV")
    parser.add_argument("--chart", type=Path, metavar="PATH", help="write a PNG bar chart")
    parser.add_argument("--max-wait", type=float, metavar="SECONDS",
                        help="longest rate-limit wait to accept (default 60)")
    return parser.parse_args(argv)


def choose_api(live: bool) -> str:
    """Point the pipeline at the real API, the configured one, or the bundled simulator."""
    if live:
        os.environ["GITHUB_API_URL"] = config.LIVE_API_URL
        return "Using the live GitHub API."
    if os.environ.get("GITHUB_API_URL"):
        return f"Using the GitHub API at {config.api_base_url()}."
    from github_stars.simulator import free_port, start_simulator
    from github_stars.simulator.control import simulator_running
    from github_stars.simulator.snapshot import SNAPSHOT_DATE

    # Reuse a long-running simulator on the default port (binder/start, `python -m
    # github_stars.simulator`); else start one for this run alone on a free port, so a run
    # that ends first never stops the simulator another run is still using.
    sim = start_simulator() if simulator_running() else start_simulator(free_port())
    notice = (f"Using the local GitHub API simulator at {sim.url}: figures come from a snapshot "
              f"dated {SNAPSHOT_DATE}, not live (use --live for the real API).")
    changed = changed_knobs(sim.settings())
    if changed:  # a lesson may have left latency, faults or limits on a shared simulator
        notice += f" Its knobs differ from a healthy API's: {changed}."
    return notice


def changed_knobs(settings: dict[str, Any]) -> str:
    """The simulator settings that differ from their defaults, as `name=value, ...`."""
    from github_stars.simulator.settings import SimulatorSettings

    defaults = SimulatorSettings().to_dict()
    return ", ".join(f"{name}={value!r}" for name, value in settings.items()
                     if defaults.get(name) != value)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from github_stars.prefect_settings import apply_prefect_settings

    apply_prefect_settings()  # before Prefect starts a temporary server, if this run needs one
    print(choose_api(args.live), file=sys.stderr, flush=True)

    from github_stars.pipeline import show_stars

    results = show_stars(args.repos or config.DEFAULT_REPOS, max_wait=args.max_wait)
    for result in results:
        print(result.line(), flush=True)
    if args.csv or args.chart:
        from github_stars.report import save_results

        save_results(results, args.csv, args.chart)
    return 1 if any(not r.ok for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
