"""Ports and stopping: what every server this package starts needs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path


def stop_process(
    process: subprocess.Popen, stop_signal: int, timeout: float, group: bool = False
) -> None:
    """Send `stop_signal` (to the whole process group with `group`), wait up to `timeout`
    seconds, then kill the group. Nothing happens if the process has already ended."""
    if process.poll() is not None:
        return
    if group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, stop_signal)
    else:
        process.send_signal(stop_signal)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    from github_stars.simulator.control import free_port as simulator_free_port

    return simulator_free_port()


def log_tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file ('' if it does not exist)."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""
