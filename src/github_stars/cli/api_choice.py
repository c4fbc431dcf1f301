"""Which GitHub API a command-line run talks to, and saying so on stderr."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from github_stars.settings import Settings, configured_api_url, simulator_port


@contextlib.contextmanager
def api_for_run(settings: Settings) -> Iterator[tuple[Settings, str]]:
    """`settings` pointed at the API the run uses, and a sentence saying which.

    The real API (`--live`), the one `GITHUB_API_URL` names, or the bundled simulator: the
    lab's, when one answers on its port (`make server`, `make lab`); else one started for this
    run alone on a free port, so a run that ends first never stops another run's simulator.
    """
    if settings.live:
        yield settings, "Using the live GitHub API."
        return
    if configured_api_url():
        yield settings, f"Using the GitHub API at {settings.api_url}."
        return
    from github_stars.servers import free_port, simulator_running, start_simulator
    from github_stars.simulator.snapshot import SNAPSHOT_DATE

    port = simulator_port()
    sim = start_simulator(port if simulator_running(port) else free_port())
    try:
        notice = (
            f"Using the local GitHub API simulator at {sim.url}: figures come from a snapshot "
            f"dated {SNAPSHOT_DATE}, not live (use --live for the real API)."
        )
        changed = knobs_left_changed(sim)
        if changed:  # a lesson may have left latency, faults or limits on a shared simulator
            notice += f" Its knobs differ from a healthy API's: {changed}."
        yield settings.with_changes(api_url=sim.url), notice
    finally:
        sim.stop()  # only a simulator started here stops


def knobs_left_changed(sim: Any) -> str:
    """`changed_knobs` of a running simulator ('' if it does not say: whatever answers on
    the simulator's port may not be one)."""
    import httpx

    from github_stars.simulator.control import SimulatorError

    try:
        return changed_knobs(sim.settings())
    except (httpx.HTTPError, SimulatorError, ValueError, TypeError, AttributeError):
        return ""


def changed_knobs(settings: dict[str, Any]) -> str:
    """The simulator settings that differ from their defaults, as `name=value, ...`."""
    from github_stars.simulator.knobs import SimulatorSettings

    defaults = SimulatorSettings().to_dict()
    return ", ".join(
        f"{name}={value!r}" for name, value in settings.items() if defaults.get(name) != value
    )
