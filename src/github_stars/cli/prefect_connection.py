"""Which Prefect server a command-line run uses, and saying so on stderr.

In order: `PREFECT_API_URL` if set; else the lab's local server if it answers (`make server`,
`python -m github_stars server start`, `make lab`); else, for a run that needs one server for
several processes (Dask, `serve`), a `prefect server start` for the run; else Prefect's
temporary server in this process, which costs 10-30 s per run. Prefect's process settings
(analytics off, start-up timeout, SQLite server settings) apply through `temporary_settings`:
the environment is not written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import prefect.settings
from prefect.settings import PREFECT_API_URL, temporary_settings

from github_stars.servers import PrefectServer, prefect_answers
from github_stars.settings import LabPlaces, prefect_api_url, prefect_process_settings

FASTER = "start one with `make server` (or `python -m github_stars server start`) for fast runs"


def process_settings() -> dict:
    """Prefect's process settings as `temporary_settings` updates."""
    return {
        getattr(prefect.settings, name): value for name, value in prefect_process_settings().items()
    }


@dataclass(frozen=True)
class PrefectConnection:
    """The Prefect server a run uses: its API URL, the server this command started (None when
    it uses another one), and the sentence that says which (its `str`)."""

    notice: str
    api_url: str | None
    server: PrefectServer | None = None

    def __str__(self) -> str:
        return self.notice


@contextlib.contextmanager
def prefect_for_run(places: LabPlaces, *, shared: bool = False) -> Iterator[PrefectConnection]:
    """Use a Prefect server for the block; yields which (its `str`: a sentence saying so).

    `shared`: the run has several processes (Dask workers) or outlives this command (`serve`),
    so it gets a real server (the lab's, or one started for the run), never a temporary one.
    """
    given = prefect_api_url()
    if given:
        with temporary_settings(process_settings()):
            yield PrefectConnection(f"Prefect server: {given} (PREFECT_API_URL).", given)
        return
    if prefect_answers(places.prefect_api_url, timeout=0.5):
        with temporary_settings(process_settings() | {PREFECT_API_URL: places.prefect_api_url}):
            notice = f"Prefect server: the local one at {places.prefect_api_url}."
            yield PrefectConnection(notice, places.prefect_api_url)
        return
    if shared:
        with (
            PrefectServer(home=places.prefect_home / "run-server") as server,
            temporary_settings(process_settings() | {PREFECT_API_URL: server.api_url}),
        ):
            notice = (
                f"Prefect server: started one for this run at {server.api_url} "
                f"({server.start_seconds:.0f} s); {FASTER}."
            )
            yield PrefectConnection(notice, server.api_url, server)
        return
    with temporary_settings(process_settings()):
        notice = f"Prefect server: a temporary one for this run (10-30 s); {FASTER}."
        yield PrefectConnection(notice, None)
