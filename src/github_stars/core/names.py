"""Validate `owner/repo` names before any request is made."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from github_stars.core.errors import InvalidRepoName
from github_stars.core.results import RepoResult

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


def validate_repo_name(name: object) -> str:
    """Return `name` stripped if it is a valid `owner/repo`, else raise `InvalidRepoName`."""
    problem = name_problem(name)
    if problem:
        shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
        raise InvalidRepoName(f"{shown}: {problem}")
    return name.strip()


@dataclass
class ParsedNames:
    """Valid names (unique, first-seen order) and per-item errors for the rest."""

    given: list[str] = field(default_factory=list)
    valid: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)

    @property
    def outcomes(self) -> int:
        """How many results a run reports: one per distinct valid name and per invalid one."""
        return len(self.valid) + len(self.invalid)

    def invalid_results(self) -> list[RepoResult]:
        """The outcome of each invalid name (never sent), in input order."""
        return [RepoResult.invalid(raw, problem) for raw, problem in self.invalid.items()]

    def in_input_order(self, fetched: list[RepoResult]) -> list[RepoResult]:
        """One result per distinct name as given: `fetched` for the valid names (in any
        order), an invalid-name result for the others; a name given twice appears once."""
        by_name = {result.repo.lower(): result for result in fetched}
        invalid = dict(self.invalid)
        results = []
        for raw in map(str, self.given):
            if raw in invalid:
                results.append(RepoResult.invalid(raw, invalid.pop(raw)))
            elif raw.strip().lower() in by_name:
                results.append(by_name.pop(raw.strip().lower()))
        return results


def parse_repo_names(names: list[str]) -> ParsedNames:
    """Split `names` into valid unique names and reasons for the invalid ones.

    Duplicates (compared case-insensitively, as GitHub does) are kept once.
    """
    parsed = ParsedNames(given=list(names))
    seen: set[str] = set()
    for raw in names:
        problem = name_problem(raw)
        if problem:
            parsed.invalid[str(raw)] = problem
            continue
        name = raw.strip()
        key = name.lower()
        if key in seen:
            parsed.duplicates.append(name)
            continue
        seen.add(key)
        parsed.valid.append(name)
    return parsed
