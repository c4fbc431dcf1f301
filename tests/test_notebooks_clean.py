"""Every lesson notebook is committed clean and follows the lesson conventions.

A numbered lesson per step of the main path; optional lessons (the appendix, Dask) are not
numbered. Each lesson opens with Overview, Prerequisites and Time to learn, has an Imports
section, closes with Summary, What's next and Resources; cells a learner reads in one look;
at most three checks; short exercises inline, each followed by a learner's cell and a solution
cell that JupyterLab shows collapsed and the book as a toggle.
"""

import json
import re
from pathlib import Path

import pytest

from github_stars.steps import OPTIONAL_STEPS, STEPS

NOTEBOOK_DIR = Path(__file__).parents[1] / "notebooks"
LESSONS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
OPTIONAL = [NOTEBOOK_DIR / "dask_scale_out.ipynb", NOTEBOOK_DIR / "appendix_under_the_hood.ipynb"]
NOTEBOOKS = [*LESSONS, *OPTIONAL]
OPENING = ["Overview", "Prerequisites", "Time to learn"]
CLOSING = ["Summary", "What's next", "Resources"]
# Private or internal Prefect APIs a learner should not meet.
PRIVATE_PREFECT = re.compile(r"_sync\s*=|ResultRecord|\.compute_key\(|prefect\.server\.|\._[a-z]")
# What counts as a check: a line of evidence the lesson verifies and prints.
CHECK_CALL = re.compile(r"^\s*(?:\w+\s*=\s*)?(check\w*|expect_failure)\(", re.M)
MAX_CHECKS = 3
# Cells a learner takes in at one look; the step's task and flow cell and the seed's
# `%%writefile` aside (they are the step, whole).
MAX_CELL_LINES, MAX_IMPORT_LINES, MAX_SOLUTION_LINES = 16, 14, 20
WHOLE_STEP = re.compile(r"^\s*@(task|flow)\b|^%%writefile", re.M)
SOLUTION = {"jupyter": {"source_hidden": True}, "tags": ["hide-input"]}


def notebook_cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def cells(path: Path, kind: str) -> list[str]:
    return ["".join(c["source"]) for c in notebook_cells(path) if c["cell_type"] == kind]


def test_there_is_one_lesson_per_step_of_the_main_path():
    assert [p.name[:2] for p in LESSONS] == [f"{n:02d}" for n in range(len(STEPS))]
    assert all(path.exists() for path in OPTIONAL)
    assert OPTIONAL_STEPS == ("on_dask",)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_outputs_committed(path):
    code = [c for c in notebook_cells(path) if c["cell_type"] == "code"]
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} have outputs; run `make strip`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_opens_and_closes_with_the_standard_sections(path):
    markdown = cells(path, "markdown")
    assert all(h in markdown[0] for h in OPENING), "opening sections come first"
    assert re.search(r"## Time to learn: \d+ minutes", markdown[0]), "a time in minutes"
    assert any(text.startswith("## Imports") for text in markdown), "an Imports section"
    ending = "\n".join(markdown[-3:])
    positions = [ending.find(f"## {heading}") for heading in CLOSING]
    assert -1 not in positions and positions == sorted(positions), (path.name, positions)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_has_at_most_three_checks(path):
    checks = CHECK_CALL.findall("\n".join(cells(path, "code")))
    assert len(checks) <= MAX_CHECKS, (path.name, checks)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_cells_fit_one_look(path):
    code = [text.strip() for text in cells(path, "code")]
    imports = [text for text in code if re.match(r"(import|from)\s", text)]
    assert max(len(text.splitlines()) for text in imports) <= MAX_IMPORT_LINES, path.name
    long = [
        text.splitlines()[0]
        for text in code
        if len(text.splitlines()) > MAX_CELL_LINES
        and not WHOLE_STEP.search(text)
        and text not in imports
    ]
    assert long == [], f"{path.name}: cells over {MAX_CELL_LINES} lines: {long}"


def test_the_lessons_hold_no_asserts_noqa_or_private_prefect_apis():
    code = {path.name: "\n".join(cells(path, "code")) for path in NOTEBOOKS}
    assert {name: text.count("assert ") for name, text in code.items() if "assert " in text} == {}
    assert [name for name, text in code.items() if "noqa" in text] == []
    assert {
        name: PRIVATE_PREFECT.findall(text)
        for name, text in code.items()
        if PRIVATE_PREFECT.search(text)
    } == {}


@pytest.mark.parametrize("path", [*LESSONS[1:], OPTIONAL[0]], ids=lambda p: p.name)
def test_each_lesson_starts_from_the_previous_step(path):
    step = STEPS[int(path.name[:2]) - 1] if path in LESSONS else STEPS[-1]
    assert re.search(
        rf"from github_stars\.steps import .*\b{step}\b|from github_stars\.steps\.{step} import",
        "\n".join(cells(path, "code")),
    ), (path.name, step)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_exercise_is_followed_by_a_learners_cell_and_a_collapsed_solution(path):
    notebook = notebook_cells(path)
    exercises = [
        i
        for i, cell in enumerate(notebook)
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("### Exercise")
    ]
    assert exercises, f"{path.name}: no exercise"
    for i in exercises:
        learner, solution = notebook[i + 1], notebook[i + 2]
        assert learner["cell_type"] == "code" and not learner["metadata"], (path.name, i)
        assert solution["cell_type"] == "code" and solution["metadata"] == SOLUTION, (path.name, i)
        assert len("".join(solution["source"]).splitlines()) <= MAX_SOLUTION_LINES, (path.name, i)
    hidden = [c for c in notebook if c.get("metadata", {}).get("jupyter", {}).get("source_hidden")]
    assert len(hidden) == len(exercises), f"{path.name}: a collapsed cell that is no solution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_declare_the_ipython_lexer(path):
    metadata = json.loads(path.read_text())["metadata"]
    assert metadata["language_info"]["pygments_lexer"] == "ipython3"
