"""The CLI's progress display and summary, and the flow's observer hook that feeds them."""

from __future__ import annotations

import io

from rich.console import Console

from github_stars.cli import progress as progress_module
from github_stars.cli.progress import (
    RunProgress,
    budget_floor,
    budget_notice,
    duration,
    estimate,
    summary,
)
from github_stars.cli.run import main
from github_stars.core import GitHubApi, RateBudget, RepoResult, observing
from github_stars.pipeline import show_stars
from github_stars.simulator.snapshot import snapshot_stars

STARS = snapshot_stars()
UNAUTHENTICATED = RateBudget(limit=60, per_second=60 / 3600)
TOKEN = RateBudget(limit=100, per_second=5000 / 3600)


def test_the_budget_sets_a_floor_under_the_eta():
    # 2,787 repositories at 60/hour: the first 60 at once, the rest one a minute.
    assert budget_floor(2787, UNAUTHENTICATED) == (2787 - 60) * 60
    assert duration(budget_floor(2787, UNAUTHENTICATED)) == "1 d 21 h"
    assert budget_floor(50, UNAUTHENTICATED) == 0  # within the burst
    # 60 sent, 10 minutes in: 10 refilled, so 100 more take (100 - 10) minutes.
    assert budget_floor(100, UNAUTHENTICATED, sent=60, elapsed=600) == 90 * 60
    # A fast start never hides the budget: 10/s observed, but 60/hour allowed.
    assert estimate(1000, 10.0, UNAUTHENTICATED, sent=60, elapsed=6) > 16 * 3600
    assert estimate(1000, 10.0, RateBudget(50, 50.0), sent=0, elapsed=0) == 100
    assert estimate(5, None, RateBudget(50, 50.0), sent=0, elapsed=0) is None


def test_a_notice_before_a_run_the_budget_makes_long():
    notice = budget_notice(2787, UNAUTHENTICATED, token=False)
    assert "takes at least 1 d 21 h" in notice and "GITHUB_TOKEN" in notice
    assert "GITHUB_TOKEN" not in budget_notice(50_000, TOKEN, token=True)
    assert budget_notice(2787, RateBudget(50, 50.0), token=False) is None  # the simulator


def test_duration():
    assert [duration(s) for s in (0, 12.4, 185, 3 * 3600 + 7 * 60, 50 * 3600)] == [
        "0 s",
        "12 s",
        "3 min 05 s",
        "3 h 07 min",
        "2 d 2 h",
    ]


def recording_progress(total: int) -> tuple[RunProgress, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)
    clock = iter(range(0, 10_000, 40)).__next__  # 40 s between readings
    return RunProgress(total, RateBudget(50, 50.0), console=console, clock=clock), out


def test_progress_counts_and_prints_status_lines_when_not_a_terminal():
    progress, out = recording_progress(12)
    with progress:
        for i in range(12):
            progress.finished(
                RepoResult(repo=f"o/r{i}", stars=1, cached=i < 3)
                if i != 5
                else RepoResult(repo="o/bad", error="not found (404)")
            )
    assert dict(progress.tally) == {"done": 12, "ok": 11, "failed": 1, "cached": 3}
    lines = out.getvalue().splitlines()
    assert any(line.startswith("12/12 done: ok 11, failed 1, cached 3") for line in lines)
    assert len(lines) <= 13  # a status line per 30 s at most, then the final bar


def test_few_repositories_show_no_progress():
    progress, out = recording_progress(3)
    with progress:
        progress.finished(RepoResult(repo="o/r", stars=1))
    assert out.getvalue() == ""


def test_summary_fits_a_screen():
    results = [RepoResult(repo=f"o/r{i}", stars=i, cached=i % 2 == 0) for i in range(2000)]
    results += [
        RepoResult(repo=f"o/x{i}", error="not found (404)", error_kind="not found")
        for i in range(40)
    ]
    lines = summary(
        results,
        wall=125.0,
        requests=1000,
        not_modified=990,
        rate_left=(4000, 5000),
        bad_lines=2,
        outputs=["CSV: a.csv", "JSON: a.json"],
    )
    assert lines[0] == (
        "Done: 2,040 repositories in 2 min 05 s: 2,000 ok (1,000 from Prefect's "
        "cache), 40 failed (not found 40), 2 bad input lines."
    )
    assert lines[1] == (
        "Requests: 1,000 sent, 990 answered 304 Not Modified; rate limit left: 4,000 of 5,000."
    )
    assert lines[-1] == "Results: stdout (one line per repository); CSV: a.csv; JSON: a.json."
    assert len(lines) <= 10


class Recorder:
    def __init__(self):
        self.apis: list[GitHubApi] = []
        self.seen: list[str] = []

    def opened(self, api):
        self.apis.append(api)

    def finished(self, result):
        self.seen.append(result.repo)


def test_the_flow_tells_an_observer_of_each_outcome_as_it_finishes(sim, settings):
    sim.configure(faults={"psf/black": [404]})
    repos = ["pallets/click", "psf/black", "not a name", "encode/httpx"]
    with observing(Recorder()) as recorder:
        results = show_stars(repos, settings)
    assert [api.settings for api in recorder.apis] == [settings]  # told of the run's API
    assert sorted(recorder.seen) == sorted(r.repo for r in results)
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[0].stars == STARS["pallets/click"]
    show_stars(["pallets/click"], settings)  # after the block: not observed
    assert len(recorder.seen) == 4 and len(recorder.apis) == 1


def test_a_failing_observer_costs_no_result(sim, settings):
    class Broken:
        def opened(self, api):
            raise RuntimeError("display broke")

        finished = opened

    with observing(Broken()):
        (result,) = show_stars(["pallets/jinja"], settings)
    assert result.stars == STARS["pallets/jinja"]


def test_the_command_lines_display_counts_every_outcome_of_the_run(sim, monkeypatch, capsys):
    """The display's total is the number of outcomes the run reports, and it hears each one
    (the run's API is the test's simulator; Prefect's server is the test session's)."""
    displays: list[RunProgress] = []

    class KeptProgress(RunProgress):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            displays.append(self)

    monkeypatch.setenv("GITHUB_API_URL", sim.url)
    monkeypatch.setattr(progress_module, "RunProgress", KeptProgress)
    monkeypatch.setattr("github_stars.cli.verbosity.set_log_verbosity", lambda verbose, quiet: None)
    repos = ["pallets/click", "psf/black", "not a name", "encode/httpx"]
    assert main(repos) == 1  # an invalid name fails the run
    lines = capsys.readouterr().out.splitlines()
    (display,) = displays
    assert len(lines) == 4  # one line per outcome: the duplicate once, the invalid name too
    assert display.total == display.tally["done"] == len(lines)
