"""`python -m github_stars server ...`: the servers the lessons and repeated runs use.

    python -m github_stars server start | stop | status    # make server: in the background
    python -m github_stars server run -- jupyter lab ...   # binder/start: make lab, make book
    python -m github_stars server postgres [-- COMMAND]    # a Prefect server on PostgreSQL

The lab's servers (`servers.lab_servers`) are a Prefect server (with its UI) and the GitHub API
simulator on the lab's ports and `PREFECT_HOME`: every command-line run then uses them instead
of starting a temporary Prefect server and a simulator of its own, which makes repeated runs
fast. `postgres` starts a throw-away PostgreSQL cluster and a Prefect server on it
(`servers.postgres`), for runs of thousands of repositories.
"""

from __future__ import annotations

import argparse

from github_stars.servers import lab_servers
from github_stars.settings import LabPlaces

ACTIONS = ["start", "stop", "status", "run", "postgres", "hold"]  # hold: `start`'s background


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m github_stars server",
        description=__doc__.split("\n\n")[0],
        epilog="`hold` is what `start` leaves running in the background.",
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    places = LabPlaces.from_environment()
    if args.action == "run":
        if not command:
            parser.error("run needs a command: run -- jupyter lab ...")
        return lab_servers.run(command, places)
    if args.action == "postgres":
        from github_stars.servers.postgres import run_on_postgres

        return run_on_postgres(command)
    if args.action == "hold":
        lab_servers.hold(places)
        return 0
    actions = {"start": lab_servers.start, "stop": lab_servers.stop, "status": lab_servers.status}
    lab_servers.say(actions[args.action](places))
    return 0
