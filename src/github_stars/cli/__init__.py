"""The command line: `python -m github_stars [COMMAND] ...`, around the pipeline.

| command | module | what it does |
| --- | --- | --- |
| (none) | `run` | run the finished pipeline once on the repositories given |
| `serve` | `serve` | serve it as a deployment on a schedule, keeping a star history |
| `history` | `history` | the star history: a table, top movers, CSV, a chart |
| `server` | `server` | start, stop or ask about the lab's servers in the background |

The flow and its task know nothing of this: arguments, progress, CSV/JSON and the Dask
cluster stay here.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from github_stars.cli.stopping import StopSignals

COMMANDS = {"serve": "serve", "history": "history", "server": "server"}
STOPPED_STARTING = "Stopped during start-up"


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the command named first, else run the pipeline once. (`serve` run as the
    program, `argv` None, serves from a child in a session of its own: `in_own_session`.)"""
    program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:  # stop signals handled before the command imports Prefect
        from github_stars.cli.stopping import in_own_session, stoppable

        def serving() -> int:
            return stoppable(lambda signals: _serve(argv[1:], signals), STOPPED_STARTING)

        return in_own_session(serving) if program else serving()
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(f"github_stars.cli.{COMMANDS[argv[0]]}")
        return module.main(argv[1:])
    from github_stars.cli.run import main as run

    return run(argv)


def _serve(argv: list[str], signals: StopSignals) -> int:
    from github_stars.cli.serve import serve

    return serve(argv, signals)


__all__ = ["main"]
