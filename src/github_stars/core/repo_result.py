"""`RepoResult`: one repository's outcome, its stars or the reason it has none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from github_stars.core.errors import GitHubStarsError


@dataclass
class RepoResult:
    """One repository's outcome: its stats and stars, or the reason it failed."""

    repo: str
    stars: int | None = None
    stats: dict[str, Any] = field(default_factory=dict, repr=False)  # the API's answer
    error: str | None = None
    error_kind: str | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        """`owner/repo: N stars` or `owner/repo: error: <reason>`."""
        if self.ok:
            return f"{self.repo}: {self.stars} stars"
        return f"{self.repo}: error: {self.error}"

    @classmethod
    def failed(cls, repo: str, exc: BaseException, attempts: int = 1) -> RepoResult:
        """The outcome of a repository whose task failed with `exc` after `attempts`."""
        kind = exc.kind if isinstance(exc, GitHubStarsError) else type(exc).__name__
        reason = str(exc)
        prefix = f"{repo}: "
        if reason.lower().startswith(prefix.lower()):  # our errors start with the name
            reason = reason[len(prefix) :]
        if getattr(exc, "retryable", False) and attempts > 1:  # retried until given up
            reason += f" (gave up after {attempts} attempts)"
        return cls(repo=repo, error=reason or kind, error_kind=kind)
