"""`python -m github_stars [OWNER/REPO ...] [--from PATH]`: run the finished pipeline once.

stdout: one line per repository, in input order (the result). stderr: which API and which
Prefect server, a progress display for more than `progress.SHOW_ABOVE` repositories, Prefect's
warnings and errors, and a one-screen summary. Exit codes: 0 all succeeded, 1 some failed (or
bad lines in a `--from` list), 2 usage error (bad option, unreadable `--from` list, a `--history`
that keeps another API's figures or cannot be opened).
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from github_stars.cli.inputs import add_input_arguments, read_inputs
from github_stars.settings import (
    LIVE_API_URL,
    LabPlaces,
    Settings,
    token_for,
    without_flow_heartbeats,
)

if TYPE_CHECKING:  # the core imports Prefect: only once a run needs it
    from github_stars.cli.progress import RunRecorder
    from github_stars.core import GitHubStarsError, RepoResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SHOWN_BAD_LINES = 50  # more bad lines are counted, not listed

EPILOG = """\
--from PATH reads one owner/repo per line (blank lines and # comments ignored), a CSV with a
'repo' or 'full_name' column, or GitHub URLs (https://github.com/owner/repo[.git]); '-' reads
standard input. Exit codes: 0 all succeeded, 1 some repositories failed or lines of a --from
list were unusable, 2 usage error (bad option, unreadable --from list, a --history that keeps
another API's figures or cannot be opened). Other commands:
'serve' (run it on a schedule), 'history' (the star history), 'server' (a local Prefect
server for fast runs); 'python -m github_stars COMMAND --help' says more.
"""


def add_api_arguments(parser: argparse.ArgumentParser) -> None:
    """`--live`, `--max-wait` and `--history`: what `run` and `serve` share."""
    parser.add_argument(
        "--live",
        action="store_true",
        help=f"use the real API at {LIVE_API_URL} (GITHUB_TOKEN if set)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        metavar="SECONDS",
        help="longest rate-limit wait to accept (default 60)",
    )
    parser.add_argument(
        "--history",
        metavar="PATH|URL",
        help="keep one row per repository and day in this SQLite file or database URL "
        "(postgresql+psycopg://user@host/db; the password from PGPASSWORD or ~/.pgpass)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m github_stars",
        epilog=EPILOG,
        description="Report GitHub star counts with a resilient Prefect pipeline. Without "
        "GITHUB_API_URL it uses the bundled local GitHub API simulator (snapshot data).",
    )
    add_input_arguments(parser)
    add_api_arguments(parser)
    parser.add_argument("--csv", type=Path, metavar="PATH", help="write the results as CSV")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    parser.add_argument("--chart", type=Path, metavar="PATH", help="write a PNG bar chart")
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


def run_settings(args: argparse.Namespace) -> Settings:
    """The run's settings: the environment's, then the options (the edge of a CLI run)."""
    settings = Settings.from_environment(live=args.live, http_cache=True)
    if args.max_wait is not None:
        settings = settings.with_changes(max_wait=args.max_wait)
    return settings


def history_location(parser: argparse.ArgumentParser, text: str | None) -> str | None:
    """`--history` as the flow gets it: a database URL, or a file's absolute path. A URL
    with a password is a usage error (it would be stored with the flow run's parameters)."""
    if text is None:
        return None
    from github_stars.core.star_history import location_problem, resolve_location

    problem = location_problem(text)
    if problem:
        parser.error(f"--history: {problem}")
    return resolve_location(text)


def history_refusal(location: str | None, settings: Settings) -> str | None:
    """Why the history at `location` cannot take this run's figures (None when it can): it
    keeps another API's, or the store cannot be opened. Checked before any request; opening
    it creates it and records its API if new (the run's flow checks again)."""
    if location is None:
        return None
    from github_stars.core.api import api_identity
    from github_stars.core.star_history import HistoryError, StarHistory

    try:
        with StarHistory.open(location, api_identity(settings)):
            return None
    except HistoryError as exc:
        return str(exc)


def enter_run(
    stack: ExitStack,
    args: argparse.Namespace,
    history: str | None,
    refused_as: str,
    *,
    shared: bool = False,
    verbose: bool = False,
    quiet: bool = False,
) -> tuple[Settings, list[str]] | None:
    """Enter on `stack`, in this order, what a flow run of the command line needs: the API (the
    bundled simulator unless one is named), the check that `history` takes its figures, the
    Prefect server (`shared`: usable by other processes), Prefect's log verbosity (`verbose`,
    `quiet`) and no flow-run heartbeats. The run's settings and the notices saying which API and
    server; None when the history refuses (said as `REFUSED_AS: why`, before any server starts)."""
    from github_stars.cli.api_choice import api_for_run
    from github_stars.cli.prefect_connection import prefect_for_run
    from github_stars.cli.verbosity import set_log_verbosity

    settings, api_notice = stack.enter_context(api_for_run(run_settings(args)))
    refusal = history_refusal(history, settings)
    if refusal:
        say(f"{refused_as}: {refusal}")
        return None
    prefect = stack.enter_context(prefect_for_run(LabPlaces.from_environment(), shared=shared))
    set_log_verbosity(verbose, quiet)
    stack.enter_context(without_flow_heartbeats())
    return settings, [api_notice, str(prefect)]


def say(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    inputs = read_inputs(parser, args)
    history = history_location(parser, args.history)
    problems = [str(p) for p in inputs.problems]
    say(*problems[:SHOWN_BAD_LINES])
    if len(problems) > SHOWN_BAD_LINES:
        say(f"... and {len(problems) - SHOWN_BAD_LINES:,} more unusable lines")
    if not inputs.names:
        return EXIT_FAILED

    from github_stars.core import distinct_names

    names = distinct_names(inputs.names)  # a repository named twice is fetched once
    started = time.perf_counter()
    run = run_pipeline(parser, args, names, history)
    if run is None:
        return EXIT_USAGE
    results, watcher, settings = run
    wall = time.perf_counter() - started
    report(results, watcher, settings, args, wall=wall, bad_lines=len(problems))
    failed = problems or any(not r.ok for r in results)
    return EXIT_FAILED if failed else EXIT_OK


def run_pipeline(
    parser: argparse.ArgumentParser, args: argparse.Namespace, names: list[str], history: str | None
) -> tuple[list[RepoResult], RunRecorder, Settings] | None:
    """Run the finished pipeline on `names` as `args` ask: with the API, the Prefect server
    and (with `--dask-*`) the cluster they name, watched by a progress display or a recorder.
    None when the history belongs to another API (a usage error, said on stderr)."""
    from github_stars import pipeline
    from github_stars.cli.progress import RunProgress, RunRecorder
    from github_stars.core import GitHubStarsError, observing

    dask = args.dask_workers is not None or args.dask_address is not None
    with ExitStack() as stack:
        refused_as = f"{parser.prog}: --history"
        entered = enter_run(
            stack, args, history, refused_as, shared=dask, verbose=args.verbose, quiet=args.quiet
        )
        if entered is None:
            return None
        settings, notices = entered
        if not args.quiet:
            say(*notices, *budget_warning(names, settings))
        show = not (args.quiet or args.verbose)
        watcher = RunProgress(len(names), settings.budget) if show else RunRecorder()
        stack.enter_context(watcher)
        stack.enter_context(observing(watcher))
        flow = pipeline.show_stars
        if dask:
            from github_stars.cli.scale_out import dask_cluster

            address = stack.enter_context(dask_cluster(args.dask_workers, args.dask_address))
            flow = pipeline.on_dask(address)
            settings = settings.with_changes(share_pause=True)
        try:
            results = flow(names, settings, history=history)
        except GitHubStarsError as exc:  # the run as a whole, e.g. the API's date unreadable
            say(f"The run failed: {exc}")
            results = outcomes_after_failure(names, watcher.outcomes, exc)
    return results, watcher, settings


def budget_warning(names: list[str], settings: Settings) -> list[str]:
    """A line announcing a run the rate budget makes long, if this one is."""
    from github_stars.cli.progress import budget_notice
    from github_stars.core.names import name_problem

    requests = sum(name_problem(name) is None for name in names)
    token = token_for(settings.api_url).token is not None
    warning = budget_notice(requests, settings.budget, token)
    return [warning] if warning else []


def report(
    results: list[RepoResult],
    watcher: RunRecorder,
    settings: Settings,
    args: argparse.Namespace,
    *,
    wall: float,
    bad_lines: int,
) -> None:
    """The results on stdout, the files `args` ask for, and (unless `-q`) the summary."""
    from github_stars.cli.progress import summary

    for result in results:
        print(result.line(), flush=True)
    api = watcher.api.identity if watcher.api else settings.api_url
    outputs = save_outputs(results, args, api)
    if args.history:
        outputs.append(f"history: {args.history}")
    if args.quiet:
        return
    counts = watcher.request_counts()
    say(
        *summary(
            results,
            wall=wall,
            requests=counts.requests,
            not_modified=counts.not_modified,
            rate_left=(counts.rate_remaining, counts.rate_limit),
            bad_lines=bad_lines,
            outputs=outputs,
        )
    )


def outcomes_after_failure(
    names: list[str], heard: dict[str, RepoResult], exc: GitHubStarsError
) -> list[RepoResult]:
    """Every repository's outcome when the run failed as a whole: those it reported, and
    `exc` for the others, in input order (for a failure of the star history: the run
    stopped)."""
    from github_stars.core import HistoryError, RepoResult

    if isinstance(exc, HistoryError):
        exc = HistoryError(f"not kept: the run stopped ({exc})")
    return [heard.get(repo) or RepoResult.failed(repo, exc) for repo in names]


def save_outputs(results: list, args: argparse.Namespace, api: str) -> list[str]:
    """Write `--csv`, `--chart` and `--json`; what was written, as `CSV: path` etc."""
    written = []
    if args.csv or args.chart:
        from github_stars.reports.run_report import save_results

        save_results(results, args.csv, args.chart)
        written += [
            f"{kind}: {path}" for kind, path in (("CSV", args.csv), ("chart", args.chart)) if path
        ]
    if args.json:
        from github_stars.reports.run_report import save_json

        save_json(results, args.json, api)
        written.append(f"JSON: {args.json}")
    return written
