"""Where the finished pipeline's time goes at scale: Prefect API round trips per repository,
the time per rate-limit grant, and (under py-spy) the CPU by function.

    python benchmarks/profile_pipeline.py --n 300                       # SQLite server
    python benchmarks/profile_pipeline.py --n 300 --database postgresql
    py-spy record --format raw -o /tmp/stacks.txt -r 200 --subprocesses -- \\
        python benchmarks/profile_pipeline.py --n 300     # then: --summarise /tmp/stacks.txt

`show_stars(names, settings)` runs in this process (so every HTTP call its tasks make to the
Prefect server is counted by endpoint) against a Prefect server started here on a free port
by `github_stars.servers` (start-up not timed) and the simulator enforcing a 50 requests/s
budget, which the run's `Settings` name too. Prints JSON.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class CallLog:
    """Every HTTP request this process sends to the Prefect API: endpoint, status, seconds."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.calls: list[tuple[str, int, float, float]] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        import httpx

        log, original_async, original_sync = self, httpx.AsyncClient.send, httpx.Client.send

        async def send_async(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            response = await original_async(client, request, *args, **kwargs)
            log.record(request, response.status_code, started)
            return response

        def send_sync(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            response = original_sync(client, request, *args, **kwargs)
            log.record(request, response.status_code, started)
            return response

        httpx.AsyncClient.send, httpx.Client.send = send_async, send_sync

    def record(self, request: Any, status: int, started: float) -> None:
        url = str(request.url)
        if not url.startswith(self.api_url):
            return  # the simulator
        endpoint = f"{request.method} {ID.sub('{id}', url[len(self.api_url) :].split('?')[0])}"
        with self._lock:
            self.calls.append((endpoint, status, started, time.perf_counter() - started))

    def summary(self, repos: int) -> dict[str, Any]:
        by_endpoint: dict[str, list[float]] = collections.defaultdict(list)
        for endpoint, status, _, seconds in self.calls:
            by_endpoint[f"{endpoint} -> {status}"].append(seconds)
        rows = {
            key: {
                "calls": len(times),
                "per_repo": round(len(times) / repos, 2),
                "median_ms": round(statistics.median(times) * 1000, 1),
                "total_s": round(sum(times), 2),
            }
            for key, times in sorted(by_endpoint.items(), key=lambda kv: -len(kv[1]))
        }
        grants = sorted(
            start + seconds
            for endpoint, status, start, seconds in self.calls
            if endpoint.endswith("/concurrency_limits/increment") and status == 200
        )
        return {
            "api_calls": len(self.calls),
            "api_calls_per_repo": len(self.calls) / repos,
            "by_endpoint": rows,
            "grants": len(grants),
            "median_s_between_grants": statistics.median(
                b - a for a, b in zip(grants, grants[1:], strict=False)
            )
            if len(grants) > 2
            else None,
        }


def summarise_stacks(path: Path, top: int = 25) -> dict[str, Any]:
    """py-spy `--format raw` (collapsed stacks): share of samples per function (self and
    inclusive), idle frames dropped."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [
            re.sub(r" \(.*?/(site-packages|src|lib/python3\.\d+)/", " (", f)
            for f in stack.split(";")[1:]
        ]  # first frame: the thread
        total += int(count)
        own[frames[-1] if frames else "?"] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    return {
        "samples": total,
        "self": [(f, round(c / total, 3)) for f, c in own.most_common(top)],
        "inclusive": [(f, round(c / total, 3)) for f, c in inclusive.most_common(top)],
    }


def profile_sequential(names: list[str], settings: Any, html: Path) -> list[Any]:
    """`fetch_stats` for one repository after another in a flow (each result through
    `get_stars`), under pyinstrument."""
    from prefect import flow
    from pyinstrument import Profiler

    from github_stars.core import GitHubApi, RepoResult
    from github_stars.pipeline import fetch_stats, get_stars

    @flow(name="profile-sequential")
    def sequential(repos: list[str]) -> list[RepoResult]:
        results = []
        with GitHubApi.open(settings) as api:
            day = api.today()
            for repo in repos:
                stats = fetch_stats(repo, api, day)
                results.append(RepoResult(repo=repo, stars=get_stars(stats), stats=stats))
        return results

    sequential(names[:2])  # warm-up: imports, clients, the flow's registration
    profiler = Profiler(interval=0.0005)
    with profiler:
        results = sequential(names)
    html.write_text(profiler.output_html())
    print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)
    print(
        json.dumps(
            {"per_repo_ms": breakdown(profiler.last_session.root_frame(), len(names))}, indent=1
        ),
        file=sys.stderr,
    )
    return results


# Where a task run's time goes: Prefect's and our functions, inclusive ms per repository.
BREAKDOWN = {
    "rate limit (slot round trips, 503 back-offs)": ("rate_limit", "take_request_slot"),
    "GitHub request (simulator)": ("fetch_repo",),
    "task run set-up (create run, parent inference)": ("SyncTaskRunEngine.initialize_run",),
    "cache key": ("compute_key",),
    "cache lookup (transaction begin)": ("Transaction.begin",),
    "result persistence (transaction commit)": ("Transaction.commit",),
    "state proposals": ("SyncTaskRunEngine.set_state", "SyncTaskRunEngine.begin_run"),
    "events": ("emit_event", "emit_task_run_state_change_event"),
    "parameter resolution": ("BaseTaskRunEngine._resolve_parameters",),
}


def breakdown(root: Any, repos: int) -> dict[str, float]:
    """Inclusive ms per repository of each `BREAKDOWN` group in a pyinstrument frame tree
    (a function counted once per stack, so recursion does not double count)."""
    totals = dict.fromkeys(BREAKDOWN, 0.0)

    def visit(frame: Any, active: frozenset[str]) -> None:
        name = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
        mine = {
            group
            for group, names in BREAKDOWN.items()
            if (name in names or frame.function in names) and group not in active
        }
        for group in mine:
            totals[group] += frame.time
        for child in frame.children:
            visit(child, active | mine)

    visit(root, frozenset())
    return {group: round(seconds / repos * 1000, 1) for group, seconds in totals.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="repositories (default 300)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--summarise", type=Path, help="summarise a py-spy raw file and exit")
    parser.add_argument(
        "--sequential",
        type=Path,
        metavar="HTML",
        help="instead: call the tasks one after another in a flow under "
        "pyinstrument (every task run in the main thread) and write its HTML "
        "report here; prints the text summary",
    )
    args = parser.parse_args(argv)
    if args.summarise:
        print(json.dumps(summarise_stacks(args.summarise), indent=1))
        return 0

    os.environ.pop("PREFECT_API_URL", None)
    from benchmarks.run import pipeline_settings, prepare_environment

    prepare_environment()
    from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    from benchmarks.scale import FAST_BUDGET, enforce_budget, prefect_server_on
    from github_stars.servers import free_port, start_simulator
    from github_stars.simulator.snapshot import snapshot_repo_names

    names = snapshot_repo_names()[: args.n]
    sim = start_simulator(port=free_port())
    settings = pipeline_settings(sim.url).with_changes(budget=FAST_BUDGET)
    storage = tempfile.TemporaryDirectory(prefix="github-stars-profile-")
    try:
        with (
            prefect_server_on(args.database) as (server, _),
            temporary_settings(
                {PREFECT_API_URL: server.api_url, PREFECT_LOCAL_STORAGE_PATH: storage.name}
            ),
        ):
            from github_stars.pipeline import show_stars

            log = CallLog(server.api_url)
            log.install()
            enforce_budget(sim, FAST_BUDGET)
            started = time.perf_counter()
            if args.sequential:
                results = profile_sequential(names, settings, args.sequential)
            else:
                results = show_stars(names, settings)
            seconds = time.perf_counter() - started
            report = {
                "database": args.database,
                "repos": len(names),
                "seconds": seconds,
                "ms_per_repo": seconds / len(names) * 1000,
                "ok": sum(r.ok for r in results),
                "simulator_requests": sim.request_count(),
                **log.summary(len(names)),
            }
    finally:
        sim.stop()
        storage.cleanup()
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
