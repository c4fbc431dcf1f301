"""Typed errors a caller can act on; none of them ever carries a token."""

from __future__ import annotations


class GitHubStarsError(Exception):
    """Base class of every error this package raises on purpose."""

    kind = "error"
    retryable = False


class InvalidRepoName(GitHubStarsError, ValueError):
    """The name is not `owner/repo` with GitHub's allowed characters; no request was made."""

    kind = "invalid name"


class RepoNotFound(GitHubStarsError):
    """GitHub answered 404: the repository does not exist or is private. Never retried."""

    kind = "not found"


class RateLimited(GitHubStarsError):
    """GitHub refused the request for its rate limit (403/429); `wait_seconds` says how long."""

    kind = "rate limited"
    retryable = True

    def __init__(self, message: str, wait_seconds: float) -> None:
        super().__init__(message)
        self.wait_seconds = wait_seconds


class RateLimitWaitTooLong(GitHubStarsError):
    """The API asked for a longer wait than the configured maximum; not retried."""

    kind = "rate limited"


class TransientError(GitHubStarsError):
    """A 5xx answer, a timeout or a broken connection: worth retrying with backoff."""

    kind = "transient"
    retryable = True


class BadResponse(GitHubStarsError):
    """A 2xx answer whose body is not the repository JSON we expect."""

    kind = "bad response"


class UnexpectedStatus(GitHubStarsError):
    """Any other HTTP status (e.g. 401 bad credentials, 451): reported, not retried."""

    kind = "http error"


class HistoryError(GitHubStarsError):
    """The star history cannot be opened, read or written (the store itself, not an answer):
    the run stops; rows already committed stay."""

    kind = "history"


class HistoryOfAnotherApi(HistoryError):
    """The history keeps another API's figures: a run against this API is refused before
    any request."""
