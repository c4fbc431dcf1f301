"""Every exercise solution under notebooks/solutions/ runs and passes the check it ends with.

A learner `%load`s a solution into the lesson's kernel, where the pipeline is imported and
the lab's servers run: so each solution runs here in this process, as `__main__`, in its own
folder. Lesson 10's starts Dask worker processes, which import the main module of the
process that started them, so it runs as a script of its own.
"""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

SOLUTIONS = sorted((Path(__file__).parents[1] / "notebooks" / "solutions").glob("*.py"))
RUN_AS_A_SCRIPT = {"10_three_workers.py"}


def test_there_is_a_solution_for_at_least_four_lessons():
    assert len({path.name[:2] for path in SOLUTIONS}) >= 4


def run_as_a_script(path: Path) -> str:
    """`python SOLUTION` in the solution's folder; its output."""
    done = subprocess.run(
        [sys.executable, path.name],
        cwd=path.parent,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_runs_and_its_check_passes(path, sim, capsys, monkeypatch):
    if path.name in RUN_AS_A_SCRIPT:
        printed = run_as_a_script(path)
    else:
        monkeypatch.chdir(path.parent)
        runpy.run_path(str(path), run_name="__main__")
        printed = capsys.readouterr().out
    assert "✔" in printed  # it ended with a check that printed what it verified
