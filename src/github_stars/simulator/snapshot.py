"""The bundled, dated repository snapshot, served in the shape of GitHub's REST API."""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

SNAPSHOT_FILE = "github_repos_snapshot.csv"
SNAPSHOT_DATE = "2026-01-24"
SNAPSHOT_SOURCE = "dylanhogg/awesome-python (commit 8da6e00), MIT License, (c) 2024 Dylan Hogg"
# Real GitHub renames whose old names still answer 301: old name -> name in the snapshot.
RENAMED_REPOS = {"kennethreitz/requests": "psf/requests"}
WEB = "https://github.com"
AVATARS = "https://avatars.githubusercontent.com"


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


@functools.cache
def owner_repo_counts() -> dict[str, int]:
    """How many snapshot repositories each (lower-case) owner has."""
    return dict(Counter(key.split("/")[0] for key in load_snapshot()))


def owner_type(login: str) -> str:
    """`Organization` if the owner has two or more repositories in the snapshot, else `User`.

    The snapshot does not say which owners are organizations; this is a deterministic guess
    (see the simulator's README).
    """
    return "Organization" if owner_repo_counts().get(login.lower(), 0) >= 2 else "User"


def owner_id(login: str) -> int:
    """A stable made-up account id: the first 32 bits of the login's SHA-256."""
    return int(hashlib.sha256(login.lower().encode()).hexdigest()[:8], 16)


def node_id(kind: str, number: int) -> str:
    """GitHub's (legacy) global node id: base64 of `<len(kind)>:<kind><id>`, e.g. `04:User1`."""
    return base64.b64encode(f"{len(kind):02d}:{kind}{number}".encode()).decode()


def owner_json(login: str, base_url: str) -> dict[str, Any]:
    """The `simple-user` object of an owner, as GitHub embeds it in a repository."""
    number = owner_id(login)
    kind = owner_type(login)
    user = f"{base_url}/users/{login}"
    return {
        "login": login,
        "id": number,
        "node_id": node_id(kind, number),
        "avatar_url": f"{AVATARS}/u/{number}?v=4",
        "gravatar_id": "",
        "url": user,
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{user}/followers",
        "following_url": f"{user}/following{{/other_user}}",
        "gists_url": f"{user}/gists{{/gist_id}}",
        "starred_url": f"{user}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{user}/subscriptions",
        "organizations_url": f"{user}/orgs",
        "repos_url": f"{user}/repos",
        "events_url": f"{user}/events{{/privacy}}",
        "received_events_url": f"{user}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


# `GET /repos/{owner}/{repo}` fields that are URL templates under the repository's API URL:
# name -> path after `/repos/{owner}/{repo}` (GitHub's RFC 6570 templates).
REPO_URL_TEMPLATES = {
    "forks_url": "/forks",
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams",
    "hooks_url": "/hooks",
    "issue_events_url": "/issues/events{/number}",
    "events_url": "/events",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "tags_url": "/tags",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages",
    "stargazers_url": "/stargazers",
    "contributors_url": "/contributors",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges",
    "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}

# Documented fields the snapshot does not know, answered with GitHub's defaults for a public,
# non-fork repository (listed in the simulator's README).
UNKNOWN_FIELD_DEFAULTS: dict[str, Any] = {
    "mirror_url": None,
    "size": 0,
    "default_branch": "main",
    "open_issues_count": 0,
    "is_template": False,
    "has_issues": True,
    "has_projects": True,
    "has_downloads": True,
    "has_wiki": True,
    "has_pages": False,
    "has_discussions": False,
    "archived": False,
    "disabled": False,
    "license": None,
    "allow_forking": True,
    "web_commit_signoff_required": False,
    "open_issues": 0,
}


def repo_json(repo: SnapshotRepo, base_url: str) -> dict[str, Any]:
    """The `GET /repos/{owner}/{repo}` body GitHub would send (its `full-repository` schema).

    Counts, dates, language, topics, description and homepage come from the snapshot; URLs
    are built on `base_url` (the API the simulator serves); what the snapshot cannot know
    gets GitHub's defaults (`UNKNOWN_FIELD_DEFAULTS`, `private`/`fork` false).
    """
    row = repo.row
    full_name = row["full_name"]
    owner, name = full_name.split("/")
    stars = int(row["stargazers_count"])
    forks = int(row["forks_count"])
    api = f"{base_url}/repos/{full_name}"
    html = f"{WEB}/{full_name}"
    owner_obj = owner_json(owner, base_url)
    body: dict[str, Any] = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": name,
        "full_name": full_name,
        "private": False,
        "owner": owner_obj,
        "html_url": html,
        "description": row["description"] or None,
        "fork": False,
        "url": api,
        **{field: api + path for field, path in REPO_URL_TEMPLATES.items()},
        "created_at": _timestamp(row["created_at"]),
        "updated_at": _timestamp(row["updated_at"]),
        "pushed_at": _timestamp(row["pushed_at"]),
        "git_url": f"git://github.com/{full_name}.git",
        "ssh_url": f"git@github.com:{full_name}.git",
        "clone_url": f"{html}.git",
        "svn_url": html,
        "homepage": row["homepage"] or None,
        "stargazers_count": stars,
        "watchers_count": stars,
        "language": row["language"] or None,
        "forks_count": forks,
        "topics": json.loads(row["topics"] or "[]"),
        "visibility": "public",
        "forks": forks,
        "watchers": stars,
        "network_count": forks,
        "subscribers_count": int(row["subscribers_count"]),
        **UNKNOWN_FIELD_DEFAULTS,
    }
    if owner_obj["type"] == "Organization":
        body["organization"] = owner_obj
    return body
