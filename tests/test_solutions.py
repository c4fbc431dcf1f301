"""Every exercise solution under notebooks/solutions/ runs and passes the check it ends with.

A learner `%load`s a solution into the lesson's kernel, where the pipeline is imported and
the lab's servers run: so each solution runs here in this process, as `__main__`, in its own
folder. (Lesson 10's Dask worker processes import it as their main module; its `__main__`
guard keeps them from starting a cluster of their own.)
"""

import runpy
from pathlib import Path

import pytest

SOLUTIONS = sorted((Path(__file__).parents[1] / "notebooks" / "solutions").glob("*.py"))


def test_there_is_a_solution_for_at_least_four_lessons():
    assert len({path.name[:2] for path in SOLUTIONS}) >= 4


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_runs_and_its_check_passes(path, sim, capsys, monkeypatch):
    monkeypatch.chdir(path.parent)
    runpy.run_path(str(path), run_name="__main__")
    assert "✔" in capsys.readouterr().out  # it ended with a check that printed what it verified
