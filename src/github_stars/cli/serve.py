"""`python -m github_stars serve`: the pipeline as a deployment on a schedule, served here.

    python -m github_stars serve --interval 86400 OWNER/REPO ... --history stars.db
    python -m github_stars serve --cron "0 6 * * *" --from repos.txt --history stars.db

It creates (or updates) the deployment `show-stars/<name>` on the Prefect server, with the
repositories, the run's settings (plain JSON) and the history location as its parameters,
and runs its scheduled runs here, each in a `python -m prefect.engine` subprocess that
imports the flow by its module path (so the run validates its `settings` parameter back into
a `Settings`) and inherits this process's environment (`GITHUB_TOKEN` among it: the token is
never a parameter, and goes only to the API configured here, see `settings.token_for`).

A daily job that outlives faults (`serve_loop`, `serve_runs`, `serve_presence`, `stopping`):

- one flow run at a time, whoever serves the deployment (its concurrency limit is 1), and one
  `serve` per deployment (a second one exits 2, saying which serves it);
- a Prefect server that stops answering is waited for (said once), and serving resumes when
  it is back; one this command started is started again;
- on (re)start, the schedule's latest time that did not complete is caught up by one run, and
  the other runs that came due meanwhile are cancelled;
- Ctrl-C or SIGTERM at any moment, start-up included, stops it: the run in progress is
  cancelled (its rows stay: each is its own transaction), the schedule is paused, every
  server it started is stopped, and it exits 0. From a terminal (`python -m github_stars
  serve`), the work runs in a child process leading a session of its own, so a Ctrl-C
  reaches the runs only through this command (`stopping.in_own_session`). (Prefect 3.8.8's
  own SIGTERM handler, `Runner.handle_sigterm`, calls `Runner.stop()` inside the runner's
  event loop, where the coroutine it returns is never awaited: this command handles both
  signals itself.)

It needs a Prefect server that outlives a run: the one `PREFECT_API_URL` names, the lab's
local one, or one it starts for as long as it serves; it says which.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from github_stars.cli.inputs import add_input_arguments, read_inputs
from github_stars.cli.run import EXIT_FAILED, EXIT_USAGE, add_api_arguments, history_location, say
from github_stars.cli.stopping import StopSignals, run_loop_in_a_thread, stoppable
from github_stars.settings import LabPlaces, Settings

DEPLOYMENT = "every-day"
LONGEST_POLL = 10.0  # seconds between the runner's looks for due runs (Prefect's default)
SHORTEST_POLL = 1.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m github_stars serve",
        description="Serve the pipeline as a Prefect deployment that runs on a schedule and "
        "keeps a star history (one row per repository and day). Ctrl-C or SIGTERM stops it "
        "at any moment: the run in progress is cancelled (its rows stay) and the schedule is "
        "paused.",
    )
    add_input_arguments(parser)
    add_api_arguments(parser)
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar="EXPRESSION", help='a cron schedule, e.g. "0 6 * * *"')
    when.add_argument("--interval", type=float, metavar="SECONDS", help="run every SECONDS")
    parser.add_argument("--name", default=DEPLOYMENT, help=f"deployment name ({DEPLOYMENT})")
    return parser


def deployment_parameters(names: list[str], settings: Settings, history: str) -> dict[str, Any]:
    """The deployment's parameters: plain JSON, as the Prefect UI shows and edits them."""
    return {
        "github_repos": names,
        "settings": dataclasses.asdict(settings),
        "history": history,
    }


def poll_seconds(interval: float | None) -> float:
    """How often the runner looks for due runs: Prefect's 10 s, or the interval if shorter."""
    if interval is None:
        return LONGEST_POLL
    return max(SHORTEST_POLL, min(LONGEST_POLL, interval))


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM, whenever it comes (exit 0); 2 for a usage error or a
    deployment another `serve` serves; 1 if serving cannot go on."""
    from github_stars.cli import STOPPED_STARTING

    args = sys.argv[1:] if argv is None else argv
    return stoppable(lambda signals: serve(args, signals), STOPPED_STARTING)


def serve(argv: list[str] | None, signals: StopSignals) -> int:
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

    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType

    from github_stars import pipeline
    from github_stars.cli.api_choice import api_for_run
    from github_stars.cli.prefect_connection import prefect_for_run
    from github_stars.cli.run import history_refusal, run_settings
    from github_stars.cli.serve_loop import ServeFailed, ServePlan, finish, supervise
    from github_stars.cli.serve_presence import ServePresence

    with api_for_run(run_settings(args)) as (settings, api_notice):
        refusal = history_refusal(history, settings)
        if refusal:
            say(f"{parser.prog}: --history: {refusal}")
            return EXIT_USAGE
        with prefect_for_run(LabPlaces.from_environment(), shared=True) as connection:
            say(api_notice, str(connection))
            # A deployment (not `flow.serve`): the runner then starts each run as
            # `python -m prefect.engine`, which imports the flow by its module path. With
            # `flow.serve` it would run a pickled copy of the flow instead.
            deployment = pipeline.show_stars.to_deployment(
                name=args.name,
                cron=args.cron,
                interval=args.interval,
                parameters=deployment_parameters(inputs.names, settings, history),
                entrypoint_type=EntrypointType.MODULE_PATH,
                concurrency_limit=ConcurrencyLimitConfig(  # whoever serves it
                    limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE
                ),
            )
            full_name = f"show-stars/{args.name}"
            poll, presence = poll_seconds(args.interval), ServePresence(full_name)
            plan = ServePlan(deployment, full_name, poll, connection, presence)
            schedule = f"cron {args.cron!r}" if args.cron else f"every {args.interval:g} s"
            say(
                f"Serving {full_name} ({schedule}): {len(inputs.names)} repositories, "
                f"history in {args.history}. Ctrl-C or SIGTERM stops it."
            )
            try:
                run_loop_in_a_thread(lambda: supervise(plan, signals), signals)
            except ServeFailed as exc:
                say(f"{parser.prog}: cannot serve: {exc}")
                return exc.exit_code
            finally:
                say(finish(plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
