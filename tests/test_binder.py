"""Binder's build, reproduced without Docker: what repo2docker's Python buildpack does here.

repo2docker copies the repository into the image, installs `binder/requirements.txt` from
the repository root (after the full copy, since the file refers to `../requirements.txt`),
runs `binder/postBuild`, and starts every container through `binder/start <command>`.
This test does the same on a fresh virtualenv in a copy of the repository. Unlike
repo2docker it lets pip use its cache (the wheels `make install` downloaded) and skips
compiling bytecode at install time, for speed; neither changes what gets installed.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from github_stars.simulator import free_port
from github_stars.simulator.snapshot import snapshot_stars

ROOT = Path(__file__).resolve().parents[1]
NOT_IN_THE_IMAGE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".prefect",
    ".pytest_cache",
    ".ruff_cache",
    "__pycache__",
    "*.egg-info",
    ".ipynb_checkpoints",
    "test-artifacts",
    "storage",
    "output",
)


def notebook_imports() -> list[str]:
    """Every module the lessons import (`import x`, `from x import ...`), from their cells."""
    modules = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"]).splitlines()
                python = [line for line in source if not line.lstrip().startswith(("!", "%"))]
                for node in ast.walk(ast.parse("\n".join(python))):
                    if isinstance(node, ast.Import):
                        modules |= {alias.name for alias in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.level == 0:
                        modules.add(node.module)
    return sorted(modules)


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
    "ui": [ui.status_code, os.environ["PREFECT_UI_SERVE_BASE"] in ui.text],
    "proxy": {name: [p.port, p.absolute_url, p.launcher_entry.title]
              for name, p in proxies.items()},
    "env": {k: os.environ.get(k) for k in ("PREFECT_HOME", "PREFECT_API_URL",
            "PREFECT_UI_API_URL", "PREFECT_SERVER_ANALYTICS_ENABLED",
            "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL")},
}))
"""


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float):
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_binder_build_and_start_on_a_clean_virtualenv(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=NOT_IN_THE_IMAGE)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "GITHUB_", "JUPYTER", "VIRTUAL_ENV"))
    }
    env |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
        "HOME": str(tmp_path),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
    }
    timings = {}

    started = time.monotonic()
    run(
        ["pip", "install", "--quiet", "--no-compile", "-r", "binder/requirements.txt"],
        repo,
        env,
        900,
    )
    timings["pip install"] = time.monotonic() - started

    started = time.monotonic()
    run(["./binder/postBuild"], repo, env, 300)
    timings["postBuild"] = time.monotonic() - started
    assert (repo / ".prefect" / "prefect.db").exists(), "postBuild prepares Prefect's database"

    ports = {"PREFECT_SERVER_API_PORT": free_port(), "GITHUB_STARS_SIMULATOR_PORT": free_port()}
    started = time.monotonic()
    lesson_modules = notebook_imports()
    done = run(
        ["./binder/start", "python", "-c", CHECK, *lesson_modules],
        repo,
        env | {k: str(v) for k, v in ports.items()},
        300,
    )
    timings["start + check"] = time.monotonic() - started
    print("timings (s):", {k: round(v, 1) for k, v in timings.items()})
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert {"prefect", "pandas", "matplotlib.pyplot", "github_stars.tasks"} <= set(lesson_modules)
    assert seen["imported"] == lesson_modules, "every module a lesson imports is installed"
    assert seen["prefect"] == "3.8.8"
    assert Path(seen["package"]).is_relative_to(repo / "src"), "the repository's own package"
    assert seen["simulator"] == [200, snapshot_stars()["prefecthq/prefect"]]
    assert seen["prefect_health"] == [200, True]
    assert seen["ui"] == [200, True], "the UI is served under the proxy's path"
    assert seen["proxy"] == {"prefect-ui": [ports["PREFECT_SERVER_API_PORT"], True, "Prefect UI"]}
    assert seen["env"] == {
        "PREFECT_HOME": str(repo / ".prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{ports['PREFECT_SERVER_API_PORT']}/prefect-ui/api",
        "PREFECT_UI_API_URL": "/prefect-ui/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",  # SQLite batching
    }

    # The servers binder/start started end with the command they were started for.
    deadline = time.monotonic() + 30
    while any(port_open(p) for p in ports.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(port_open(p) for p in ports.values()), "servers outlived the command"
