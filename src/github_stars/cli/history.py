"""`python -m github_stars history PATH|URL`: the star history `serve` and `--history` keep.

    python -m github_stars history stars.db
    python -m github_stars history stars.db --chart stars.png --csv history.csv
    python -m github_stars history stars.db --backfill psf/requests --from repos.txt

stdout: the stars per day of the last `--days` days (a row per repository, a column per day,
`-` where a repository has no row that day: a failed fetch is a gap, never a zero; `*` marks a
backfilled figure, an estimate), then the top movers over those days; stderr: the days on which
no repository has a row. `--csv` writes every row (one per repository and day, with `repo` and
`source` columns); `--chart` the stars over time as a PNG line chart (backfilled days dashed).
Without `--backfill` the history is opened read only: nothing is created or changed, whatever
the file is. A row that is not a valid record is named on stderr (its day and repository, and
why) and left out.

`--backfill [OWNER/REPO ...]` (and `--from PATH`) first fills the history back to each
repository's first star from the API's star history (`github_stars.backfill`, a Prefect flow:
one line per repository on stdout, a progress display and a summary on stderr), creating the
history if needed; without names, the repositories it holds (a new one: the run's default
ones). The API, the Prefect server and `--live`/`--max-wait` are chosen as for a run.

Exit codes: 0; 1 when some rows were unreadable (the others are shown) or some repositories
could not be backfilled; 2 when the history cannot be read or keeps another API's figures (a
missing file without `--backfill`, a URL with a password, no star history there).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from github_stars.cli.run import EXIT_FAILED, EXIT_OK, EXIT_USAGE, say

EXIT_UNREADABLE = EXIT_FAILED  # shown, but some rows could not be read
SHOWN_UNREADABLE = 20
SHOWN_GAPS = 10  # stretches of days without a row listed; more are counted
MISSING = "-"
ESTIMATE = "*"
DEFAULT_DAYS = 7
DEFAULT_TOP = 5


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m github_stars history",
        description="Show the star history: stars per day and the top movers; write it as "
        "CSV (one row per repository and day) or as a line chart. --backfill first fills it "
        "back to each repository's first star from the API's star history (estimates).",
    )
    parser.add_argument("location", metavar="PATH|URL", help="the history (SQLite file or URL)")
    parser.add_argument("--csv", type=Path, metavar="PATH", help="write every row as CSV")
    parser.add_argument("--chart", type=Path, metavar="PATH", help="write a PNG line chart")
    parser.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        metavar="N",
        help=f"days shown and the top movers' window (default {DEFAULT_DAYS})",
    )
    parser.add_argument(
        "--top", type=int, default=DEFAULT_TOP, metavar="N", help="top movers shown (default 5)"
    )
    backfill = parser.add_argument_group("backfill")
    backfill.add_argument(
        "--backfill",
        nargs="*",
        metavar="OWNER/REPO",
        help="first backfill these repositories (none: those the history holds) back to their "
        "first star, from the API's star history; each day's figure is an estimate",
    )
    backfill.add_argument(
        "--from",
        dest="sources",
        action="append",
        default=[],
        metavar="PATH",
        help="with --backfill: repositories from a file ('-': stdin); may be repeated",
    )
    backfill.add_argument("--live", action="store_true", help="with --backfill: the real API")
    backfill.add_argument(
        "--max-wait",
        type=float,
        metavar="SECONDS",
        help="with --backfill: longest rate-limit wait to accept (default 60)",
    )
    return parser


def stars_table(frame, days: int) -> tuple[str, bool]:
    """The last `days` days of stars: a row per repository, a column per day (MM-DD); an
    estimate (a backfilled row) marked `ESTIMATE`. And whether it shows one."""
    from github_stars.reports.history_report import estimated_by_day, stars_by_day

    table = stars_by_day(frame).tail(days).T
    estimated = estimated_by_day(frame).tail(days).T
    table.columns = estimated.columns = [day.strftime("%m-%d") for day in table.columns]
    shown = table.map(lambda stars: MISSING if stars != stars else f"{stars:,.0f}")
    shown = shown.where(~estimated, shown + ESTIMATE)
    shown.index.name = None
    return shown.to_string(), bool(estimated.to_numpy().any())


def movers_table(frame, days: int, top: int) -> tuple[str, bool]:
    """The `top` repositories by stars gained over the last `days` days, a gain computed with
    an estimate marked `ESTIMATE`. And whether it shows one."""
    from github_stars.reports.history_report import top_movers

    movers = top_movers(frame, days=days, n=top)
    if movers.empty:
        return "(needs two days of rows for a repository)", False
    mark = movers["estimated"].map({True: ESTIMATE, False: ""})
    shown = movers.drop(columns="estimated").assign(
        stars_then=movers["stars_then"].map("{:,}".format),
        stars_now=movers["stars_now"].map("{:,}".format),
        gain=movers["gain"].map("{:+,}".format) + mark,
        gain_percent=movers["gain_percent"].map(
            lambda pct: MISSING if pct != pct else f"{pct:+.2f}%"
        ),
    )
    shown.index = range(1, len(shown) + 1)
    return shown.to_string(), bool(movers["estimated"].any())


def summary(frame, location: str) -> str:
    """`Star history in X: N rows (B backfilled: estimates), R repositories, D days (first to
    last).`"""
    repos = frame["repo"].str.lower().nunique()
    days = frame["day"].dt.date
    span = f"{days.nunique()} days ({days.min()} to {days.max()})" if len(frame) else "no days"
    backfilled = int(frame["source"].eq("backfilled").sum())
    rows = f"{len(frame):,} rows" + (
        f" ({backfilled:,} backfilled: estimates)" if backfilled else ""
    )
    return f"Star history in {location}: {rows}, {repos:,} repositories, {span}."


def gaps_line(frame) -> str | None:
    """`Days with no row at all: N (first to last; ...)`, or None when every day has one."""
    from github_stars.reports.history_report import missing_days

    days = [day.date() for day in missing_days(frame)]
    if not days:
        return None
    stretches: list[list] = []
    for day in days:
        if stretches and (day - stretches[-1][1]).days == 1:
            stretches[-1][1] = day
        else:
            stretches.append([day, day])
    shown = [str(a) if a == b else f"{a} to {b}" for a, b in stretches[:SHOWN_GAPS]]
    more = len(stretches) - SHOWN_GAPS
    listed = "; ".join(shown) + (f"; and {more:,} more" if more > 0 else "")
    return f"Days with no row at all: {len(days):,} ({listed})."


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.days < 1 or args.top < 1:
        parser.error("--days and --top must be at least 1")
    backfilling = args.backfill is not None
    if not backfilling and (args.sources or args.live or args.max_wait is not None):
        parser.error("--from, --live and --max-wait go with --backfill")
    from github_stars.core.star_history import (
        HistoryError,
        StarHistory,
        location_problem,
        one_line,
        records_frame,
    )

    problem = location_problem(args.location)
    if problem:
        parser.error(problem)  # the location is not repeated: it may hold a password
    backfilled = backfill(parser, args) if backfilling else EXIT_OK
    if backfilled == EXIT_USAGE:
        return backfilled
    if "://" not in args.location and not Path(args.location).expanduser().is_file():
        say(f"{parser.prog}: no history at {args.location} (a serve or --history run writes it)")
        return EXIT_USAGE
    try:  # read only: nothing is created or changed, whatever the file is
        with StarHistory.open(args.location, read_only=True) as history:
            records, unreadable = history.read()
    except HistoryError as exc:
        say(f"{parser.prog}: {exc}")
        return EXIT_USAGE
    except Exception as exc:  # the database's own error, in one line
        say(f"{parser.prog}: cannot read {args.location}: {one_line(exc)}")
        return EXIT_USAGE
    for row in unreadable[:SHOWN_UNREADABLE]:
        say(f"{parser.prog}: unreadable row, left out: {row}")
    if len(unreadable) > SHOWN_UNREADABLE:
        say(f"{parser.prog}: ... and {len(unreadable) - SHOWN_UNREADABLE:,} more unreadable rows")
    frame = records_frame(records)

    print(summary(frame, args.location))
    gaps = gaps_line(frame)
    if gaps:
        say(gaps)
    if len(frame):
        table, estimates = stars_table(frame, args.days)
        marks = f"{MISSING}: no row that day"
        if estimates:
            marks += f"; {ESTIMATE}: backfilled, an estimate"
        print(f"\nStars per day, last {args.days} days ({marks}):")
        print(table)
        table, estimates = movers_table(frame, args.days, args.top)
        marks = f" ({ESTIMATE}: from a backfilled estimate)" if estimates else ""
        print(f"\nTop movers over the last {args.days} days{marks}:")
        print(table)
    written = save(frame, args.csv, args.chart)
    if written:
        say("Written: " + "; ".join(written) + ".")
    return max(backfilled, EXIT_UNREADABLE if unreadable else EXIT_OK)


def backfill_names(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[list[str], int]:
    """The repositories to backfill: those named (`--backfill`, then `--from`); else those the
    history holds; else the run's default ones. And how many `--from` lines were unusable
    (each said on stderr)."""
    from github_stars.cli.inputs import read_inputs
    from github_stars.core import DEFAULT_REPOS, HistoryError, StarHistory, distinct_names

    if args.backfill or args.sources:
        inputs = read_inputs(parser, argparse.Namespace(repos=args.backfill, sources=args.sources))
        say(*map(str, inputs.problems))
        return distinct_names(inputs.names), len(inputs.problems)
    held = []
    if "://" in args.location or Path(args.location).expanduser().is_file():
        with (
            contextlib.suppress(HistoryError),  # no history there yet: a new one
            StarHistory.open(args.location, read_only=True) as history,
        ):
            held = history.repositories()
    return held or list(DEFAULT_REPOS), 0


def backfill(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the backfill flow into the history: one line per repository on stdout, notices,
    progress and a summary on stderr. EXIT_OK, EXIT_FAILED (some repositories failed) or
    EXIT_USAGE (the history cannot take this API's figures)."""
    from contextlib import ExitStack

    from github_stars.backfill import backfill_line, backfill_stars
    from github_stars.cli.progress import RunProgress, summary
    from github_stars.cli.run import enter_run, outcomes_after_failure
    from github_stars.core import GitHubStarsError, observing
    from github_stars.core.star_history import resolve_location

    names, bad_lines = backfill_names(parser, args)
    if not names:
        return EXIT_FAILED  # every --from line was unusable (each was said)
    location = resolve_location(args.location)  # a flow parameter: absolute
    started = time.perf_counter()
    with ExitStack() as stack:
        entered = enter_run(stack, args, location, f"{parser.prog}: --backfill")
        if entered is None:
            return EXIT_USAGE
        settings, notices = entered
        say(*notices)
        watcher = stack.enter_context(RunProgress(len(names), settings.budget))
        stack.enter_context(observing(watcher))
        try:
            results = backfill_stars(names, settings, location)
        except GitHubStarsError as exc:  # the run as a whole: the store, the API's date
            say(f"The backfill failed: {exc}")
            results = outcomes_after_failure(names, watcher.outcomes, exc)
    for result in results:
        print(backfill_line(result), flush=True)
    counts = watcher.request_counts()
    outputs = [f"history: {args.location} (backfilled rows are estimates)"]
    lines = summary(
        results,
        wall=time.perf_counter() - started,
        requests=counts.requests,
        not_modified=counts.not_modified,
        rate_left=(counts.rate_remaining, counts.rate_limit),
        bad_lines=bad_lines,
        outputs=outputs,
    )
    say(*lines)
    return EXIT_FAILED if bad_lines or any(not r.ok for r in results) else EXIT_OK


def save(frame, csv_path: Path | None, chart_path: Path | None) -> list[str]:
    """Write the CSV and/or the chart; what was written, as `CSV: path` etc."""
    if not (csv_path or chart_path):
        return []
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window
    from github_stars.reports.history_report import save_history

    save_history(frame, csv_path, chart_path)
    return [f"{kind}: {path}" for kind, path in (("CSV", csv_path), ("chart", chart_path)) if path]


if __name__ == "__main__":
    sys.exit(main())
