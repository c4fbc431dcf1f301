"""Stopping a long-running command at any moment: Ctrl-C or SIGTERM, during start-up too.

    return stoppable(command, "Stopped during start-up")   # command(signals) -> exit code

`stoppable` installs the handlers first (before the command imports anything heavy: Prefect
takes seconds to import), runs `command(signals)`, and on the way out restores them and stops
whatever child process the command started and left running. During start-up a stop signal
raises `StopRequested`, so every `with` block cleans up on the way out, and the command exits
0. The serving loop runs in a thread of its own (`run_loop_in_a_thread`), where no library can
replace these handlers (Python lets only the main thread set them): a stop signal then sets the
loop's stop event (`signals.on_loop(loop, event)`).

A second signal while the command is already stopping is ignored: the clean-up it started
(cancelling a run, pausing a schedule, stopping servers) is bounded in time and finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
CHILD_STOP_TIMEOUT = 10.0


class StopRequested(BaseException):
    """SIGINT or SIGTERM arrived while the command was starting up (a BaseException, like
    KeyboardInterrupt, so that no `except Exception` swallows it)."""


class StopSignals:
    """The command's stop signals: during start-up the first one raises `StopRequested`;
    while a loop serves in another thread (`run_loop_in_a_thread`), it sets the loop's stop
    event instead (`on_loop`)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.ending = False  # the command is over: a signal now changes nothing
        self.threaded = False  # a loop serves in another thread: a signal never raises here
        self._previous: dict[int, Any] = {}
        self._loop: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received else "no signal"

    def install(self) -> StopSignals:
        """Raise `StopRequested` on the first stop signal from now on (later ones: ignored);
        stop signals blocked until now (`in_own_session`) are delivered from here."""
        for sig in STOP_SIGNALS:
            previous = signal.signal(sig, self._raise)
            self._previous.setdefault(sig, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        return self

    def _raise(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None or self.ending:
            return
        self.received = signum
        if self._loop is not None:
            loop, stop = self._loop
            loop.call_soon_threadsafe(stop.set)
        elif not self.threaded:
            raise StopRequested(signum)

    def on_loop(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
        """From now on a stop signal sets `stop`, in `loop` (one that came before: now)."""
        self._loop = (loop, stop)
        if self.received is not None:
            stop.set()

    def off_loop(self) -> None:
        """The loop is done: a signal now is ignored if one already came."""
        self._loop = None

    def restore(self) -> None:
        """The handlers from before `install`."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()


def stoppable(command: Callable[[StopSignals], int], stopped: str) -> int:
    """Run `command` with stop signals handled from the first moment (see the docstring);
    a signal during its start-up ends it with exit 0 after saying `stopped` and which."""
    before = child_pids()
    signals = StopSignals()
    stopped_by = None
    try:
        signals.install()  # a signal that came while blocked arrives here
        return command(signals)
    except StopRequested:
        stopped_by = signals.name
        return 0
    finally:
        signals.ending = True  # a signal meanwhile is ignored: this clean-up ends first
        stop_new_children(before)
        signals.restore()
        if stopped_by:
            print(f"{stopped} ({stopped_by}); nothing was left running.", file=sys.stderr)


FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def in_own_session(command: Callable[[], int]) -> int:
    """Run `command` in a child process that leads a session of its own; this process only
    passes stop signals on to it (a hang-up as SIGTERM) and returns its exit code.

    A terminal's Ctrl-C goes to its foreground process group, and Prefect's runner starts each
    flow run in the runner's group: without this, a Ctrl-C would interrupt the run itself
    (a crash) before the command could cancel it. Stop signals stay blocked across the fork,
    until each side has its handlers, so none is lost or ends the child before it can stop.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    child = os.fork()
    if child == 0:
        os.setsid()  # no terminal now: no hang-up comes but the one passed on as SIGTERM
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})
        return command()  # it installs its handlers, then unblocks (`StopSignals.install`)

    def forward(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGTERM if signum == signal.SIGHUP else signum)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code  # killed by a signal: as a shell reports it


def run_loop_in_a_thread(
    main: Callable[[], Coroutine[Any, Any, None]], signals: StopSignals
) -> None:
    """Run `asyncio.run(main())` in a thread of its own while this (main) thread handles the
    stop signals (`StopSignals.on_loop` forwards them to the loop). A library running in that
    loop, as Prefect's runner does, cannot replace the handlers: Python sets signal handlers
    from the main thread only. The thread runs in a copy of this context (Prefect's settings
    live in context variables); exceptions of `main` are raised here."""
    failed: list[BaseException] = []
    context = contextvars.copy_context()  # e.g. the Prefect settings this command chose

    def serve() -> None:
        try:
            context.run(asyncio.run, main())
        except BaseException as exc:  # raised again in the main thread below
            failed.append(exc)

    signals.threaded = True
    thread = threading.Thread(target=serve, name="serve-loop")
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)  # short waits: the main thread runs the signal handlers
    finally:
        signals.threaded = False
    if failed:
        raise failed[0]


def child_pids() -> set[int]:
    """The processes this process started that are still running."""
    import psutil

    with contextlib.suppress(psutil.Error):
        return {child.pid for child in psutil.Process().children()}
    return set()


def stop_new_children(before: set[int], timeout: float = CHILD_STOP_TIMEOUT) -> list[int]:
    """Stop the children started since `before` that are still running (and, for one that
    leads a process group, as a server started in a session of its own does, its group):
    SIGTERM, then SIGKILL after `timeout`. A signal can arrive between a server's start and
    the moment its handle is kept; nothing is left running either way. Their pids."""
    import psutil

    left = []
    for pid in child_pids() - before:
        with contextlib.suppress(psutil.Error, OSError):
            child = psutil.Process(pid)
            if child.status() == psutil.STATUS_ZOMBIE:
                child.wait(0)
                continue
            left.append(child)
    for child in left:
        with contextlib.suppress(OSError):
            leads_group = os.getpgid(child.pid) == child.pid
            (os.killpg if leads_group else os.kill)(child.pid, signal.SIGTERM)
    _, alive = psutil.wait_procs(left, timeout=timeout)
    for child in alive:
        with contextlib.suppress(OSError):
            leads_group = os.getpgid(child.pid) == child.pid
            (os.killpg if leads_group else os.kill)(child.pid, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=timeout)
    return [child.pid for child in left]
