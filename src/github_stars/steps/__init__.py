"""The pipeline as each lesson leaves it: the seed tutorial's code, one feature per step.

| step | lesson | adds (Prefect capability) |
| --- | --- | --- |
| `plain` | 00 | `fetch_stats`, `get_stars`, `show_stars` (tasks and flows) |
| `retries` | 01 | `@task(retries=3)` on `fetch_stats` (retries) |
| `concurrent` | 02 | `.map()` in `show_stars` (task runners) |
| `rate_limited` | 03 | `rate_limit("github-api")` in `fetch_stats` (global concurrency limits) |
| `cached` | 04 | `cache_policy=INPUTS, cache_expiration=timedelta(days=1)` (caching) |
| `live` | 05 | the run's `Settings`, given to every task (flow parameters) |
| `one_client` | 06 | one `GitHubApi` per run, the API in the key (cache policies composed) |
| `paused` | 07 | GitHub's `Retry-After` pauses every task (retries that wait) |
| `outcomes` | 08 | a `RepoResult` from each task run's final state (futures and states) |
| `selective_retries` | 09 | retry what can succeed (`retry_condition_fn`, backoff, jitter) |
| `at_scale` | 10 | a bounded pool, outcomes as they finish (task runners, `as_completed`) |
| `batched` | 11 | slots of the run's own limit, in batches (`rate_limit(occupy=...)`) |
| `new_day` | 12 | the API's day as an input of `fetch_stats` (cache keys) |
| `daily` | 13 | a star history, a row per repository and day (deployments: `serve`) |

Lesson N imports step N-1 to make its problem happen, and ends where step N is. Steps 00-04
are the seed tutorial (Part 1); 05-13 are what production adds (Part 2). The finished
pipeline, `github_stars.pipeline`, is the last step. `on_dask` belongs to the optional lesson
"Scale out on Dask": the finished pipeline on a Dask cluster.
"""

STEPS = (
    "plain",
    "retries",
    "concurrent",
    "rate_limited",
    "cached",
    "live",
    "one_client",
    "paused",
    "outcomes",
    "selective_retries",
    "at_scale",
    "batched",
    "new_day",
    "daily",
)
OPTIONAL_STEPS = ("on_dask",)
