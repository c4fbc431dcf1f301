"""Stopping the servers the lab starts (each in a process group of its own)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


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
