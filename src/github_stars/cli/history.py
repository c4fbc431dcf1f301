"""`python -m github_stars history PATH|URL`: the star history `serve` and `--history` keep.

    python -m github_stars history stars.db
    python -m github_stars history stars.db --chart stars.png --csv history.csv

stdout: the stars per day of the last `--days` days (a row per repository, a column per day,
`-` where a repository has no row that day: a failed fetch is a gap, never a zero), then the
top movers over those days. `--csv` writes every row (one per repository and day, with a
`repo` column); `--chart` the stars over time as a PNG line chart. The history is opened read
only: nothing is created or changed, whatever the file is. A row that is not a valid record is
named on stderr (its day and repository, and why) and left out. Exit codes: 0; 1 when some rows
were unreadable (the others are shown); 2 when the history cannot be read (a missing file, a
URL with a password, no star history there).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from github_stars.cli.run import EXIT_FAILED, EXIT_OK, EXIT_USAGE, say

EXIT_UNREADABLE = EXIT_FAILED  # shown, but some rows could not be read
SHOWN_UNREADABLE = 20
MISSING = "-"
DEFAULT_DAYS = 7
DEFAULT_TOP = 5


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m github_stars history",
        description="Show the star history: stars per day and the top movers; write it as "
        "CSV (one row per repository and day) or as a line chart.",
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
    return parser


def stars_table(frame, days: int) -> str:
    """The last `days` days of stars: a row per repository, a column per day (MM-DD)."""
    from github_stars.reports.history_report import stars_by_day

    table = stars_by_day(frame).tail(days).T
    table.columns = [day.strftime("%m-%d") for day in table.columns]
    shown = table.map(lambda stars: MISSING if stars != stars else f"{stars:,.0f}")
    shown.index.name = None
    return shown.to_string()


def movers_table(frame, days: int, top: int) -> str:
    """The `top` repositories by stars gained over the last `days` days."""
    from github_stars.reports.history_report import top_movers

    movers = top_movers(frame, days=days, n=top)
    if movers.empty:
        return "(needs two days of rows for a repository)"
    shown = movers.assign(
        stars_then=movers["stars_then"].map("{:,}".format),
        stars_now=movers["stars_now"].map("{:,}".format),
        gain=movers["gain"].map("{:+,}".format),
        gain_percent=movers["gain_percent"].map(
            lambda pct: MISSING if pct != pct else f"{pct:+.2f}%"
        ),
    )
    shown.index = range(1, len(shown) + 1)
    return shown.to_string()


def summary(frame, location: str) -> str:
    """`Star history in X: N rows, R repositories, D days (first to last).`"""
    repos = frame["repo"].str.lower().nunique()
    days = frame["day"].dt.date
    span = f"{days.nunique()} days ({days.min()} to {days.max()})" if len(frame) else "no days"
    return f"Star history in {location}: {len(frame):,} rows, {repos:,} repositories, {span}."


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.days < 1 or args.top < 1:
        parser.error("--days and --top must be at least 1")
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
    if len(frame):
        print(f"\nStars per day, last {args.days} days ({MISSING}: no row that day):")
        print(stars_table(frame, args.days))
        print(f"\nTop movers over the last {args.days} days:")
        print(movers_table(frame, args.days, args.top))
    written = save(frame, args.csv, args.chart)
    if written:
        say("Written: " + "; ".join(written) + ".")
    return EXIT_UNREADABLE if unreadable else EXIT_OK


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
