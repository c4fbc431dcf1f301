"""`python -m github_stars serve`: the pipeline as a deployment on a schedule, served here.

    python -m github_stars serve --interval 86400 OWNER/REPO ... --history stars.db
    python -m github_stars serve --cron "0 6 * * *" --from repos.txt --history stars.db

It creates (or updates) the deployment `show-stars/<name>` on the Prefect server, with the
repositories, the run's settings (plain JSON) and the history location as its parameters,
and runs its scheduled runs here, one at a time, each in a `python -m prefect.engine`
subprocess that imports the flow by its module path (so the run validates its `settings`
parameter back into a `Settings`) and inherits this process's environment (`GITHUB_TOKEN`
among it: the token is never a parameter).

Ctrl-C or SIGTERM stops it: the run in progress is cancelled (its process is stopped and the
run ends `Cancelled`; each history row is its own transaction, so the rows it wrote stay and
the next run of that day completes the day without duplicates), the schedule is paused, and
the command exits 0; the next `serve` first cancels the runs that came due while nothing
served them. Prefect 3.8.8's own SIGTERM handler (`Runner.handle_sigterm`) calls
`Runner.stop()` from inside the runner's event loop, where it returns a coroutine that is
never awaited: the run in progress is not cancelled. So this command handles both signals
itself and awaits `Runner.astop()`.

It needs a Prefect server that outlives a run: the one `PREFECT_API_URL` names, the lab's
local one, or one it starts for as long as it serves; it says which.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from github_stars.cli.inputs import add_input_arguments, read_inputs
from github_stars.cli.run import EXIT_FAILED, add_api_arguments, history_location, say
from github_stars.settings import LabPlaces, Settings

DEPLOYMENT = "every-day"
LONGEST_POLL = 10.0  # seconds between the runner's looks for due runs (Prefect's default)
SHORTEST_POLL = 1.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PAGE, MAX_PAGES = 200, 50  # overdue runs cancelled per request, and requests at most


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m github_stars serve",
        description="Serve the pipeline as a Prefect deployment that runs on a schedule and "
        "keeps a star history (one row per repository and day). Ctrl-C or SIGTERM stops it: "
        "the run in progress is cancelled (its rows stay) and the schedule is paused.",
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


def cancel_overdue_runs(deployment_id: Any, due_before: datetime) -> int:
    """Cancel the deployment's scheduled runs due before `due_before` that nobody started;
    how many. Pausing a schedule removes its future runs, not those already due (a busy
    runner leaves them behind): without this, `serve` would start each of them, oldest
    first, before the runs of its own schedule."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    waiting = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
        expected_start_time=FlowRunFilterExpectedStartTime(before_=due_before),
    )
    ours = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    cancelled = 0
    with get_client(sync_client=True) as client:
        for _ in range(MAX_PAGES):
            runs = client.read_flow_runs(
                flow_run_filter=waiting, deployment_filter=ours, limit=PAGE
            )
            for run in runs:
                state = Cancelled(message="Due while no runner served the deployment.")
                client.set_flow_run_state(run.id, state, force=True)
            cancelled += len(runs)
            if len(runs) < PAGE:
                break
    return cancelled


async def serve_until_stopped(runner: Any) -> bool:
    """Run `runner` until Ctrl-C or SIGTERM, then cancel its run in progress and stop it
    (Prefect pauses the schedule as the runner exits). True if a signal stopped it."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    serving = asyncio.create_task(runner.start())
    await asyncio.sleep(0)  # runner.start() installs Prefect's SIGTERM handler first: replace it
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done():
            serving.result()  # the runner ended on its own: raise what ended it
            return False
        say("Stopping: cancelling the run in progress, if any, and pausing the schedule.")
        await runner.astop()  # cancels every run in progress, then ends the polling loop
        await serving  # leaving the runner pauses the schedule (pause_on_shutdown)
        return True
    finally:
        stopped.cancel()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


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
    from prefect.runner import Runner

    from github_stars import pipeline
    from github_stars.cli.api_choice import api_for_run
    from github_stars.cli.prefect_connection import prefect_for_run
    from github_stars.cli.run import run_settings

    with (
        api_for_run(run_settings(args)) as (settings, api_notice),
        prefect_for_run(LabPlaces.from_environment(), shared=True) as prefect_notice,
    ):
        say(api_notice, prefect_notice)
        # A deployment (not `flow.serve`): the runner then starts each run as
        # `python -m prefect.engine`, which imports the flow by its module path. With
        # `flow.serve` it would run a pickled copy of the flow instead.
        deployment = pipeline.show_stars.to_deployment(
            name=args.name,
            cron=args.cron,
            interval=args.interval,
            parameters=deployment_parameters(inputs.names, settings, history),
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        runner = Runner(
            name=f"github-stars-{args.name}",
            query_seconds=poll_seconds(args.interval),
            limit=1,  # one run at a time: a day's run never races the next one
            pause_on_shutdown=True,
        )
        deployment_id = runner.add_deployment(deployment)
        overdue = cancel_overdue_runs(deployment_id, due_before=datetime.now(UTC))
        if overdue:
            say(f"Cancelled {overdue} runs that came due while nothing served them.")
        schedule = f"cron {args.cron!r}" if args.cron else f"every {args.interval:g} s"
        say(
            f"Serving show-stars/{args.name} ({schedule}): {len(inputs.names)} repositories, "
            f"history in {args.history}. Ctrl-C or SIGTERM stops it."
        )
        asyncio.run(serve_until_stopped(runner))
    say(f"Stopped serving; the schedule of show-stars/{args.name} is paused.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
