"""One `serve` per deployment: each announces itself in a Prefect Variable it refreshes.

Two `serve` processes for one deployment would each pause its schedule when stopped, the
other one still serving. So a `serve` first announces itself (`github-stars-serve-<digest of
the deployment>-<id>`: its pid, host, start and last sign of life, refreshed every few
seconds while the Prefect server answers), then looks for others: if another one was seen
lately, the one that started later steps back (`serve` exits 2 saying who serves it). An
announcement not refreshed for `FRESH_SECONDS` is stale (its `serve` was killed) and is
ignored, then removed. Stopping removes its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from prefect import get_client
from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

PREFIX = "github-stars-serve-"
FRESH_SECONDS = 45.0  # several refreshes (every 10 s at most) missed: that `serve` is gone


@dataclass(frozen=True)
class Announcement:
    """What one `serve` says about itself."""

    name: str
    pid: int
    host: str
    started: float
    seen: float

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}, seen {time.time() - self.seen:.0f} s ago"


@dataclass
class ServePresence:
    """This `serve`'s announcement for `deployment` (`flow/name`)."""

    deployment: str
    serve_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.time)

    @property
    def prefix(self) -> str:
        digest = hashlib.sha256(self.deployment.encode()).hexdigest()[:16]
        return f"{PREFIX}{digest}-"

    @property
    def name(self) -> str:
        return self.prefix + self.serve_id

    def value(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": self.started,
            "seen": time.time(),
        }

    def announce(self, client: Any) -> None:
        """Create or refresh this `serve`'s announcement."""
        value = self.value()
        try:
            client.create_variable(VariableCreate(name=self.name, value=value))
        except ObjectAlreadyExists:
            client.update_variable(VariableUpdate(name=self.name, value=value))

    def others(self, client: Any) -> list[Announcement]:
        """The other `serve`s of this deployment seen lately (stale announcements removed)."""
        now, found = time.time(), []
        for variable in client.read_variables():
            if not variable.name.startswith(self.prefix) or variable.name == self.name:
                continue
            value = variable.value if isinstance(variable.value, dict) else {}
            try:
                seen = Announcement(
                    variable.name,
                    int(value["pid"]),
                    str(value["host"]),
                    float(value["started"]),
                    float(value["seen"]),
                )
            except (KeyError, TypeError, ValueError):
                continue
            if now - seen.seen > FRESH_SECONDS:
                with contextlib.suppress(ObjectNotFound):
                    client.delete_variable_by_name(variable.name)
            else:
                found.append(seen)
        return found

    def claim(self) -> Announcement | None:
        """Announce this `serve`; the other one that serves the deployment, if any (then this
        one has withdrawn: the earlier start keeps it, whatever the order of the checks)."""
        with get_client(sync_client=True) as client:
            self.announce(client)
            ahead = [
                other
                for other in self.others(client)
                if (other.started, other.name) < (self.started, self.name)
            ]
            if ahead:
                self.withdraw(client)
                return ahead[0]
        return None

    def refresh(self) -> None:
        """A sign of life (the caller ignores a Prefect server that does not answer)."""
        with get_client(sync_client=True) as client:
            self.announce(client)

    def withdraw(self, client: Any | None = None) -> None:
        """Remove this `serve`'s announcement."""
        if client is None:
            with get_client(sync_client=True) as client:
                self.withdraw(client)
            return
        with contextlib.suppress(ObjectNotFound):
            client.delete_variable_by_name(self.name)

    def alone(self) -> bool:
        """Whether no other `serve` of this deployment was seen lately."""
        with get_client(sync_client=True) as client:
            return not self.others(client)
