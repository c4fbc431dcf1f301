"""Make the README's "From day one" chart and tables from a real backfill and a month of runs.

    .venv/bin/python docs/backfill_chart.py          # -> docs/backfill.png, docs/backfill.txt

With the commands a user runs, each in this process: on the simulator's day 1, three
repositories created a few months before its snapshot (two steady, one with a launch spike on
day 13) are backfilled into a new SQLite history,
`python -m github_stars history stars.db --backfill ... --days 3`; then the finished pipeline
runs once per simulated day, `python -m github_stars ... --history stars.db`, days 1 to 30 but
for days 20 to 22 (as if `serve` had been down); then
`python -m github_stars history stars.db --chart docs/backfill.png` prints its tables and draws
the chart. Uses the Prefect server of `PREFECT_API_URL` if set (else Prefect's temporary one)
and a simulator on a free port (`GITHUB_API_URL`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from github_stars.cli.history import main as history
from github_stars.cli.run import main as run
from github_stars.servers import free_port, start_simulator

HERE = Path(__file__).parent
DAYS = 30
DOWN = range(20, 23)  # days without a run
REPOS = ["github/spec-kit", "fission-ai/OpenSpec", "karpathy/nanochat"]


def command(main: Callable[[list[str]], int], *args: str) -> str:
    """A command's `main(ARGS)` in this process: its stdout + stderr (SystemExit if it fails)."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = main(list(args))
    if code:
        raise SystemExit(f"{' '.join(args)}: exit code {code}\n{output.getvalue()}")
    return output.getvalue()


def main() -> int:
    sim = start_simulator(free_port())
    os.environ["GITHUB_API_URL"] = sim.url  # this script is the edge: the commands' API
    logging.disable(logging.INFO)  # 30 runs: no per-run lines
    try:
        with tempfile.TemporaryDirectory(prefix="backfill-chart-") as folder:
            location = str(Path(folder) / "stars.db")
            sim.set_day(1)
            day_one = command(history, location, "--backfill", *REPOS, "--days", "3")
            for day in range(1, DAYS + 1):
                if day not in DOWN:
                    sim.set_day(day)
                    command(run, *REPOS, "--history", location, "--quiet")
            month = command(history, location, "--chart", str(HERE / "backfill.png"))
    finally:
        logging.disable(logging.NOTSET)
        sim.stop()
    text = f"$ history stars.db --backfill ... --days 3\n{day_one}\n$ history stars.db ...\n{month}"
    text = text.replace(location, "stars.db").replace(sim.url, "http://127.0.0.1:<port>")
    text = text.replace(str(HERE / "backfill.png"), "docs/backfill.png")
    (HERE / "backfill.txt").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
