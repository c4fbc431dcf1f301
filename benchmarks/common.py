"""What every benchmark shares: its process's settings, the command line run as a user runs it
(read through `--json`), and one JSON file per question with the run's facts."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import operator
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def load_1m() -> float:
    return round(os.getloadavg()[0], 2)


def met(value: float | None, check: str) -> bool:
    """Whether `value` passes `check`, such as `">= 0.8"` (None never does)."""
    op, threshold = check.split()
    return value is not None and bool(CHECKS[op](value, float(threshold)))


CHECKS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, ">=": operator.ge}


def prepare_environment() -> None:
    """Before Prefect loads: a temporary PREFECT_HOME, quiet logs, no token, no Prefect server
    of the caller's (each benchmark starts its own), Prefect's process settings."""
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="bench-prefect-home-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
    os.environ |= {"PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_LOGGING_TO_API_ENABLED": "false"}
    for name in ("GITHUB_TOKEN", "PREFECT_API_URL"):
        os.environ.pop(name, None)
    from github_stars.settings import apply_prefect_settings

    apply_prefect_settings()


def main(
    name: str,
    measure: Callable[[str, argparse.Namespace], dict[str, Any]],
    **options: dict[str, Any],
) -> int:
    """A benchmark's command line: `<name>.json` of `measure(mode, args)` (its `summary`: the
    headline figures; `_frames`, request logs, go to the chart only), `<name>.md`, `.png`."""
    parser = argparse.ArgumentParser(description=sys.modules[measure.__module__].__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer sizes and repetitions")
    size.add_argument("--smoke", action="store_true", help="seconds; the test suite runs it")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output directory")
    for flag, keywords in options.items():  # more options: flag=add_argument's keywords
        parser.add_argument(f"--{flag}", **keywords)
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    # SIGTERM (a test's deadline): leave through the `finally` blocks that stop the servers
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started, load = time.perf_counter(), load_1m()
    measured = measure(mode, args)
    frames = measured.pop("_frames", {})
    run = {"mode": mode, "prefect": version("prefect"), "python": platform.python_version()}
    run |= {"cpus": os.cpu_count(), "load_1m_before": load, "load_1m_after": load_1m()}
    run |= {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    run["seconds"] = round(time.perf_counter() - started, 1)
    results = {"run": run, **measured}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    from benchmarks.report import write_report

    write_report(name, results, frames, args.out)
    print(json.dumps(results["summary"], indent=2, default=float))
    print(f"wrote {args.out}/{name}.json, .md, .png")
    return 0


def run_command(command: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """`command` in a process group of its own, ended whole if cut at `timeout`: seconds, exit
    code (None: cut), the load before, peak RSS (with children, every 0.2 s), stderr."""
    import psutil

    from github_stars.servers.processes import stop_process

    load, peak, code = load_1m(), 0, None
    with tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
        )
        try:
            while code is None and time.perf_counter() - started < timeout:
                with contextlib.suppress(psutil.Error):
                    tree = [root := psutil.Process(process.pid), *root.children(recursive=True)]
                    peak = max(peak, sum(p.memory_info().rss for p in tree))
                with contextlib.suppress(subprocess.TimeoutExpired):
                    code = process.wait(timeout=0.2)
        finally:  # the run never outlives the benchmark
            stop_process(process, signal.SIGTERM, 10.0, group=True)
        seconds = time.perf_counter() - started
        err.seek(0)
        return {
            "seconds": round(seconds, 3),
            "returncode": code,
            "timed_out": code is None,
            "load_1m": load,
            "peak_rss_mb": round(peak / 1e6, 1),
            "stderr": err.read(),
        }


def run_cli(args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """`python -m github_stars ARGS --json FILE` in a fresh process: `run_command`'s figures
    and what the run reported in FILE (repositories `reported`, `ok`, `failed`, `from_cache`)."""
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as folder:
        out = Path(folder) / "results.json"
        command = [sys.executable, "-m", "github_stars", *args, "--json", str(out)]
        run = run_command(command, env, timeout)
        rows = json.loads(out.read_text()) if out.exists() else []
    stderr = run.pop("stderr")
    return run | {
        "reported": len(rows),
        "ok": sum(row["stars"] is not None for row in rows),
        "failed": sum(row["error"] is not None for row in rows),
        "from_cache": sum(bool(row["cached"]) for row in rows),
        "stderr_tail": stderr[-1500:] if run["returncode"] else "",
    }
