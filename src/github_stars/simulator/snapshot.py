"""The bundled, dated repository snapshot, served in the shape of GitHub's REST API."""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

SNAPSHOT_FILE = "github_repos_snapshot.csv"
SNAPSHOT_DATE = "2026-01-24"
SNAPSHOT_SOURCE = "dylanhogg/awesome-python (commit 8da6e00), MIT License, (c) 2024 Dylan Hogg"
# Real GitHub renames whose old names still answer 301: old name -> name in the snapshot.
RENAMED_REPOS = {"kennethreitz/requests": "psf/requests"}


@dataclass(frozen=True)
class SnapshotRepo:
    """One row of the snapshot with a stable numeric id (its row number)."""

    id: int
    row: dict[str, str]

    @property
    def full_name(self) -> str:
        return self.row["full_name"]


@functools.cache
def load_snapshot() -> dict[str, SnapshotRepo]:
    """Rows by lower-case full name (GitHub matches owner/repo case-insensitively)."""
    path = resources.files("github_stars.data").joinpath(SNAPSHOT_FILE)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {row["full_name"].lower(): SnapshotRepo(i + 1, row) for i, row in enumerate(rows)}


def snapshot_repo_names() -> list[str]:
    """All full names in snapshot order (most stars first)."""
    return [repo.full_name for repo in load_snapshot().values()]


def snapshot_stars() -> dict[str, int]:
    """Star counts by lower-case full name: the ground truth tests compare against."""
    return {key: int(r.row["stargazers_count"]) for key, r in load_snapshot().items()}


def _timestamp(day: str) -> str | None:
    return f"{day}T00:00:00Z" if day else None


def repo_json(repo: SnapshotRepo, base_url: str) -> dict[str, Any]:
    """The `GET /repos/{owner}/{repo}` body GitHub would send, from the snapshot's fields."""
    row = repo.row
    owner, name = row["full_name"].split("/")
    stars = int(row["stargazers_count"])
    forks = int(row["forks_count"])
    html = f"https://github.com/{row['full_name']}"
    return {
        "id": repo.id,
        "name": name,
        "full_name": row["full_name"],
        "owner": {"login": owner, "url": f"{base_url}/users/{owner}", "type": "Organization"},
        "private": False,
        "html_url": html,
        "description": row["description"] or None,
        "fork": False,
        "url": f"{base_url}/repos/{row['full_name']}",
        "homepage": row["homepage"] or None,
        "stargazers_count": stars,
        "watchers_count": stars,
        "language": row["language"] or None,
        "forks_count": forks,
        "forks": forks,
        "watchers": stars,
        "subscribers_count": int(row["subscribers_count"]),
        "topics": json.loads(row["topics"] or "[]"),
        "visibility": "public",
        "created_at": _timestamp(row["created_at"]),
        "updated_at": _timestamp(row["updated_at"]),
        "pushed_at": _timestamp(row["pushed_at"]),
    }
