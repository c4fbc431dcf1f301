"""`python -m github_stars [OWNER/REPO ...] [--from PATH]`: run the finished pipeline, report stars.

stdout: one line per repository, in input order (the result). stderr: which API, a progress
display for more than `progress.SHOW_ABOVE` repositories, Prefect's warnings and errors, and a
one-screen summary. Exit codes: 0 all succeeded, 1 some failed (or bad lines in a `--from`
list), 2 usage error (bad option, unreadable `--from` list).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path
from typing import Any

from github_stars import config
from github_stars.repo_list import RepoList, RepoListError, read_repo_list

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
SHOWN_BAD_LINES = 50  # more bad lines are counted, not listed

EPILOG = """\
--from PATH reads one owner/repo per line (blank lines and # comments ignored), a CSV with a
'repo' or 'full_name' column, or GitHub URLs (https://github.com/owner/repo[.git]); '-' reads
standard input. Exit codes: 0 all succeeded, 1 some repositories failed or lines of a --from
list were unusable, 2 usage error (bad option, unreadable --from list).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m github_stars",
        epilog=EPILOG,
        description="Report GitHub star counts with a resilient Prefect pipeline. Without "
        "GITHUB_API_URL it uses the bundled local GitHub API simulator (snapshot data).",
    )
    parser.add_argument(
        "repos",
        nargs="*",
        metavar="OWNER/REPO",
        help=f"repositories (default: {' '.join(config.DEFAULT_REPOS)})",
    )
    parser.add_argument(
        "--from",
        dest="sources",
        action="append",
        default=[],
        metavar="PATH",
        help="read repositories from a file ('-': stdin); may be repeated",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help=f"use the real API at {config.LIVE_API_URL} (GITHUB_TOKEN if set)",
    )
    parser.add_argument("--csv", type=Path, metavar="PATH", help="write the results as CSV")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    parser.add_argument("--chart", type=Path, metavar="PATH", help="write a PNG bar chart")
    parser.add_argument(
        "--max-wait",
        type=float,
        metavar="SECONDS",
        help="longest rate-limit wait to accept (default 60)",
    )
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Prefect's log lines for every flow and task run (no progress)",
    )
    talk.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only the results: no notice, progress or summary",
    )
    dask = parser.add_mutually_exclusive_group()
    dask.add_argument(
        "--dask-workers",
        type=int,
        metavar="N",
        help="run the tasks on a local Dask cluster of N worker processes",
    )
    dask.add_argument(
        "--dask-address",
        metavar="ADDRESS",
        help="run the tasks on the Dask scheduler at ADDRESS (tcp://HOST:PORT)",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def read_inputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> RepoList:
    """The names to fetch: arguments, then each `--from` list. Unreadable lists exit 2."""
    inputs = RepoList(names=list(args.repos))
    for source in args.sources:
        try:
            inputs.extend(read_repo_list(source))
        except RepoListError as exc:
            parser.error(f"--from {exc}")
    if args.sources and not inputs.names and not inputs.problems:
        parser.error(f"--from: no repositories in {', '.join(args.sources)}")
    if not args.repos and not args.sources:
        inputs.names = list(config.DEFAULT_REPOS)
    return inputs


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
    notice = (
        f"Using the local GitHub API simulator at {sim.url}: figures come from a snapshot "
        f"dated {SNAPSHOT_DATE}, not live (use --live for the real API)."
    )
    changed = changed_knobs(sim.settings())
    if changed:  # a lesson may have left latency, faults or limits on a shared simulator
        notice += f" Its knobs differ from a healthy API's: {changed}."
    return notice


def changed_knobs(settings: dict[str, Any]) -> str:
    """The simulator settings that differ from their defaults, as `name=value, ...`."""
    from github_stars.simulator.settings import SimulatorSettings

    defaults = SimulatorSettings().to_dict()
    return ", ".join(
        f"{name}={value!r}" for name, value in settings.items() if defaults.get(name) != value
    )


class _HidePrefectLogs(logging.Filter):
    """Drop flow/task-run records below `run_level` and other Prefect records below `level`."""

    def __init__(self, run_level: int, level: int) -> None:
        super().__init__()
        self.run_level, self.level = run_level, level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(RUN_LOGGERS):
            return record.levelno >= self.run_level
        return not record.name.startswith("prefect") or record.levelno >= self.level


def set_log_verbosity(verbose: bool, quiet: bool) -> None:
    """Prefect's console output in this process only: per-run INFO lines off unless `verbose`;
    with `quiet` no run lines at all and no other Prefect lines below ERROR.

    A filter on the console handler, so a Prefect server still receives every log line.
    """
    if verbose:
        for name in RUN_LOGGERS:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
        return
    from prefect.logging.handlers import PrefectConsoleHandler

    hide = (
        _HidePrefectLogs(logging.CRITICAL + 1, logging.ERROR)
        if quiet
        else _HidePrefectLogs(logging.WARNING, logging.NOTSET)
    )
    for logger in (logging.getLogger(), logging.getLogger("prefect")):
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.addFilter(hide)


def say(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    inputs = read_inputs(parser, args)
    problems = [str(p) for p in inputs.problems]
    say(*problems[:SHOWN_BAD_LINES])
    if len(problems) > SHOWN_BAD_LINES:
        say(f"... and {len(problems) - SHOWN_BAD_LINES:,} more unusable lines")
    if not inputs.names:
        return EXIT_FAILED

    from github_stars.prefect_settings import apply_prefect_settings

    apply_prefect_settings()  # before Prefect starts a temporary server, if this run needs one
    notice = choose_api(args.live)

    from github_stars import http_cache, pipeline
    from github_stars.client import REQUESTS
    from github_stars.progress import RunProgress, budget_notice, summary

    set_log_verbosity(args.verbose, args.quiet)
    http_cache.enable()
    budget = config.rate_budget()
    if not args.quiet:
        say(notice)
        warning = budget_notice(len(inputs.names), budget, bool(config.github_token()))
        if warning:
            say(warning)
    REQUESTS.reset()
    started = time.perf_counter()
    with ExitStack() as stack:
        if not (args.quiet or args.verbose):
            display = stack.enter_context(RunProgress(budget, lambda: REQUESTS.snapshot().requests))
            stack.enter_context(pipeline.observe(display))
        runner = stack.enter_context(dask_runner(args))  # None: the flow's thread pool
        flow = pipeline.show_stars
        if runner is not None:
            flow = flow.with_options(task_runner=runner)
        results = flow(inputs.names, max_wait=args.max_wait)
    wall = time.perf_counter() - started
    for result in results:
        print(result.line(), flush=True)
    outputs = save_outputs(results, args)
    if not args.quiet:
        counts = REQUESTS.snapshot()
        say(
            *summary(
                results,
                wall=wall,
                requests=counts.requests,
                not_modified=counts.not_modified,
                rate_left=(counts.rate_remaining, counts.rate_limit),
                bad_lines=len(problems),
                outputs=outputs,
            )
        )
    failed = problems or any(not r.ok for r in results)
    return EXIT_FAILED if failed else EXIT_OK


def dask_runner(args: argparse.Namespace) -> AbstractContextManager:
    """`--dask-workers`/`--dask-address`: a `DaskTaskRunner` for the run (`scale_out`)."""
    if args.dask_workers is None and args.dask_address is None:
        return nullcontext(None)
    from github_stars.scale_out import dask_task_runner

    return dask_task_runner(workers=args.dask_workers, address=args.dask_address)


def save_outputs(results: list, args: argparse.Namespace) -> list[str]:
    """Write `--csv`, `--chart` and `--json`; what was written, as `CSV: path` etc."""
    written = []
    if args.csv or args.chart:
        from github_stars.report import save_results

        save_results(results, args.csv, args.chart)
        written += [
            f"{kind}: {path}" for kind, path in (("CSV", args.csv), ("chart", args.chart)) if path
        ]
    if args.json:
        from github_stars.report import save_json

        save_json(results, args.json, config.api_identity())
        written.append(f"JSON: {args.json}")
    return written


if __name__ == "__main__":
    sys.exit(main())
