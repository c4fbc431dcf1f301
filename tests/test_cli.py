"""`python -m github_stars`: the finished pipeline from the command line."""

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import cli_process
import pytest

from github_stars.core.star_history import StarHistory
from github_stars.simulator import free_port
from github_stars.simulator.snapshot import SNAPSHOT_DATE, load_snapshot, snapshot_stars

STARS = snapshot_stars()


def run_cli(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """The command with a simulator of its own (a free port) unless `env` names one."""
    own = {"GITHUB_STARS_SIMULATOR_PORT": str(free_port())}
    return cli_process.run_cli(*args, cwd=cwd, without=("GITHUB_API_URL",), **own | env)


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


def test_from_a_file_with_arguments_progress_summary_and_json(tmp_path):
    listed = [
        "psf/black",
        "pallets/click",
        "encode/httpx",
        "tiangolo/typer",
        "pydata/xarray",
        "numpy/numpy",
        "pandas-dev/pandas",
        "python-poetry/poetry",
        "pytest-dev/pytest",
        "tqdm/tqdm",
    ]
    repos = tmp_path / "repos.txt"
    repos.write_text(
        "# my list\n"
        + "\n".join(listed[:5])
        + "\nnot-a-name\n\n"
        + "\n".join(listed[5:])
        + "\nhttps://github.com/encode/starlette.git\n"
    )
    out = tmp_path / "out"
    done = run_cli(
        "psf/requests",
        "--from",
        str(repos),
        "--json",
        str(out / "stars.json"),
        "--csv",
        str(out / "stars.csv"),
    )
    assert done.returncode == 1, done.stderr  # a bad line is a failure
    names = ["psf/requests", *listed, "encode/starlette"]
    assert done.stdout.splitlines() == [f"{n}: {STARS[n]} stars" for n in names]
    err = done.stderr.splitlines()
    assert (
        f"{repos}:7: invalid name: expected exactly one '/' as in 'owner/repo' "
        "(got 'not-a-name')" in err
    )
    assert any("12/12" in line and "ok 12" in line for line in err)  # the progress, at the end
    assert any(
        line.startswith("Done: 12 repositories in ") and "1 bad input line" in line for line in err
    )
    # 12 of the window's 5,000 were ours; a request another test left hanging may land too.
    (summary,) = [line for line in err if line.startswith("Requests: ")]
    left = re.fullmatch(
        r"Requests: 12 sent, 0 answered 304 Not Modified; rate limit left: ([\d,]+) of 5,000\.",
        summary,
    )
    assert left and int(left[1].replace(",", "")) <= 5000 - 12, summary
    assert (
        f"Results: stdout (one line per repository); CSV: {out / 'stars.csv'}; "
        f"JSON: {out / 'stars.json'}." in err
    )
    assert "Finished in state" not in done.stderr  # Prefect's per-run INFO lines are off
    assert len(err) < 15, done.stderr
    objects = json.loads((out / "stars.json").read_text())
    assert objects[0] == {
        "repo": "psf/requests",
        "stars": STARS["psf/requests"],
        "error": None,
        "cached": False,
        "api": f"github-stars-simulator@{SNAPSHOT_DATE}",
    }
    assert len(objects) == 12 and len((out / "stars.csv").read_text().splitlines()) == 13


def test_stdin_and_quiet_print_only_the_results():
    environ = {k: v for k, v in os.environ.items() if k != "GITHUB_API_URL"}
    environ["GITHUB_STARS_SIMULATOR_PORT"] = str(free_port())
    done = subprocess.run(
        [sys.executable, "-m", "github_stars", "--from", "-", "--quiet"],
        input="https://github.com/psf/requests\nnobody/nothing\n",
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"psf/requests: {STARS['psf/requests']} stars",
        "nobody/nothing: error: not found (404)",
    ]
    assert done.stderr == ""


def test_verbose_brings_prefects_run_logs_back():
    done = run_cli("psf/requests", "-v")
    assert done.returncode == 0, done.stderr
    assert "Finished in state Completed()" in done.stderr
    assert "Done: 1 repository in " in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (
            "name,stars\npsf/requests,1\n",
            "no 'repo' or 'full_name' column in its CSV header (columns: 'name', 'stars')",
        ),
        ("# nothing here\n\n", "--from: no repositories in"),
    ],
)
def test_an_unusable_from_list_is_a_usage_error(tmp_path, content, message):
    path = tmp_path / "repos.csv"
    if content is not None:
        path.write_text(content)
    done = subprocess.run(
        [sys.executable, "-m", "github_stars", "--from", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert message in done.stderr and "usage:" in done.stderr
    assert done.stdout == ""


# --- --history: one row per repository and day ------------------------------------------------
def test_history_keeps_one_row_per_repository_and_day_and_a_rerun_adds_none(tmp_path):
    """`--history PATH`: a row per repository that succeeded (none for a failure), in an SQLite
    file created with its folders; a relative path is the working directory's. A re-run the
    same day is answered from Prefect's cache and keeps the rows as the first run wrote them."""
    repos = ["psf/requests", "pallets/flask", "nobody/nothing"]
    done = run_cli(*repos, "--history", "kept/stars.db", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # nobody/nothing: not found
    assert done.stdout.splitlines()[-1] == "nobody/nothing: error: not found (404)"
    assert "history: kept/stars.db" in done.stderr  # the summary's "Results:" line
    with StarHistory.open(tmp_path / "kept" / "stars.db") as history:
        first = history.records()
    snapshot = load_snapshot()
    assert [(r.repo, r.stars, r.forks, r.watchers) for r in first] == [
        (name, STARS[name], int(row["forks_count"]), int(row["subscribers_count"]))
        for name, row in ((n, snapshot[n].row) for n in ["pallets/flask", "psf/requests"])
    ]
    assert {r.api for r in first} == {f"github-stars-simulator@{SNAPSHOT_DATE}"}
    assert {r.day for r in first} == {first[0].fetched_at.date()}  # the API's day (UTC)

    again = run_cli(*repos, "--history", str(tmp_path / "kept" / "stars.db"))
    assert again.returncode == 1, again.stderr
    assert "(2 from Prefect's cache)" in again.stderr
    with StarHistory.open(tmp_path / "kept" / "stars.db") as history:
        assert history.records() == first  # no new row, the first fetch's time kept


@pytest.mark.parametrize(
    "template",
    [
        "postgresql+psycopg://stars:{secret}@127.0.0.1:5432/stars",
        "postgresql+psycopg://stars@127.0.0.1:5432/stars?password={secret}",
    ],
)
def test_a_history_url_with_a_password_is_a_usage_error_that_never_shows_it(template):
    secret = f"pw{uuid.uuid4().hex}"
    done = run_cli("psf/requests", "--history", template.format(secret=secret))
    assert done.returncode == 2
    assert "usage:" in done.stderr and "--history: " in done.stderr
    assert "must not contain a password" in done.stderr and "PGPASSWORD" in done.stderr
    assert secret not in done.stdout + done.stderr
    assert done.stdout == ""
