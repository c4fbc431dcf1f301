"""`make run` as users type it: a fresh `python -m github_stars`, with and without a server.

    python -m benchmarks.startup [--quick | --smoke] [--out DIR]

The three default repositories against the bundled simulator, as a first run (empty caches)
and a repeated one (from Prefect's cache), with no server (the run starts Prefect's temporary
server and a simulator) and with the lab's servers running (`python -m github_stars server
start`, timed on its own), interleaved; then a new user's very first run, reference processes
and the run's imports. Method: benchmarks/README.md. Writes startup.json, .md and .png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import main, met, prepare_environment, run_command
from github_stars.servers import Simulator, free_port
from github_stars.settings import LabPlaces, process_environment

SITUATIONS = ("no_server_first", "no_server_repeat", "server_first", "server_repeat")
REPETITIONS = {"full": 5, "quick": 3, "smoke": 1}
TARGET = "< 5"  # seconds, with the lab's servers running (the "fast repeated runs")
DEADLINE = 300.0
LAB_SERVERS = [sys.executable, "-m", "github_stars", "server"]  # start: what `make server` runs


def user_environment(changes: dict[str, str]) -> dict[str, str]:
    """This process's environment without PREFECT_* and GITHUB_* variables, plus `changes`."""
    cleared = {name: None for name in os.environ if name.startswith(("PREFECT_", "GITHUB_"))}
    return process_environment({**cleared, **changes}, prefect=False)


def import_times(env: dict[str, str]) -> dict[str, Any]:
    """A run under `python -X importtime`: own import seconds per package (read the shares)."""
    run = run_command([sys.executable, "-X", "importtime", "-m", "github_stars"], env, DEADLINE)
    own: Counter[str] = Counter()
    for line in run["stderr"].splitlines():
        fields = line.removeprefix("import time:").split("|")
        if line.startswith("import time:") and fields[0].strip().isdigit():
            own[fields[2].strip().split(".")[0]] += int(fields[0])
    return {
        "seconds": run["seconds"],
        "load_1m": run["load_1m"],
        "imports_s": round(sum(own.values()) / 1e6, 3),
        "by_package_s": {name: round(us / 1e6, 3) for name, us in own.most_common(10)},
    }


def measure(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    # the lab's servers' ports, and ports where nothing answers
    ports = {
        kind: {"PREFECT_SERVER_API_PORT": str(free_port())} for kind in ("server", "no_server")
    }
    for kind in ports:
        ports[kind]["GITHUB_STARS_SIMULATOR_PORT"] = str(free_port())
    lab_env = user_environment({"PREFECT_HOME": str(root / "lab-home"), **ports["server"]})

    def env(situation: str, caches: str) -> dict[str, str]:
        return user_environment(
            {
                "PREFECT_HOME": str(root / "cli-home"),
                **ports[situation.rsplit("_", 1)[0]],
                "PREFECT_LOCAL_STORAGE_PATH": str(root / caches / "results"),
                "GITHUB_STARS_HTTP_CACHE": str(root / caches / "http"),
            }
        )

    lab_simulator = Simulator(int(ports["server"]["GITHUB_STARS_SIMULATOR_PORT"]))

    def make_run(situation: str, caches: str) -> dict[str, Any]:
        """`python -m github_stars` as `make run` runs it (no `--json`: docs/decisions.md); as
        intended: exit 0 and, with the lab's servers, 3 requests on a first run, 0 repeated."""
        with_lab = situation.startswith("server")
        if with_lab:
            lab_simulator.reset()
        run = run_command([sys.executable, "-m", "github_stars"], env(situation, caches), DEADLINE)
        requests = lab_simulator.request_count() if with_lab else None
        expected = 0 if situation.endswith("repeat") else 3
        ran = run["returncode"] == 0 and requests in (None, expected)
        run["stderr"] = run["stderr"][-1500:] if run["returncode"] else ""
        return {"situation": situation, "as_intended": ran, "requests": requests, **run}

    situations = SITUATIONS[2:] if mode == "smoke" else SITUATIONS
    runs, new_user = [], None
    try:
        if mode != "smoke":
            new_user = make_run("no_server_first", "new-user")
        lab = run_command([*LAB_SERVERS, "start"], lab_env, DEADLINE)
        if lab["returncode"] != 0:
            raise RuntimeError(f"`server start` failed: {lab['stderr'][-1500:]}")
        for repetition in range(REPETITIONS[mode]):
            for situation in situations:
                caches = f"{situation.rsplit('_', 1)[0]}-{repetition}"  # first, then repeat
                runs.append(make_run(situation, caches))
        api_url = LabPlaces.from_environment(lab_env).prefect_api_url
        body = {"flows": {"name": {"any_": ["show-stars"]}}}
        lab_runs = httpx.post(f"{api_url}/flow_runs/count", json=body, timeout=30).json()
        repeated = env("server_repeat", "server-0")
        imports = import_times(repeated)
        references = {  # fresh processes
            f"python -c '{code}'": run_command([sys.executable, "-c", code], repeated, 60)[
                "seconds"
            ]
            for code in ("pass", "import prefect")
        }
    finally:
        run_command([*LAB_SERVERS, "stop"], lab_env, 60.0)
        shutil.rmtree(root, ignore_errors=True)
    summary: dict[str, Any] = {}
    for situation in situations:
        good = [r["seconds"] for r in runs if r["situation"] == situation and r["as_intended"]]
        summary[f"{situation}_s"] = statistics.median(good) if good else None
    server_runs = sum(run["situation"].startswith("server") for run in runs)
    return {
        "summary": summary
        | {
            "new_user_first_run_s": new_user["seconds"] if new_user else None,
            "lab_servers_start_s": lab["seconds"],
            "failed_runs": sum(not run["as_intended"] for run in runs),
        },
        "met": {f"{s}_s {TARGET}": met(summary[f"{s}_s"], TARGET) for s in situations[-2:]}
        | {"lab_server_holds_their_flow_runs": lab_runs == server_runs},
        "lab_servers_start": {"seconds": lab["seconds"], "load_1m": lab["load_1m"]},
        "lab_server_flow_runs": {"counted": lab_runs, "expected": server_runs},
        "new_user_first_run": new_user,
        "runs": runs,
        "imports": imports,
        "references_s": references,
    }


if __name__ == "__main__":
    prepare_environment()
    raise SystemExit(main("startup", measure))
