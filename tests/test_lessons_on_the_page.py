"""The code a lesson writes in its cells is the package's: what a learner types is what runs.

A lesson writes its step's task and flow in a cell, and sometimes a function of the package
that the step starts using (a cache policy, a retry condition). Each top-level definition of
a lesson whose name the lesson's step module or `github_stars.core` also defines must be the
same code (the same syntax tree: decorators, signature, docstring and body; comments aside).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import github_stars.core
from github_stars.steps import OPTIONAL_STEPS, STEPS

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
LESSONS = {path: STEPS[int(path.name[:2])] for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))}
LESSONS[NOTEBOOKS / "dask_scale_out.ipynb"] = OPTIONAL_STEPS[0]
# The seed's address: the lessons write the simulator's (`sim.url`, as lesson 00 explains),
# the steps read it from the environment.
NOT_COMPARED = {"GITHUB_API"}
MAGIC = re.compile(r"^\s*(\w+\s*=\s*)?[%!].*$", re.M)  # IPython magics and shell lines


def definitions(tree: ast.Module) -> dict[str, ast.stmt]:
    """The top-level functions, classes and single-name assignments of a module, by name."""
    found: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[node.name] = node
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = node
    return found


def lesson_definitions(path: Path) -> dict[str, ast.stmt]:
    found: dict[str, ast.stmt] = {}
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or source.startswith("%%"):
            continue
        found |= definitions(ast.parse(MAGIC.sub("", source)))
    return found


def module_definitions(name: str) -> dict[str, ast.stmt]:
    return definitions(ast.parse(inspect.getsource(importlib.import_module(name))))


def core_definitions() -> dict[str, ast.stmt]:
    found: dict[str, ast.stmt] = {}
    for module in pkgutil.iter_modules(github_stars.core.__path__, "github_stars.core."):
        found |= module_definitions(module.name)
    return found


CORE = core_definitions()


def shape(node: ast.stmt) -> str:
    return ast.dump(node, annotate_fields=True, include_attributes=False)


@pytest.mark.parametrize("path", list(LESSONS), ids=lambda p: p.name)
def test_what_a_lesson_defines_is_the_packages_code(path):
    package = CORE | module_definitions(f"github_stars.steps.{LESSONS[path]}")
    written = {
        name: node
        for name, node in lesson_definitions(path).items()
        if name in package and name not in NOT_COMPARED
    }
    differ = sorted(name for name, node in written.items() if shape(node) != shape(package[name]))
    assert differ == [], f"{path.name}: not the package's code: {differ}"


def test_every_lesson_from_01_writes_its_steps_flow():
    missing = [
        path.name
        for path in LESSONS
        if not path.name.startswith("00") and "show_stars" not in lesson_definitions(path)
    ]
    assert missing == ["dask_scale_out.ipynb"], (
        "each numbered lesson writes the flow its step ends with"
    )
