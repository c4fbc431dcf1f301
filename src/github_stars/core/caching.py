"""The API in the cache key: `ANSWERING_API`, a cache policy naming which API answered.

`cache_policy=INPUTS - "api" + ANSWERING_API`: the task's inputs without the `GitHubApi`
object (its run id changes every run), plus the API's identity (`GitHubApi.identity`: its
URL, or the simulator's snapshot). Answers of one API are never served for another; the
token is in no key.
"""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import CacheKeyFnPolicy
from prefect.context import TaskRunContext
from prefect.utilities.hashing import hash_objects


def answering_api_key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    """The cache-key part of the task's `api` parameter: the API's identity."""
    return hash_objects(parameters["api"].identity)


ANSWERING_API = CacheKeyFnPolicy(cache_key_fn=answering_api_key)
