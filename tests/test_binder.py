"""Binder's build, reproduced without Docker on the project's own environment.

repo2docker copies the repository into the image, installs `binder/requirements.txt` from
the repository root (the file refers to `../requirements.txt`), runs `binder/postBuild`, and
starts every container through `binder/start <command>`. Installing the pins again into a
fresh virtualenv takes minutes and would test pip more than binder/; the project's `.venv`
(`make install`: requirements-book.txt, which includes requirements.txt) already holds them.
So this test, in a copy of the repository (without `.venv`, `.prefect`, outputs):

1. resolves what `binder/requirements.txt` installs, following `-r` and `-e .` (the copy's
   pyproject.toml) and every requirement's own requirements, in `.venv`: each is installed at
   a version its pin allows, and every module a lesson imports comes from one of them, not
   from what only the book or the tests need (jupyter-book, ...);
2. runs `binder/postBuild` and `binder/start` with `.venv` first on PATH, as the image's
   Python: Prefect's database prepared, the lesson modules imported, the simulator and the
   Prefect server (with its UI under the proxy's path) answering, the proxy's launcher entry,
   the environment the kernels get, and the servers gone when the command ends.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.metadata
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from github_stars.simulator import free_port
from github_stars.simulator.snapshot import snapshot_stars

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent  # the project's .venv (make install)
NOT_IN_THE_IMAGE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".prefect",
    ".pytest_cache",
    ".ruff_cache",
    "__pycache__",
    "*.egg-info",
    ".ipynb_checkpoints",
    "_build",
    "test-artifacts",
    "storage",
    "output",
)


def notebook_imports() -> list[str]:
    """Every module the lessons import (`import x`, `from x import ...`), from their cells
    (IPython's `!command` and `%magic` lines made Python as IPython makes them)."""
    from IPython.core.inputtransformer2 import TransformerManager

    as_python = TransformerManager().transform_cell
    modules = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                for node in ast.walk(ast.parse(as_python("".join(cell["source"])))):
                    if isinstance(node, ast.Import):
                        modules |= {alias.name for alias in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.level == 0:
                        modules.add(node.module)
    return sorted(modules)


def requirement_lines(path: Path) -> list[Requirement]:
    """The requirements of a pip requirements file: `-r` followed (relative to the file),
    `-e .` / `.` read from that folder's pyproject.toml (name and dependencies)."""
    found: list[Requirement] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            found += requirement_lines(path.parent / line.split(maxsplit=1)[1])
        elif line.removeprefix("-e ").strip() in {".", "./"}:
            project = tomllib.loads((path.parent / "pyproject.toml").read_text())["project"]
            found.append(Requirement(project["name"]))
            found += [Requirement(dependency) for dependency in project["dependencies"]]
        elif line.startswith("-"):
            raise AssertionError(f"{path.name}: an option this test does not know: {line}")
        else:
            found.append(Requirement(line))
    return found


def installed_closure(requirements: list[Requirement]) -> tuple[set[str], list[str]]:
    """The distributions `requirements` bring into this environment, recursively (markers
    and extras evaluated), and the requirements it does not satisfy."""
    environment = default_environment()
    seen: set[tuple[str, str]] = set()
    names: set[str] = set()
    unmet: list[str] = []
    todo = [(requirement, "") for requirement in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate(environment | {"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            unmet.append(f"{requirement} (not installed)")
            continue
        if not requirement.specifier.contains(dist.version, prereleases=True):
            unmet.append(f"{requirement} (installed: {dist.version})")
        names.add(name)
        for wanted in ["", *sorted(requirement.extras)]:
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            todo += [(Requirement(r), wanted) for r in dist.requires or []]
    return names, unmet


@functools.cache
def top_level_packages() -> Mapping[str, list[str]]:
    """Each top-level package in this environment and the distributions that install it
    (read once: it reads every distribution's file list)."""
    return importlib.metadata.packages_distributions()


def providing_distributions(module: str) -> set[str]:
    """The distributions that install `module`'s top-level package (empty: the stdlib)."""
    top = module.split(".")[0]
    if top in sys.stdlib_module_names:
        return set()
    return {canonicalize_name(name) for name in top_level_packages().get(top, [])}


# What the container's command sees: the notebooks' imports and the two servers.
CHECK = """
import importlib, json, os, sys, httpx
import github_stars, prefect, jupyter_server_proxy, jupyterlab
from jupyter_server_proxy.config import get_entrypoint_server_processes

imported = [importlib.import_module(name).__name__ for name in sys.argv[1:]]

proxies = {p.name: p for p in get_entrypoint_server_processes()}
sim = httpx.get(f"http://127.0.0.1:{os.environ['GITHUB_STARS_SIMULATOR_PORT']}"
                "/repos/PrefectHQ/prefect", headers={"User-Agent": "binder-test"})
health = httpx.get(os.environ["PREFECT_API_URL"] + "/health")
ui = httpx.get(os.environ["PREFECT_API_URL"].removesuffix("/api") + "/v2/",
               headers={"Accept": "text/html"})
print(json.dumps({
    "imported": imported,
    "prefect": prefect.__version__,
    "package": github_stars.__file__,
    "simulator": [sim.status_code, sim.json().get("stargazers_count")],
    "prefect_health": [health.status_code, health.json()],
    "ui": [ui.status_code, "/prefect-ui" in ui.text],
    "proxy": {name: [p.port, p.absolute_url, p.launcher_entry.title]
              for name, p in proxies.items()},
    "env": {k: os.environ.get(k) for k in ("PREFECT_HOME", "PREFECT_API_URL",
            "PREFECT_SERVER_ANALYTICS_ENABLED",
            "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL")},
}))
"""


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run `command` in a process group of its own; on a time-out, end the whole group (the
    servers binder/start started included). Returns its stdout; fails on a non-zero exit."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        pytest.fail(f"{command[0]} did not finish in {timeout} s\n{out[-3000:]}\n{err[-3000:]}")
    assert process.returncode == 0, f"{command}\n{out[-3000:]}\n{err[-3000:]}"
    return out


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_binder_build_and_start_with_the_projects_environment(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=NOT_IN_THE_IMAGE)
    timings = {}

    started = time.monotonic()
    wanted = requirement_lines(repo / "binder" / "requirements.txt")
    installed, unmet = installed_closure(wanted)
    assert unmet == [], ".venv lacks what binder/requirements.txt installs: `make install`"
    lesson_modules = notebook_imports()
    elsewhere = {
        module: sorted(providers)
        for module in lesson_modules
        if (providers := providing_distributions(module)) and not providers & installed
    }
    assert elsewhere == {}, "lessons import modules binder/requirements.txt does not install"
    timings["requirements"] = time.monotonic() - started

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "GITHUB_", "JUPYTER", "VIRTUAL_ENV"))
    }
    env |= {"PATH": f"{VENV_BIN}{os.pathsep}{env['PATH']}", "HOME": str(tmp_path)}

    started = time.monotonic()
    run(["./binder/postBuild"], repo, env, 300)
    timings["postBuild"] = time.monotonic() - started
    assert (repo / ".prefect" / "prefect.db").exists(), "postBuild prepares Prefect's database"

    ports = {"PREFECT_SERVER_API_PORT": free_port(), "GITHUB_STARS_SIMULATOR_PORT": free_port()}
    started = time.monotonic()
    out = run(
        ["./binder/start", "python", "-c", CHECK, *lesson_modules],
        repo,
        env | {k: str(v) for k, v in ports.items()},
        300,
    )
    timings["start + check"] = time.monotonic() - started
    print("timings (s):", {k: round(v, 1) for k, v in timings.items()})
    seen = json.loads(out.strip().splitlines()[-1])

    assert {"prefect", "github_stars.steps"} <= set(lesson_modules)
    assert seen["imported"] == lesson_modules, "every module a lesson imports is installed"
    assert f"prefect=={seen['prefect']}" in (ROOT / "requirements.lock").read_text().split()
    assert Path(seen["package"]).is_relative_to(ROOT / "src"), "`-e .`: the source, editable"
    assert seen["simulator"] == [200, snapshot_stars()["prefecthq/prefect"]]
    assert seen["prefect_health"] == [200, True]
    assert seen["ui"] == [200, True], "the UI is served under the proxy's path"
    assert seen["proxy"] == {"prefect-ui": [ports["PREFECT_SERVER_API_PORT"], True, "Prefect UI"]}
    assert seen["env"] == {
        "PREFECT_HOME": str(repo / ".prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{ports['PREFECT_SERVER_API_PORT']}/prefect-ui/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",  # SQLite batching
    }

    # The servers binder/start started end with the command they were started for.
    deadline = time.monotonic() + 30
    while any(port_open(p) for p in ports.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(port_open(p) for p in ports.values()), "servers outlived the command"
