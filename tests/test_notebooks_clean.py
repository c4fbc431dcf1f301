"""Every lesson notebook is committed clean and follows the lesson conventions."""

import json
import re
from pathlib import Path

import pytest

from github_stars.steps import STEPS

NOTEBOOK_DIR = Path(__file__).parents[1] / "notebooks"
LESSONS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS = [*LESSONS, NOTEBOOK_DIR / "appendix_under_the_hood.ipynb"]
OPENING = ["Overview", "Prerequisites", "Time to learn"]
CLOSING = ["Summary", "Try it yourself", "What's next", "Resources"]
# Private or internal Prefect APIs a learner should not meet.
PRIVATE_PREFECT = re.compile(r"_sync\s*=|ResultRecord|compute_key\(|prefect\.server\.|\._[a-z]")
# What counts as a check: a line of evidence the lesson verifies and prints.
CHECK_CALL = re.compile(r"^\s*(?:\w+\s*=\s*)?(check\w*|expect_failure)\(", re.M)
MAX_CHECKS = 3


def cells(path: Path, kind: str) -> list[str]:
    return [
        "".join(c["source"])
        for c in json.loads(path.read_text())["cells"]
        if c["cell_type"] == kind
    ]


def lesson_code(path: Path) -> str:
    """The code a learner runs: every code cell but the `# %load` ones."""
    return "\n".join(code for code in cells(path, "code") if not code.startswith("# %load"))


def test_there_is_one_lesson_per_step():
    assert [p.name[:2] for p in LESSONS] == [f"{n:02d}" for n in range(len(STEPS))]
    assert all(path.exists() for path in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_outputs_committed(path):
    code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} have outputs; run `make strip`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_opens_and_closes_with_the_standard_sections(path):
    markdown = cells(path, "markdown")
    assert all(h in "\n".join(markdown[:3]) for h in OPENING), "opening sections come first"
    assert any(text.startswith("## Imports") for text in markdown), "an Imports section"
    ending = "\n".join(markdown[-6:])
    positions = [ending.find(f"## {heading}") for heading in CLOSING]
    assert -1 not in positions and positions == sorted(positions), (path.name, positions)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_has_at_most_three_checks(path):
    checks = CHECK_CALL.findall(lesson_code(path))
    assert len(checks) <= MAX_CHECKS, (path.name, checks)


def test_the_lessons_hold_no_asserts_noqa_or_private_prefect_apis():
    code = {path.name: lesson_code(path) for path in NOTEBOOKS}
    assert {name: text.count("assert ") for name, text in code.items() if "assert " in text} == {}
    assert [name for name, text in code.items() if "noqa" in text] == []
    assert {
        name: PRIVATE_PREFECT.findall(text)
        for name, text in code.items()
        if PRIVATE_PREFECT.search(text)
    } == {}


@pytest.mark.parametrize("path", LESSONS[1:], ids=lambda p: p.name)
def test_each_lesson_starts_from_the_previous_step(path):
    step = STEPS[int(path.name[:2]) - 1]
    assert re.search(
        rf"from github_stars\.steps import .*\b{step}\b|from github_stars\.steps\.{step} import",
        lesson_code(path),
    ), (path.name, step)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_each_exercise_has_a_solution_to_load_and_says_how(path):
    code = "\n".join(cells(path, "code"))
    loads = re.findall(r"^# %load (solutions/\S+\.py)$", code, re.M)
    assert loads and all((NOTEBOOK_DIR / load).exists() for load in loads), (path.name, loads)
    assert "%load" in "\n".join(cells(path, "markdown")), "the lesson says how %load works"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_declare_the_ipython_lexer(path):
    metadata = json.loads(path.read_text())["metadata"]
    assert metadata["language_info"]["pygments_lexer"] == "ipython3"
