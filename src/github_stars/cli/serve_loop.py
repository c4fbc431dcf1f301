"""`serve`'s supervisor: Prefect's runner, started again whenever it ends, until a signal.

    plan = ServePlan(deployment, name, poll, connection, presence)
    run_loop_in_a_thread(lambda: supervise(plan, signals), signals)  # until Ctrl-C or SIGTERM
    finish(plan)                             # pause the schedule, withdraw the announcement

Each round waits until the Prefect server answers (saying so, once, when it does not; a
server this command started and that exited is started again), applies the deployment
(which resumes its schedule), prepares its runs (`serve_runs`: one catch-up, overdue runs
cancelled, a stuck slot given back) and runs a new `Runner` (one flow run at a time). A round
ends when Prefect's runner ends (its polls failed for minutes: a Prefect server outage), or
when the server answers again after an outage and no run is in progress (a runner that lived
through an outage can have lost its cancellation watcher, and the runs due meanwhile wait):
the next round waits for the server, then starts afresh. A stop signal cancels the run in
progress (`Runner.astop()`, each step bounded in time), and `finish` pauses the schedule
unless another `serve` of the same deployment is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from github_stars.cli.prefect_connection import PrefectConnection
from github_stars.cli.run import say
from github_stars.cli.serve_presence import ServePresence
from github_stars.cli.serve_runs import prepare_runs
from github_stars.cli.stopping import StopSignals
from github_stars.core.star_history import one_line
from github_stars.servers import prefect_answers

HEALTH_TIMEOUT = 3.0  # seconds a health check may take
WAIT_STEP = 2.0  # seconds between health checks while the server does not answer
STOP_STEP_TIMEOUT = 20.0  # seconds for each step of stopping the runner
QUICK_FAILURES = 3  # runner rounds that ended within `QUICK_WINDOW` while the server answered
QUICK_WINDOW = 120.0
STOPPED, ENDED, RENEWED = "stopped", "ended", "renewed"  # how a round of serving ended


class ServeFailed(Exception):
    """Serving cannot go on (the Prefect server answers but refuses the deployment, or the
    runner keeps ending at once): `serve` says why and exits 1."""

    exit_code = 1


class AlreadyServed(ServeFailed):
    """Another `serve` serves the deployment: this one exits 2 (a usage error)."""

    exit_code = 2


@dataclass
class PrefectWatch:
    """Whether the Prefect server answers; says so when that changes. A server this command
    started (`connection.server`) that exited is started again."""

    connection: PrefectConnection
    down_since: float | None = None
    back: asyncio.Event = field(default_factory=asyncio.Event)  # set when it answers again

    @property
    def url(self) -> str:
        return self.connection.api_url or ""

    async def check(self, stop: asyncio.Event) -> bool:
        up = await asyncio.to_thread(prefect_answers, self.url, HEALTH_TIMEOUT)
        if up and self.down_since is not None:
            waited = time.monotonic() - self.down_since
            say(f"The Prefect server at {self.url} answers again after {waited:.0f} s.")
            self.down_since = None
            self.back.set()
        elif not up and self.down_since is None:
            self.down_since = time.monotonic()
            now = dt.datetime.now(dt.UTC)
            say(
                f"The Prefect server at {self.url} does not answer ({now:%H:%M:%S} UTC): waiting "
                "for it; serving resumes when it is back (Ctrl-C or SIGTERM stops it)."
            )
        server = self.connection.server
        if not up and server is not None and server.exited:
            say("The Prefect server this command started has exited: starting it again.")
            await _unless_stopped(asyncio.to_thread(server.restart), stop, on_stop=server.stop)
        return up

    async def wait_until_up(self, stop: asyncio.Event) -> bool:
        """True once the server answers; False if a stop signal came first."""
        while not stop.is_set():
            if await self.check(stop):
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WAIT_STEP)
        return False


async def _unless_stopped(work: Any, stop: asyncio.Event, on_stop: Any = None) -> None:
    """Await `work`; if `stop` is set first, call `on_stop` (which makes `work` end)."""
    task, stopped = asyncio.ensure_future(work), asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and on_stop is not None:
            await asyncio.to_thread(on_stop)
        with contextlib.suppress(Exception):
            await task
    finally:
        stopped.cancel()


@dataclass
class ServePlan:
    """What `serve` serves, and where it stands."""

    deployment: Any  # a RunnerDeployment
    name: str  # the deployment's full name, `show-stars/<name>`
    poll: float  # seconds between the runner's polls (and signs of life)
    connection: PrefectConnection
    presence: ServePresence
    watch: PrefectWatch = field(init=False)
    deployment_id: UUID | None = None
    claimed: bool = False

    def __post_init__(self) -> None:
        self.watch = PrefectWatch(self.connection)

    def new_runner(self) -> Any:
        from prefect.runner import Runner

        return Runner(
            name=f"github-stars-{self.name.split('/', 1)[1]}",
            query_seconds=self.poll,
            limit=1,  # one run at a time here; the deployment's concurrency limit everywhere
            pause_on_shutdown=False,  # `finish` pauses, unless another `serve` is alive
        )


async def supervise(plan: ServePlan, signals: StopSignals) -> None:
    """Serve `plan` until a stop signal (see the module's docstring)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals.on_loop(loop, stop)  # this loop runs off the main thread (`run_loop_in_a_thread`)
    ended: deque[float] = deque(maxlen=QUICK_FAILURES)
    try:
        while await plan.watch.wait_until_up(stop):
            try:
                runner = await _prepare_round(plan)
            except ServeFailed:
                raise
            except Exception as exc:
                if await plan.watch.check(stop):
                    raise ServeFailed(f"the Prefect server refused: {one_line(exc)}") from None
                continue  # it went away meanwhile: wait for it again
            if runner is None or stop.is_set():
                return
            outcome = await _run_round(runner, stop, plan)
            if outcome == STOPPED:
                return
            if outcome == RENEWED:
                continue
            ended.append(time.monotonic())
            quickly = len(ended) == QUICK_FAILURES and ended[-1] - ended[0] < QUICK_WINDOW
            if quickly and await plan.watch.check(stop):
                raise ServeFailed(f"Prefect's runner ended {QUICK_FAILURES} times in a row")
    finally:
        signals.off_loop()


async def _prepare_round(plan: ServePlan) -> Any:
    """Claim the deployment (once), apply it and prepare its runs; the round's runner, or
    None if another `serve` serves the deployment."""
    if not plan.claimed:
        other = await asyncio.to_thread(plan.presence.claim)
        if other is not None:
            raise AlreadyServed(
                f"{plan.name} is already served by another serve ({other}); one serve per "
                "deployment: stop that one first, or give this one another --name"
            )
        plan.claimed = True
    runner = plan.new_runner()
    plan.deployment_id = await runner.aadd_deployment(plan.deployment)
    for line in await asyncio.to_thread(prepare_runs, plan.deployment_id):
        say(line)
    say(f"Looking for due runs of {plan.name} every {plan.poll:g} s.")
    return runner


async def _run_round(runner: Any, stop: asyncio.Event, plan: ServePlan) -> str:
    """Run `runner` until a stop signal (`STOPPED`: its run in progress cancelled, each step
    bounded in time), until it ends (`ENDED`), or until the Prefect server answers again after
    an outage and no run is in progress (`RENEWED`: a new round then starts with a fresh
    runner and prepares the runs that came due meanwhile)."""
    plan.watch.back.clear()
    serving = asyncio.create_task(runner.start())
    watching = asyncio.create_task(_keep_watching(plan, stop))
    stopped = asyncio.create_task(stop.wait())
    back = asyncio.create_task(_back_and_idle(plan, stop))
    try:
        await asyncio.wait({serving, stopped, back}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done():
            problem = serving.exception()
            while isinstance(problem, BaseExceptionGroup) and problem.exceptions:
                problem = problem.exceptions[0]  # the error itself, not its task group
            reason = one_line(problem) if problem else "it returned"
            say(f"Prefect's runner ended ({reason}); it starts again once the server answers.")
            return ENDED
        if stop.is_set():
            say("Stopping: cancelling the run in progress, if any, and pausing the schedule.")
        else:
            say("After the outage, a fresh runner takes over (no run was in progress).")
        if runner.started:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner.astop(), STOP_STEP_TIMEOUT)
        else:  # still starting: it must not begin to poll and start runs
            serving.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(serving, STOP_STEP_TIMEOUT)  # cancelled if it takes longer
        return STOPPED if stop.is_set() else RENEWED
    finally:
        for task in (watching, stopped, back):
            task.cancel()


async def _back_and_idle(plan: ServePlan, stop: asyncio.Event) -> None:
    """Returns once the server answers again after an outage and no flow run of this
    `serve` is in progress (a run's process decides, whatever the server recorded)."""
    await plan.watch.back.wait()
    while running_flow_runs():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), WAIT_STEP)


def running_flow_runs() -> int:
    """How many flow-run processes (`python -m prefect.engine`) this process runs."""
    import psutil

    count = 0
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            count += "prefect.engine" in child.cmdline()
    return count


async def _keep_watching(plan: ServePlan, stop: asyncio.Event) -> None:
    """While the runner runs: say when the server stops or starts answering, and refresh
    this `serve`'s announcement while it answers."""
    while not stop.is_set():
        if await plan.watch.check(stop):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(plan.presence.refresh)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), plan.poll)


def finish(plan: ServePlan) -> str:
    """After serving: pause the schedule (unless another `serve` of the deployment is alive)
    and withdraw this `serve`'s announcement, quickly (one retry per request); the sentence to
    say."""
    from prefect import get_client
    from prefect.settings import (
        PREFECT_API_REQUEST_TIMEOUT,
        PREFECT_CLIENT_MAX_RETRIES,
        temporary_settings,
    )

    if not plan.claimed:
        return f"Stopped before serving {plan.name}: its schedule was not changed."
    # One retry: a Prefect server on SQLite that is busy writing answers 503 for a moment, and a
    # schedule left active would keep making runs nothing serves; more would hold up the stop.
    quick = {PREFECT_CLIENT_MAX_RETRIES: 1, PREFECT_API_REQUEST_TIMEOUT: 10.0}
    try:
        with temporary_settings(quick), get_client(sync_client=True) as client:
            others = plan.presence.others(client)
            plan.presence.withdraw(client)
            if others:
                return (
                    f"Stopped serving; another serve still serves {plan.name} ({others[0]}), "
                    "so its schedule stays active."
                )
            if plan.deployment_id is not None:
                client.pause_deployment(plan.deployment_id)
            return f"Stopped serving; the schedule of {plan.name} is paused."
    except Exception as exc:
        return (
            f"Stopped serving; the schedule of {plan.name} could not be paused: the Prefect "
            f"server at {plan.watch.url} did not answer ({one_line(exc)})."
        )
