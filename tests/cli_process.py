"""`python -m github_stars ARGS` in a child process, as a user runs it, for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

CLI_TIMEOUT = 240.0  # seconds: a ceiling for a busy machine, never a claim about speed


def run_cli(
    *args: str,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    timeout: float = CLI_TIMEOUT,
    without: Iterable[str] = (),
    **env: str,
) -> subprocess.CompletedProcess:
    """The command's exit code and output (as text), with `env` added to this process's
    environment and the variables named in `without` removed."""
    dropped = set(without)
    environ = {k: v for k, v in os.environ.items() if k not in dropped} | env
    done = subprocess.run(
        [sys.executable, "-m", "github_stars", *args],
        env=environ,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    done.stdout = done.stdout.decode(errors="replace")
    done.stderr = done.stderr.decode(errors="replace")
    return done
