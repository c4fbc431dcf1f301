"""The package's code on the lesson's page: `show_source(GitHubApi.get_repo)`.

A lesson that starts using a function of the package shows its code where it does, so that
nothing a step calls stays out of sight. The code is displayed as a highlighted Markdown block
(in JupyterLab and in the book) under its dotted name, e.g. `github_stars.core.client.fetch_repo`.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any


def class_fields(cls: type) -> str:
    """A class's source up to its first method: its docstring and its fields."""
    source = textwrap.dedent(inspect.getsource(cls))
    definition = ast.parse(source).body[0]
    methods = [n for n in definition.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if not methods:
        return source.rstrip()
    first = min([methods[0].lineno, *(d.lineno for d in methods[0].decorator_list)])
    return "\n".join(source.splitlines()[: first - 1]).rstrip()


def source_of(obj: Any) -> str:
    """The code `show_source` displays for `obj`: a function's or method's whole source
    (a Prefect task's or flow's function included), a class's fields."""
    target = getattr(obj, "fn", obj)  # a Prefect task or flow: its function
    if inspect.isclass(target):
        return class_fields(target)
    return textwrap.dedent(inspect.getsource(target)).rstrip()


def dotted_name(obj: Any) -> str:
    target = getattr(obj, "fn", obj)
    return f"{target.__module__}.{target.__qualname__}"


def show_source(*objects: Any) -> None:
    """Display the source of each of `objects` (see `source_of`) under its dotted name."""
    from IPython.display import Markdown, display

    for obj in objects:
        display(Markdown(f"`{dotted_name(obj)}`\n\n```python\n{source_of(obj)}\n```"))
