"""Validate `owner/repo` names before any request is made."""

from __future__ import annotations

import re

from github_stars.core.errors import InvalidRepoName

# GitHub logins: 1-39 alphanumerics or hyphens, not starting with a hyphen. New logins may
# not end with one or hold two in a row, but older ones do (e.g. `petarv-`), and they still
# name real repositories.
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
# Repository names: 1-100 of ASCII letters, digits, '.', '-', '_'; '.' and '..' are reserved.
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")


def name_problem(name: object) -> str | None:
    """Why `name` is not a valid `owner/repo` (None when it is)."""
    if not isinstance(name, str):
        return f"expected a string like 'owner/repo', got {type(name).__name__}"
    text = name.strip()
    if not text:
        return "empty name: expected 'owner/repo'"
    if not text.isascii():
        return "invalid name: only ASCII letters, digits, '.', '-' and '_' are allowed"
    parts = text.split("/")
    if len(parts) != 2:
        return "invalid name: expected exactly one '/' as in 'owner/repo'"
    owner, repo = parts
    if not _OWNER.fullmatch(owner):
        return "invalid name: owner must be 1-39 letters, digits or hyphens, not starting with one"
    if not _REPO.fullmatch(repo) or repo in {".", ".."}:
        return "invalid name: repository must be 1-100 letters, digits, '.', '-' or '_'"
    return None


def shown_name(name: object) -> str:
    """`name` as an error message shows it: as given if short and printable, else its repr."""
    if isinstance(name, str) and name.isprintable() and len(name) <= 60:
        return name
    text = repr(name)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_repo_name(name: object) -> str:
    """Return `name` stripped if it is a valid `owner/repo`, else raise `InvalidRepoName`
    (its message starts with the name, as every error about a repository does)."""
    problem = name_problem(name)
    if problem:
        raise InvalidRepoName(f"{shown_name(name)}: {problem}")
    return name.strip()


def distinct_names(names: list[str]) -> list[str]:
    """`names` without repeats, in first-seen order: a valid name stripped and compared
    case-insensitively (as GitHub compares them), any other entry as given."""
    seen: set[str] = set()
    distinct = []
    for raw in names:
        valid = name_problem(raw) is None
        name = raw.strip() if valid else raw
        key = name.lower() if valid else name
        if key not in seen:
            seen.add(key)
            distinct.append(name)
    return distinct
