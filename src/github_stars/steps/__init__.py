"""The pipeline as each lesson leaves it: the seed tutorial's code, one feature per step.

| step | lesson | adds |
| --- | --- | --- |
| `plain` | 00 | `fetch_stats`, `get_stars`, `show_stars`: one request after another |
| `retries` | 01 | `@task(retries=3)` on `fetch_stats` |
| `concurrent` | 02 | `.map()` in `show_stars` |
| `rate_limited` | 03 | `rate_limit("github-api")` inside `fetch_stats` |
| `cached` | 04 | `cache_policy=INPUTS, cache_expiration=timedelta(days=1)` |

Lesson N imports step N-1 to make its problem happen, and ends where step N is. The finished
pipeline (`github_stars.pipeline`) is `cached` plus what production needs (lesson 05).
"""

STEPS = ("plain", "retries", "concurrent", "rate_limited", "cached")
