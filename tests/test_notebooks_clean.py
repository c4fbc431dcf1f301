"""Every lesson notebook is committed clean and follows the lesson conventions."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).parents[1] / "notebooks"
LESSONS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS = [*LESSONS, NOTEBOOK_DIR / "appendix_under_the_hood.ipynb"]
OPENING = ["Overview", "Prerequisites", "Time to learn"]
CLOSING = ["Summary", "Try it yourself", "What's next", "Resources"]
# Lesson N starts from the step lesson N-1 ended with.
PREVIOUS_STEP = {"01": "plain", "02": "retries", "03": "concurrent", "04": "rate_limited"}
# Private or internal Prefect APIs a learner should not meet.
PRIVATE_PREFECT = re.compile(r"_sync\s*=|ResultRecord|compute_key\(|prefect\.server\.|\._[a-z]")
MAX_ASSERTS = 15


def cells(path: Path, kind: str) -> list[str]:
    return [
        "".join(c["source"])
        for c in json.loads(path.read_text())["cells"]
        if c["cell_type"] == kind
    ]


def test_all_lessons_are_present():
    assert [p.name[:2] for p in LESSONS] == ["00", "01", "02", "03", "04", "05", "06"]
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
    ending = "\n".join(markdown[-6:])
    positions = [ending.find(f"## {heading}") for heading in CLOSING]
    assert -1 not in positions and positions == sorted(positions), (path.name, positions)


def test_the_lessons_hold_few_asserts_and_no_private_prefect_apis():
    code = {path.name: "\n".join(cells(path, "code")) for path in NOTEBOOKS}
    asserts = sum(len(re.findall(r"^\s*assert\b", text, re.M)) for text in code.values())
    assert asserts <= MAX_ASSERTS
    assert {
        name: PRIVATE_PREFECT.findall(text)
        for name, text in code.items()
        if PRIVATE_PREFECT.search(text)
    } == {}


@pytest.mark.parametrize("lesson", sorted(PREVIOUS_STEP))
def test_each_lesson_starts_from_the_previous_step(lesson):
    (path,) = [p for p in LESSONS if p.name.startswith(lesson)]
    code = "\n".join(cells(path, "code"))
    step = PREVIOUS_STEP[lesson]
    assert re.search(
        rf"from github_stars\.steps(\.{step})? import .*\b{step}\b|"
        rf"from github_stars\.steps\.{step} import",
        code,
    ), path.name


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_each_exercise_has_a_solution_to_load(path):
    loads = re.findall(r"^# %load (solutions/\S+\.py)$", "\n".join(cells(path, "code")), re.M)
    assert loads and all((NOTEBOOK_DIR / load).exists() for load in loads), (path.name, loads)
