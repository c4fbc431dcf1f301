"""What a CLI run shows on stderr: a rich progress display and a one-screen summary.

`RunRecorder` is a `core.RunObserver` that keeps the run's API, for its request counts.
`RunProgress` is one with a display: counts done, failed and cached repositories, the
rate, and an ETA no shorter than the rate budget allows (`budget_floor`: 2,787 requests at 60
an hour take days, whatever the rate so far). On a terminal it is a live bar; otherwise (a log
file) a status line every `PLAIN_EVERY` seconds and the final state.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from github_stars.core import GitHubApi, RepoResult, RequestCounts
from github_stars.core.client import RequestCounter
from github_stars.settings import RateBudget

SHOW_ABOVE = 10  # runs with more repositories than this get a progress display
PLAIN_EVERY = 30.0  # seconds between status lines when stderr is not a terminal
NOTICE_ABOVE = 600.0  # warn before a run the budget makes longer than this (s)


def budget_floor(left: int, budget: RateBudget, sent: int = 0, elapsed: float = 0.0) -> float:
    """Fewest seconds `left` more requests can take within `budget`, `sent` of them `elapsed` s in.

    The burst (`limit`) is spent first; what it refilled meanwhile counts; the rest goes at
    `per_second`. Cached repositories cost nothing, so this is an upper bound on the floor.
    """
    available = min(budget.limit, budget.limit - sent + budget.per_second * elapsed)
    return max(0.0, left - max(0.0, available)) / budget.per_second


def estimate(
    left: int, rate: float | None, budget: RateBudget, sent: int, elapsed: float
) -> float | None:
    """Seconds to go: the observed rate's estimate, never below the budget's floor."""
    floor = budget_floor(left, budget, sent, elapsed)
    observed = left / rate if rate else None
    if observed is None:
        return floor or None
    return max(observed, floor)


def duration(seconds: float) -> str:
    """`12 s`, `3 min 05 s`, `45 h 27 min`, `3 d 1 h`."""
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    if days:
        return f"{days} d {hrs} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def budget_notice(total: int, budget: RateBudget, token: bool) -> str | None:
    """A warning when the rate budget alone makes `total` repositories take long, else None."""
    floor = budget_floor(total, budget)
    if floor <= NOTICE_ABOVE:
        return None
    per_hour = budget.per_second * 3600
    hint = "" if token else "; set GITHUB_TOKEN for 5,000 requests an hour"
    return (
        f"{total:,} repositories need up to {total:,} requests and the rate budget allows "
        f"{per_hour:,.0f} an hour: this run takes at least {duration(floor)} (repositories "
        f"cached by an earlier run cost nothing{hint})."
    )


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f}/s" if speed else "-/s", style="progress.data.speed")


class _EtaColumn(ProgressColumn):
    def __init__(self, run: RunProgress) -> None:
        super().__init__()
        self.run = run

    def render(self, task: Task) -> Text:
        if task.finished:
            return Text("")
        seconds = self.run.eta(task.speed)
        return Text(
            f"ETA {duration(seconds)}" if seconds is not None else "ETA -",
            style="progress.remaining",
        )


class RunRecorder:
    """A `core.RunObserver` that keeps the run's API, for what the run sent, and every
    outcome it heard of, for a run that fails as a whole."""

    def __init__(self) -> None:
        self.api: GitHubApi | None = None
        self._counter: RequestCounter | None = None
        self.outcomes: dict[str, RepoResult] = {}

    def opened(self, api: GitHubApi) -> None:
        self.api = api
        self._counter = api.resources.counter  # kept: the run closes its API when it ends

    def finished(self, result: RepoResult) -> None:
        self.outcomes[result.repo] = result

    def request_counts(self) -> RequestCounts:
        """What the run sent from this process (nothing before the run opened its API)."""
        return self._counter.snapshot() if self._counter is not None else RequestCounts()

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass


class RunProgress(RunRecorder):
    """Progress of a `show_stars` run of `total` repositories on stderr."""

    def __init__(
        self,
        total: int,
        budget: RateBudget,
        console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.budget = budget
        self.console = console or Console(stderr=True)
        self.clock = clock
        self.tally: Counter[str] = Counter()
        self.total = 0
        self._start = self._last_line = clock()
        self._window = (self._start, 0)  # (time, done) where the current rate window began
        self._progress: Progress | None = None
        self._task_id = None
        self._start_display(total)

    def _start_display(self, total: int) -> None:
        self.total = total
        if self.total > SHOW_ABOVE:
            self._progress = Progress(
                TextColumn("[bold]stars[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "ok {task.fields[ok]}  failed {task.fields[failed]}  "
                    "cached {task.fields[cached]}"
                ),
                _RateColumn(),
                _EtaColumn(self),
                TimeElapsedColumn(),
                console=self.console,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._task_id = self._progress.add_task("stars", total=self.total, **self._fields())
            self._progress.start()

    def finished(self, result: RepoResult) -> None:
        super().finished(result)
        self.tally["done"] += 1
        self.tally["ok" if result.ok else "failed"] += 1
        self.tally["cached"] += result.cached
        if self._progress is None:
            return
        self._progress.update(self._task_id, completed=self.tally["done"], **self._fields())
        now = self.clock()
        if not self.console.is_terminal and now - self._last_line >= PLAIN_EVERY:
            self._last_line = now
            self.console.print(self.status(), highlight=False)

    # --- what it shows -------------------------------------------------------------------
    def _fields(self) -> dict[str, int]:
        return {name: self.tally[name] for name in ("ok", "failed", "cached")}

    def eta(self, rate: float | None) -> float | None:
        left = max(0, self.total - self.tally["done"])
        sent = self.request_counts().requests
        return estimate(left, rate, self.budget, sent, self.clock() - self._start)

    def status(self) -> str:
        """One plain line: done of total, ok/failed/cached, recent rate, ETA."""
        now, done = self.clock(), self.tally["done"]
        since, done_then = self._window
        rate = (done - done_then) / (now - since) if now > since else 0.0
        self._window = (now, done)  # the next line's rate: what happened since this one
        eta = self.eta(rate)
        return (
            f"{done:,}/{self.total:,} done: ok {self.tally['ok']:,}, "
            f"failed {self.tally['failed']:,}, cached {self.tally['cached']:,}; "
            f"{rate:.1f}/s; " + (f"ETA {duration(eta)}" if eta is not None else "ETA -")
        )

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def summary(
    results: Iterable[RepoResult],
    *,
    wall: float,
    requests: int,
    not_modified: int,
    rate_left: tuple[int | None, int | None],
    bad_lines: int = 0,
    outputs: Iterable[str] = (),
    shown_failures: int = 5,
) -> list[str]:
    """The end-of-run summary: counts, time, requests, where the results went (one screen)."""
    results = list(results)
    failed = [r for r in results if not r.ok]
    cached = sum(r.cached for r in results)
    kinds = Counter(r.error_kind or "error" for r in failed)
    by_kind = f" ({', '.join(f'{kind} {n:,}' for kind, n in kinds.most_common())})" if kinds else ""
    lines = [
        f"Done: {len(results):,} repositor{'y' if len(results) == 1 else 'ies'} in "
        f"{duration(wall)}: "
        f"{len(results) - len(failed):,} ok ({cached:,} from Prefect's cache), "
        f"{len(failed):,} failed{by_kind}"
        + (f", {bad_lines:,} bad input line{'s' * (bad_lines != 1)}" if bad_lines else "")
        + ".",
        f"Requests: {requests:,} sent, {not_modified:,} answered 304 Not Modified"
        + (
            f"; rate limit left: {rate_left[0]:,} of {rate_left[1]:,}"
            if None not in rate_left
            else ""
        )
        + ".",
    ]
    if failed:
        lines.append(
            f"Failed ({min(len(failed), shown_failures)} of {len(failed):,} shown; "
            "all are on stdout):"
        )
        lines += [f"  {r.line()}" for r in failed[:shown_failures]]
    lines.append("Results: " + "; ".join(["stdout (one line per repository)", *outputs]) + ".")
    return lines
