"""The pipeline core: what the lessons' steps and the command line both import.

It never imports the command line (`github_stars.cli`) or the lab (`github_stars.lab`).
"""

from github_stars.core.api import GitHubApi
from github_stars.core.caching import AnsweringApi
from github_stars.core.client import RequestCounts
from github_stars.core.errors import (
    BadResponse,
    GitHubStarsError,
    HistoryError,
    HistoryOfAnotherApi,
    InvalidRepoName,
    RateLimited,
    RateLimitWaitTooLong,
    RepoNotFound,
    TransientError,
    UnexpectedStatus,
)
from github_stars.core.names import distinct_names, validate_repo_name
from github_stars.core.observers import RunObserver, notify, observing
from github_stars.core.rate_limits import ensure_rate_limit
from github_stars.core.repo_result import RepoResult
from github_stars.core.retrying import retry_if_transient
from github_stars.core.star_history import StarHistory, StarRecord, open_history
from github_stars.settings import DEFAULT_REPOS, RateBudget, Settings

__all__ = [
    "AnsweringApi",
    "DEFAULT_REPOS",
    "BadResponse",
    "GitHubApi",
    "GitHubStarsError",
    "HistoryError",
    "HistoryOfAnotherApi",
    "InvalidRepoName",
    "RateBudget",
    "RateLimitWaitTooLong",
    "RateLimited",
    "RepoNotFound",
    "RepoResult",
    "RequestCounts",
    "RunObserver",
    "Settings",
    "StarHistory",
    "StarRecord",
    "TransientError",
    "UnexpectedStatus",
    "distinct_names",
    "ensure_rate_limit",
    "notify",
    "observing",
    "open_history",
    "retry_if_transient",
    "validate_repo_name",
]
