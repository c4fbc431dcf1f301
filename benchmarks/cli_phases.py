"""`python -m github_stars` with a clock on each phase: where a command-line run's time goes.

    python benchmarks/cli_phases.py OUT.json [ARGS ...]

Runs the command line's `main(ARGS)` in this fresh process as `python -m github_stars ARGS`
does, importing first, one after another, the modules `main` imports (so their import time is
a phase of its own), and timing the run's steps by wrapping the functions `main` looks up when
it calls them (`api_for_run`, `prefect_for_run`, `pipeline.show_stars`). At exit, after
every other exit handler, it writes the moments (`time.time()`) to OUT.json; the parent adds
when it launched the process and when it saw it end (`benchmarks.startup.phases_of`).
Nothing here changes what the run does.
"""

import time

STARTED = time.time()  # the first thing this process does after Python's own start-up

import atexit  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

MARKS: list[tuple[str, float]] = [("started", STARTED)]


def mark(name: str) -> None:
    MARKS.append((name, time.time()))


def write_marks(path: str) -> None:
    """The last exit handler (registered first): every other one has run before it."""
    mark("exit_handlers_done")
    with open(path, "w") as out:
        json.dump(MARKS, out)


def timed_context(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """`original` (a context manager function), marking when it is entered and left."""

    @contextlib.contextmanager
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        mark(f"{name}_enter")
        with original(*args, **kwargs) as value:
            mark(f"{name}_entered")
            yield value
            mark(f"{name}_exit")
        mark(f"{name}_exited")

    return wrapper


def timed_call(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mark(f"{name}_start")
        try:
            return original(*args, **kwargs)
        finally:
            mark(f"{name}_end")

    return wrapper


def main(out: str, argv: list[str]) -> int:
    atexit.register(write_marks, out)
    import github_stars.cli

    mark("imported_cli")
    import github_stars.cli.run

    mark("imported_run")
    import github_stars.cli.logs
    import github_stars.cli.progress
    import github_stars.core  # noqa: F401
    from github_stars import pipeline
    from github_stars.cli import api_choice, prefect_connection

    mark("imported_pipeline")
    api_choice.api_for_run = timed_context("api_choice", api_choice.api_for_run)
    prefect_connection.prefect_for_run = timed_context(
        "prefect_choice", prefect_connection.prefect_for_run
    )
    pipeline.show_stars = timed_call("flow", pipeline.show_stars)
    code = github_stars.cli.main(argv)
    mark("main_returned")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
