"""`python -m github_stars serve`: the pipeline as a deployment on a schedule, served here.

    python -m github_stars serve --interval 86400 OWNER/REPO ... --history stars.db
    python -m github_stars serve --cron "0 6 * * *" --from repos.txt --history stars.db

`show_stars.serve(...)` creates (or updates) the deployment `show-stars/<name>` on the Prefect
server, with the repositories, the run's settings and the history store as its parameters,
and runs its scheduled runs in subprocesses of this process until Ctrl-C or SIGTERM. Then
Prefect's runner cancels a run in progress (each history row is its own transaction, so the
rows it wrote stay, and the next run of the day completes the day) and pauses the schedule.
It needs a Prefect server that outlives a run: the one `PREFECT_API_URL` names, the lab's
local one, or one it starts for as long as it serves; it says which.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from github_stars.cli.inputs import add_input_arguments, read_inputs
from github_stars.cli.run import EXIT_FAILED, add_api_arguments, history_location, say
from github_stars.settings import LabPlaces, Settings

DEPLOYMENT = "every-day"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m github_stars serve",
        description="Serve the pipeline as a Prefect deployment that runs on a schedule and "
        "keeps a star history (one row per repository and day).",
    )
    add_input_arguments(parser)
    add_api_arguments(parser)
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar="EXPRESSION", help='a cron schedule, e.g. "0 6 * * *"')
    when.add_argument("--interval", type=float, metavar="SECONDS", help="run every SECONDS")
    parser.add_argument("--name", default=DEPLOYMENT, help=f"deployment name ({DEPLOYMENT})")
    return parser


def deployment_parameters(names: list[str], settings: Settings, history: str) -> dict:
    """The deployment's parameters: plain JSON, as the Prefect UI shows and edits them."""
    return {
        "github_repos": names,
        "settings": dataclasses.asdict(settings),
        "history": history,
    }


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.history:
        parser.error("serve needs --history PATH|URL: where each day's star counts are kept")
    if args.interval is not None and args.interval <= 0:
        parser.error("--interval must be a positive number of seconds")
    inputs = read_inputs(parser, args)
    say(*map(str, inputs.problems))
    if not inputs.names:
        return EXIT_FAILED
    history = history_location(parser, args.history)

    from prefect.deployments.runner import EntrypointType

    from github_stars import pipeline
    from github_stars.cli.api_choice import api_for_run
    from github_stars.cli.prefect_connection import prefect_for_run
    from github_stars.cli.run import run_settings

    with (
        api_for_run(run_settings(args)) as (settings, api_notice),
        prefect_for_run(LabPlaces.from_environment(), shared=True) as prefect_notice,
    ):
        schedule = f"cron {args.cron!r}" if args.cron else f"every {args.interval:g} s"
        say(api_notice, prefect_notice)
        say(f"Serving show-stars/{args.name} ({schedule}); Ctrl-C or SIGTERM stops it.")
        pipeline.show_stars.serve(
            name=args.name,
            cron=args.cron,
            interval=args.interval,
            parameters=deployment_parameters(inputs.names, settings, history),
            entrypoint_type=EntrypointType.MODULE_PATH,
            print_starting_message=False,
        )
    say("Stopped serving.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
