"""The API in the cache key: `AnsweringApi`, a cache policy naming which API answered.

`cache_policy=INPUTS - "api" + AnsweringApi()`: the task's inputs without the `GitHubApi`
value (its run id changes every run), plus the API's identity (`GitHubApi.identity`: its
URL, or the simulator's snapshot). Answers of one API are never served for another; the
token is in no key.
"""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import CachePolicy
from prefect.context import TaskRunContext
from prefect.utilities.hashing import hash_objects


class AnsweringApi(CachePolicy):
    """The part of a task's cache key that names the API answering it: its `api` input's
    identity, not the whole value."""

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        return hash_objects(inputs["api"].identity)
