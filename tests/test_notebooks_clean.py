"""Every lesson notebook is committed clean and follows the lesson structure."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
OPENING = ["Overview", "Prerequisites", "Time to learn"]
CLOSING = ["Summary", "Try it yourself", "What's next"]


def test_all_lessons_are_present():
    assert [p.name[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_outputs_committed(path):
    cells = json.loads(path.read_text())["cells"]
    dirty = [i for i, c in enumerate(cells)
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; run `make strip`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_opens_and_closes_with_the_standard_sections(path):
    cells = json.loads(path.read_text())["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    text = "\n".join(markdown)
    for heading in OPENING + CLOSING:
        assert heading in text, f"{path.name}: missing '{heading}'"
    assert all(h in "\n".join(markdown[:3]) for h in OPENING), "opening sections come first"
    assert all(h in "\n".join(markdown[-4:]) for h in CLOSING), "closing sections come last"
