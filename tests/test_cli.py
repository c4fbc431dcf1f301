"""`python -m github_stars`: the finished pipeline from the command line."""

import os
import subprocess
import sys

from github_stars.simulator import free_port
from github_stars.simulator.snapshot import snapshot_stars

STARS = snapshot_stars()


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "GITHUB_API_URL"}
    environ["GITHUB_STARS_SIMULATOR_PORT"] = str(free_port())  # its own simulator
    environ |= env
    return subprocess.run([sys.executable, "-m", "github_stars", *args], env=environ,
                          capture_output=True, text=True, timeout=240)


def test_default_run_uses_the_bundled_simulator(tmp_path):
    csv, chart = tmp_path / "stars.csv", tmp_path / "stars.png"
    done = run_cli("--csv", str(csv), "--chart", str(chart))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"PrefectHQ/prefect: {STARS['prefecthq/prefect']} stars",
        f"pydantic/pydantic: {STARS['pydantic/pydantic']} stars",
        f"huggingface/transformers: {STARS['huggingface/transformers']} stars",
    ]
    assert "snapshot dated 2026-01-24" in done.stderr
    assert "knobs differ" not in done.stderr  # a simulator of its own: a healthy API
    assert csv.read_text().splitlines()[0].startswith("repo,stars,forks")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failures_exit_1_and_every_success_is_printed():
    done = run_cli("psf/requests", "nobody/nothing", "not-a-name", "pallets/flask")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"psf/requests: {STARS['psf/requests']} stars",
        "nobody/nothing: error: not found (404)",
        "not-a-name: error: invalid name: expected exactly one '/' as in 'owner/repo'",
        f"pallets/flask: {STARS['pallets/flask']} stars",
    ]


def test_a_reused_simulator_says_which_knobs_a_lesson_left_changed(sim):
    sim.configure(latency=0.05, secondary_limit=8)
    done = run_cli("psf/requests", GITHUB_STARS_SIMULATOR_PORT=str(sim.port))
    assert done.returncode == 0, done.stderr
    assert f"simulator at {sim.url}" in done.stderr
    assert "Its knobs differ from a healthy API's: latency=0.05, secondary_limit=8." in done.stderr
