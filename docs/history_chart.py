"""Make the README's star-history chart and table from a real run.

    .venv/bin/python docs/history_chart.py            # -> docs/history.png, docs/history.txt

Thirty simulated days (the simulator's calendar) of the five repositories of lesson 11 (two
steady, two with a launch spike, one losing stars) run through the finished pipeline
(`github_stars.pipeline.show_stars`, one run per day) into a new SQLite history; then the
`history` command prints its tables and draws the chart, as a user would:
`python -m github_stars history stars.db --chart docs/history.png`. Uses the Prefect server of
`PREFECT_API_URL` if set (else Prefect's temporary one) and a simulator on a free port.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import tempfile
from pathlib import Path

from github_stars.cli.history import main as history
from github_stars.pipeline import show_stars
from github_stars.servers import free_port, start_simulator
from github_stars.settings import Settings
from github_stars.simulator.calendar import example_repos

HERE = Path(__file__).parent
DAYS = 30
REPOS = [*example_repos("steady", 2), *example_repos("spike", 2), *example_repos("losing", 1)]


def main() -> int:
    sim = start_simulator(free_port())
    logging.disable(logging.INFO)  # 30 runs: no per-run lines
    try:
        settings = Settings.from_environment().with_changes(api_url=sim.url)
        with tempfile.TemporaryDirectory(prefix="history-chart-") as folder:
            location = str(Path(folder) / "stars.db")
            for day in range(1, DAYS + 1):
                sim.set_day(day)
                with contextlib.redirect_stdout(io.StringIO()):
                    results = show_stars(REPOS, settings, history=location)
                if not all(r.ok for r in results):
                    print(f"day {day}: {[r.line() for r in results if not r.ok]}", file=sys.stderr)
                    return 1
            table = io.StringIO()
            with contextlib.redirect_stdout(table):
                code = history([location, "--chart", str(HERE / "history.png")])
    finally:
        logging.disable(logging.NOTSET)
        sim.stop()
    text = table.getvalue().replace(location, "stars.db")
    (HERE / "history.txt").write_text(text)
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
