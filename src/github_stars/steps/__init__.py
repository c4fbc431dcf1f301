"""The pipeline as each lesson leaves it: the seed tutorial's code, one feature per step.

| step | lesson | adds |
| --- | --- | --- |
| `plain` | 00 | `fetch_stats`, `get_stars`, `show_stars`: one request after another |
| `retries` | 01 | `@task(retries=3)` on `fetch_stats` |
| `concurrent` | 02 | `.map()` in `show_stars` |
| `rate_limited` | 03 | `rate_limit("github-api")` inside `fetch_stats` |
| `cached` | 04 | `cache_policy=INPUTS, cache_expiration=timedelta(days=1)` |
| `live` | 05 | the API as a value: `Settings` in, a `GitHubApi` per run, the API in the cache key |
| `paused` | 06 | GitHub's `Retry-After` pauses every task |
| `outcomes` | 07 | every repository reported: a `RepoResult` each, bad names never sent |
| `selective_retries` | 08 | retry only what can succeed, with jittered exponential backoff |
| `at_scale` | 09 | slot units taken in batches, a bounded pool, outcomes as they finish |
| `on_dask` | 10 | `on_dask(address)`: the same flow on a Dask cluster |
| `daily` | 11 | the API's day in the cache key and a star history, one row per repository and day |

Lesson N imports step N-1 to make its problem happen, and ends where step N is. Steps 00-04
are the seed tutorial (Part 1); 05-11 are what production adds (Part 2). The finished
pipeline, `github_stars.pipeline`, is the last step.
"""

STEPS = (
    "plain",
    "retries",
    "concurrent",
    "rate_limited",
    "cached",
    "live",
    "paused",
    "outcomes",
    "selective_retries",
    "at_scale",
    "on_dask",
    "daily",
)
