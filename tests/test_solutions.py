"""Every exercise solution under notebooks/solutions/ runs and passes the check it ends with."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SOLUTIONS = sorted((Path(__file__).parents[1] / "notebooks" / "solutions").glob("*.py"))


def test_there_is_a_solution_for_at_least_four_lessons():
    assert len({path.name[:2] for path in SOLUTIONS}) >= 4


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_runs_and_its_check_passes(path, sim):
    done = subprocess.run(
        [sys.executable, path.name],
        cwd=path.parent,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "✔" in done.stdout  # it ended with a check that printed what it verified
