"""`python -m github_stars server start|stop|status`: the lab's servers in the background.

A Prefect server (with its UI) and the GitHub API simulator on the lab's ports and
`PREFECT_HOME` (`make server`): every command-line run then uses them instead of starting a
temporary Prefect server and a simulator of its own, which is what makes repeated runs fast.
"""

from __future__ import annotations

import argparse

from github_stars.servers import lab
from github_stars.settings import LabPlaces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m github_stars server", description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    places = LabPlaces.from_environment()
    lab.say({"start": lab.start, "stop": lab.stop, "status": lab.status}[args.action](places))
    return 0
