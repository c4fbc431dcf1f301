"""`make run` as users type it (`run.py --startup`): where a command-line run's time goes.

`python -m github_stars` (the three default repositories) in a fresh process, what `make run`
runs, in two situations side by side in one benchmark run, each a first run (empty result
and HTTP caches) and a repeated one (every answer from Prefect's cache):

- no server: nothing answers on the lab's ports, so the run starts Prefect's temporary server
  and a simulator of its own;
- the lab's servers running: `python -m github_stars server start` (what `make server` runs)
  with PREFECT_HOME in a temporary folder and free ports (`PREFECT_SERVER_API_PORT`,
  `GITHUB_STARS_SIMULATOR_PORT`), stopped at the end; its start-up is timed on its own.

The runs are interleaved (each repetition runs every situation once), each with the 1-minute
load average read just before it; a situation's figure is the median of its repetitions.
Every run gets the environment a user's shell would give it: this process's, without any
PREFECT_* or GITHUB_* variable, plus the places above. The command line shares one
PREFECT_HOME across runs, as a user's `~/.prefect`; a first run gets its own empty result and
HTTP-cache folders (PREFECT_LOCAL_STORAGE_PATH, GITHUB_STARS_HTTP_CACHE) and the repeated run
after it the same ones. Before the repetitions, one run with no server on the new, empty
PREFECT_HOME (Prefect creates its database) is reported apart: a new user's very first run.

Where the time of a run with the servers running goes: `python -X importtime -m github_stars`
(the import tree: per package, per import our modules make, what Prefect imports while the
flow runs) and `benchmarks/cli_phases.py` (interpreter start, imports, choosing the API and the
Prefect server, the flow run, the summary, the exit handlers, the interpreter's exit).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from github_stars.servers import free_port, prefect_answers, simulator_running
from github_stars.settings import LabPlaces, process_environment

PHASES_SCRIPT = Path(__file__).with_name("cli_phases.py")
TARGET_S = 5.0  # the target for a run with a server running
USER_VARIABLES = ("PREFECT_", "GITHUB_")  # what a user's shell would not have set

SITUATIONS = {
    "no_server_first": "no server, first run",
    "no_server_repeat": "no server, repeated run",
    "server_first": "lab's servers running, first run",
    "server_repeat": "lab's servers running, repeated run",
}


@dataclass(frozen=True)
class StartupPlan:
    """How many times each situation runs, and what else is measured."""

    mode: str
    repetitions: int
    no_server: bool  # the situation without a server (10-120 s a run under load)
    phase_runs: int  # `cli_phases.py` runs per situation with the servers running
    phase_situations: tuple[str, ...] = ("server_first", "server_repeat")
    references: bool = True  # `python -c pass`, `python -c 'import prefect'`
    run_timeout_s: float = 300.0


STARTUP_PLANS = {
    "startup": StartupPlan("startup", repetitions=5, no_server=True, phase_runs=3),
    "startup-quick": StartupPlan("startup-quick", repetitions=3, no_server=True, phase_runs=1),
    # for the test suite: each code path once, the lab's servers only
    "startup-smoke": StartupPlan(
        "startup-smoke",
        repetitions=1,
        no_server=False,
        phase_runs=1,
        phase_situations=("server_repeat",),
        references=False,
    ),
}


def load_1m() -> float:
    return round(os.getloadavg()[0], 2)


def user_environment(changes: dict[str, str]) -> dict[str, str]:
    """This process's environment without PREFECT_*/GITHUB_* variables, plus `changes`."""
    cleared: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith(USER_VARIABLES)
    }
    return process_environment({**cleared, **changes}, prefect=False)


@dataclass
class Places:
    """Folders and ports of one benchmark run (all under one temporary folder)."""

    root: Path
    cli_home: Path = field(init=False)
    lab_variables: dict[str, str] = field(init=False)  # the lab's home and ports
    lab: LabPlaces = field(init=False)  # as the command line finds them
    nothing_port: int = field(init=False)  # Prefect's lab port where nothing answers
    nothing_sim_port: int = field(init=False)

    def __post_init__(self) -> None:
        self.cli_home = self.root / "cli-home"
        self.lab_variables = {
            "PREFECT_HOME": str(self.root / "lab-home"),
            "PREFECT_SERVER_API_PORT": str(free_port()),
            "GITHUB_STARS_SIMULATOR_PORT": str(free_port()),
        }
        self.lab = LabPlaces.from_environment(self.lab_environment())
        self.nothing_port, self.nothing_sim_port = free_port(), free_port()

    def lab_environment(self) -> dict[str, str]:
        """`server start|stop`'s environment: the lab's home and ports."""
        return user_environment(self.lab_variables)

    def run_environment(self, situation: str, caches: Path) -> dict[str, str]:
        """A command-line run's environment in `situation`, caching into `caches`."""
        server = situation.startswith("server")
        return user_environment(
            {
                "PREFECT_HOME": str(self.cli_home),
                "PREFECT_SERVER_API_PORT": str(
                    self.lab.prefect_port if server else self.nothing_port
                ),
                "GITHUB_STARS_SIMULATOR_PORT": str(
                    self.lab.simulator_port if server else self.nothing_sim_port
                ),
                "PREFECT_LOCAL_STORAGE_PATH": str(caches / "results"),
                "GITHUB_STARS_HTTP_CACHE": str(caches / "http-cache"),
            }
        )


CACHED = re.compile(r"ok \(([\d,]+) from Prefect's cache\)")
SENT = re.compile(r"Requests: ([\d,]+) sent")


def run_command(command: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run `command` with `env`: its wall seconds, exit code (None: cut at `timeout`), output,
    when it was launched and seen to end (`time.time()`), and the load average before it.

    In a process group of its own, ended whole if it is cut or this process is interrupted
    (a simulator a command-line run started goes with it)."""
    load = load_1m()
    launched = time.time()
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        code = process.returncode
    except BaseException as exc:
        stop_group(process)
        if not isinstance(exc, subprocess.TimeoutExpired):
            raise
        stdout, stderr = process.communicate()
        code = None
    return {
        "wall_s": round(time.perf_counter() - started, 3),
        "launched_at": launched,
        "ended_at": time.time(),
        "returncode": code,
        "load_1m": load,
        "stdout": stdout,
        "stderr": stderr,
    }


def stop_group(process: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM to `process`'s group, then SIGKILL after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# What the run says about its Prefect server in each kind of situation.
EXPECTED_SERVER = {"no_server": "a temporary one", "server": "the local one"}


def cli_run(situation: str, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """`python -m github_stars` once: wall seconds, what it printed about its servers and
    its caches, and whether it ran as `situation` means (`as_intended`: exit code 0, the
    three repositories reported, on the Prefect server the situation names)."""
    run = run_command([sys.executable, "-m", "github_stars"], env, timeout)
    described = describe_run(run)
    expected = EXPECTED_SERVER["server" if situation.startswith("server") else "no_server"]
    described["as_intended"] = bool(
        described["returncode"] == 0
        and described["results"] == 3
        and expected in (described["prefect_server"] or "")
    )
    return {"situation": situation, **described}


def describe_run(run: dict[str, Any]) -> dict[str, Any]:
    """The figures of one run's output (counts from the run's own summary)."""
    stdout, stderr = run.pop("stdout"), run.pop("stderr")
    cached, sent = CACHED.search(stderr), SENT.search(stderr)
    notices = [line for line in stderr.splitlines() if line.startswith("Prefect server:")]
    return {
        **{k: v for k, v in run.items() if k not in ("launched_at", "ended_at")},
        "results": sum(line.endswith(" stars") for line in stdout.splitlines()),
        "from_cache": int(cached.group(1).replace(",", "")) if cached else None,
        "requests_sent": int(sent.group(1).replace(",", "")) if sent else None,
        "prefect_server": notices[0] if notices else None,
        "stderr_tail": stderr[-1500:] if run["returncode"] != 0 else "",
    }


START_ATTEMPTS = 2  # `server start` gives up after 180 s; a loaded machine may need more


@contextlib.contextmanager
def lab_servers(places: Places, timeout: float) -> Iterator[dict[str, Any]]:
    """`python -m github_stars server start` (timed), and `server stop` at the end.

    A start that gives up is stopped and tried once more on the same PREFECT_HOME, as a user
    would run `make server` again; every attempt is reported (`attempts`)."""
    env = places.lab_environment()
    command = [sys.executable, "-m", "github_stars", "server"]

    def stop() -> None:
        stopped = run_command([*command, "stop"], env, 60.0)
        if stopped["returncode"] != 0:
            print(f"`server stop` failed: {stopped['stderr'][-500:]}", file=sys.stderr)

    attempts = []
    try:
        for _ in range(START_ATTEMPTS):
            start = run_command([*command, "start"], env, timeout)
            answers = prefect_answers(places.lab.prefect_api_url) and simulator_running(
                places.lab.simulator_port
            )
            attempts.append(
                {"wall_s": start["wall_s"], "returncode": start["returncode"], "answers": answers}
            )
            if start["returncode"] == 0 and answers:
                break
            print(f"`server start` gave up: {start['stderr'][-500:]}", file=sys.stderr)
            stop()
        else:
            raise RuntimeError(f"`server start` failed {START_ATTEMPTS} times: {attempts}")
        yield {"server_start_s": start["wall_s"], "load_1m": start["load_1m"], "attempts": attempts}
    finally:
        stop()


# --- where the time goes: python -X importtime ------------------------------------------------

IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S.*)$")


@dataclass
class Imported:
    """One module of an `-X importtime` report: its own and its cumulative microseconds."""

    name: str
    self_us: int
    cumulative_us: int
    depth: int
    children: list[Imported] = field(default_factory=list)


def import_tree(report: str) -> list[Imported]:
    """The top-level imports of an `-X importtime` report, each with its subtree.

    The report lists a module after everything it imported (deeper indented), so a module
    adopts the entries one level deeper that are still waiting for their parent.
    """
    waiting: list[Imported] = []
    for line in report.splitlines():
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        depth = (len(match.group(3)) - 1) // 2
        node = Imported(match.group(4), int(match.group(1)), int(match.group(2)), depth)
        while waiting and waiting[-1].depth > depth:
            child = waiting.pop()
            if child.depth == depth + 1:
                node.children.insert(0, child)
        waiting.append(node)
    return waiting


def walk(nodes: list[Imported], parent: Imported | None = None) -> Iterator[tuple[Any, Imported]]:
    for node in nodes:
        yield parent, node
        yield from walk(node.children, node)


def package(name: str) -> str:
    return name.split(".")[0]


def seconds(us: int) -> float:
    return round(us / 1e6, 3)


def import_breakdown(report: str, top: int = 12) -> dict[str, Any]:
    """Where the import time goes, from an `-X importtime` report (seconds): per package (own
    time), what each of our modules pulls in from other packages and what Prefect does
    (cumulative, per package), and what is imported while the run runs."""
    roots = import_tree(report)
    pairs = list(walk(roots))
    by_package: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    prefects: Counter[str] = Counter()
    for parent, node in pairs:
        by_package[package(node.name)] += node.self_us
        if parent is None or package(parent.name) == package(node.name):
            continue
        if package(parent.name) == "github_stars":
            ours[f"{parent.name} -> {package(node.name)}"] += node.cumulative_us
        elif package(parent.name) == "prefect":
            prefects[package(node.name)] += node.cumulative_us
    during_run = [  # imported at the top level after our modules: while the run runs
        node for node in roots[_first_own(roots) :] if package(node.name) != "github_stars"
    ]
    return {
        "total_s": seconds(sum(node.cumulative_us for node in roots)),
        "modules": len(pairs),
        "by_package_s": {k: seconds(v) for k, v in by_package.most_common(top)},
        "our_imports_s": {k: seconds(v) for k, v in ours.most_common(top)},
        "prefect_s": seconds(sum(v for k, v in ours.items() if k.endswith(" -> prefect"))),
        "prefect_pulls_in_s": {k: seconds(v) for k, v in prefects.most_common(top)},
        "imported_during_run_s": {
            node.name: seconds(node.cumulative_us)
            for node in sorted(during_run, key=lambda n: -n.cumulative_us)[:top]
        },
    }


def _first_own(roots: list[Imported]) -> int:
    return next((i for i, n in enumerate(roots) if package(n.name) == "github_stars"), 0)


def importtime_run(env: dict[str, str], timeout: float) -> dict[str, Any]:
    """`python -X importtime -m github_stars`: the run's import tree (with the tool's own
    overhead: compare shares, not totals, with the plain runs)."""
    run = run_command([sys.executable, "-X", "importtime", "-m", "github_stars"], env, timeout)
    report = run["stderr"]
    return {
        "wall_s": run["wall_s"],
        "load_1m": run["load_1m"],
        "returncode": run["returncode"],
        **import_breakdown(report),
    }


# --- where the time goes: phases ---------------------------------------------------------------

PHASES = {  # phase: (from mark, to mark)
    "interpreter start": ("launched", "started"),
    "import github_stars.cli": ("started", "imported_cli"),
    "import cli.run (core, Prefect)": ("imported_cli", "imported_run"),
    "import pipeline and the run's helpers": ("imported_run", "imported_pipeline"),
    "arguments, inputs": ("imported_pipeline", "api_choice_enter"),
    "choose the API (simulator)": ("api_choice_enter", "api_choice_entered"),
    "choose the Prefect server": ("api_choice_entered", "prefect_choice_entered"),
    "before the flow (logs, progress)": ("prefect_choice_entered", "flow_start"),
    "the flow run": ("flow_start", "flow_end"),
    "after the flow (summary, output)": ("flow_end", "main_returned"),
    "exit handlers (Prefect's services)": ("main_returned", "exit_handlers_done"),
    "interpreter exit": ("exit_handlers_done", "ended"),
}


def phases_of(marks: list[tuple[str, float]], launched: float, ended: float) -> dict[str, float]:
    """Seconds per phase from `cli_phases.py`'s marks and the parent's launch and end times;
    the phases follow each other, so they add up to the run's wall time."""
    at = dict(marks) | {"launched": launched, "ended": ended}
    return {name: round(at[end] - at[start], 3) for name, (start, end) in PHASES.items()}


def phases_run(situation: str, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """`cli_phases.py` once in `situation`: its seconds per phase."""
    with tempfile.TemporaryDirectory(prefix="bench-phases-") as folder:
        out = Path(folder) / "marks.json"
        command = [sys.executable, str(PHASES_SCRIPT), str(out)]
        run = run_command(command, env, timeout)
        described = describe_run(dict(run))
        if run["returncode"] != 0 or not out.exists():
            return {"situation": situation, **described, "phases": None}
        marks = json.loads(out.read_text())
    phases = phases_of(marks, run["launched_at"], run["ended_at"])
    return {"situation": situation, **described, "phases": phases}


def reference_seconds(code: str, env: dict[str, str], runs: int, timeout: float) -> float:
    """Median wall seconds of `python -c CODE` in a fresh process."""
    walls = [run_command([sys.executable, "-c", code], env, timeout)["wall_s"] for _ in range(runs)]
    return round(statistics.median(walls), 3)


# --- the benchmark ----------------------------------------------------------------------------


def summarise_runs(runs: list[dict[str, Any]], server_start_s: float | None) -> dict[str, Any]:
    """Per situation: median, min and max wall seconds of the runs that ran as intended
    (`failed_runs` counts the others), the load before them, the lab servers' start-up."""
    summary = {}
    for situation in SITUATIONS:
        mine = [r for r in runs if r["situation"] == situation]
        good = [r["wall_s"] for r in mine if r["as_intended"]]
        if not mine:
            continue
        loads = [r["load_1m"] for r in mine]
        summary[situation] = {
            "label": SITUATIONS[situation],
            "runs": len(mine),
            "failed_runs": len(mine) - len(good),
            "median_s": round(statistics.median(good), 3) if good else None,
            "min_s": min(good, default=None),
            "max_s": max(good, default=None),
            "load_1m_min": min(loads),
            "load_1m_max": max(loads),
            "from_cache": [r["from_cache"] for r in mine],
            "requests_sent": [r["requests_sent"] for r in mine],
            "server_start_s": server_start_s if situation.startswith("server") else None,
        }
    return summary


def median_phases(runs: list[dict[str, Any]]) -> dict[str, float] | None:
    measured = [r["phases"] for r in runs if r["phases"]]
    if not measured:
        return None
    return {name: round(statistics.median(p[name] for p in measured), 3) for name in measured[0]}


def measure_startup(plan: StartupPlan) -> dict[str, Any]:
    """Every situation of `plan`, interleaved, then where the time of the server runs goes."""
    root = Path(tempfile.mkdtemp(prefix="github-stars-bench-startup-"))
    places = Places(root)
    timeout = plan.run_timeout_s
    runs: list[dict[str, Any]] = []
    new_home = None
    try:
        if plan.no_server:  # a new user's very first run: Prefect creates its database
            new_home = cli_run(
                "no_server_new_home",
                places.run_environment("no_server_first", root / "caches-new-home"),
                timeout,
            )
            print(json.dumps(new_home), file=sys.stderr, flush=True)
        with lab_servers(places, timeout) as lab:
            situations = [s for s in SITUATIONS if plan.no_server or s.startswith("server")]
            for repetition in range(plan.repetitions):
                for situation in situations:
                    kind = situation.rsplit("_", 1)[0]
                    caches = root / f"caches-{kind}-{repetition}"
                    run = cli_run(situation, places.run_environment(situation, caches), timeout)
                    runs.append({"repetition": repetition, **run})
                    print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
            repeat_env = places.run_environment("server_repeat", root / "caches-server-0")
            imports = importtime_run(repeat_env, timeout)
            phase_runs = []
            for repetition in range(plan.phase_runs):
                # a repeated run alone reuses the caches of a first run
                caches = root / (
                    f"caches-phases-{repetition}"
                    if "server_first" in plan.phase_situations
                    else "caches-server-0"
                )
                for situation in plan.phase_situations:
                    env = places.run_environment(situation, caches)
                    phase_runs.append(phases_run(situation, env, timeout))
            references = {}
            if plan.references:
                references = {
                    f"python -c '{code}'": reference_seconds(
                        code, repeat_env, plan.phase_runs, timeout
                    )
                    for code in ("pass", "import prefect")
                }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summary = summarise_runs(runs, lab["server_start_s"])
    repeat = summary.get("server_repeat", {}).get("median_s")
    first = summary.get("server_first", {}).get("median_s")
    return {
        "summary": summary,
        "server_start_s": lab["server_start_s"],
        "server_start_load_1m": lab["load_1m"],
        "server_start_attempts": lab["attempts"],
        "no_server_new_home": new_home,
        "target_s": TARGET_S,
        "met": {
            "server_first_under_target": bool(first is not None and first < TARGET_S),
            "server_repeat_under_target": bool(repeat is not None and repeat < TARGET_S),
        },
        "runs": runs,
        "breakdown": {
            "phases_server_first": median_phases(
                [r for r in phase_runs if r["situation"] == "server_first"]
            ),
            "phases_server_repeat": median_phases(
                [r for r in phase_runs if r["situation"] == "server_repeat"]
            ),
            "phase_runs": phase_runs,
            "importtime_server_repeat": imports,
            "references_s": references,
        },
    }
