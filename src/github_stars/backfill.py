"""Backfill the star history from the API's own: a row for every day back to the first star.

    backfill_stars(["psf/requests"], settings, history="stars.db")   # a Prefect flow

GitHub's `GET /repos/{owner}/{repo}/stargazers/history` (REST API version 2026-03-10) answers
the stars given on each day of a repository's life: one object per week, newest first,
`PER_PAGE` weeks a page, the next page named by the `Link` header. One task per repository
asks `GET /repos/{owner}/{repo}/stargazers/count` (today's count), then walks the pages, with
the pipeline's resilience: the run's `GitHubApi` (its client, token rule and API version),
its rate limit (`take_request_slot`), GitHub's pause (`wait_out_pause`, `pause`), Prefect's
retries of what can succeed with exponential backoff, and Prefect's cache keyed by the inputs,
the answering API and the API's day (a new day asks again), and the task's source.

Each day from the first star to the count's day gets a `backfilled` row: the count minus the
stars given since that day. An estimate: the history reports stars given, not taken back, so
the further back a day, the more un-stars it misses (and it is never below 0). A repository's
rows are written in one transaction as its task finishes; the store keeps every observed row
(`core.star_history`), so a backfill fills what the daily runs did not see.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from prefect import flow, task, unmapped
from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from github_stars.core import (
    AnsweringApi,
    BadResponse,
    GitHubApi,
    RateLimited,
    RepoResult,
    Settings,
    StarHistory,
    StarRecord,
    notify,
    open_history,
    retry_if_transient,
    validate_repo_name,
)
from github_stars.core.client import MAX_BODY_BYTES, count_problem, get_answer
from github_stars.core.history_records import BACKFILLED

PER_PAGE = 30  # weeks a page, as GitHub's documented example asks
MAX_PAGES = 1000  # 30,000 weeks: an API that never ends its pages is a bad answer
WEEK_DAYS = 7
TASK_THREADS = 16  # a bounded pool, as the daily pipeline's: a steady stream of task runs


@dataclass(frozen=True)
class StarHistoryAnswer:
    """What the API says of one repository: `count` stars at `counted_at` (its answer's
    `Date`), and `given[i]` stars given on day `first_day + i`, through `counted_at`'s day
    (`first_day` None: no star given)."""

    repo: str
    count: int
    counted_at: datetime
    first_day: date | None
    given: tuple[int, ...]

    def estimates(self) -> Iterator[tuple[date, int]]:
        """Each day's estimated stars, newest first: the count minus the stars given since."""
        stars = self.count
        for offset in range(len(self.given) - 1, -1, -1):
            yield self.first_day + timedelta(days=offset), max(stars, 0)
            stars -= self.given[offset]

    def records(self, api: str) -> list[StarRecord]:
        """The backfilled rows of `api`'s store: one per day from the first star."""
        return [
            StarRecord(day, self.repo, stars, None, None, self.counted_at, api, BACKFILLED)
            for day, stars in self.estimates()
        ]


# --- requests --------------------------------------------------------------------------------
def _get(api: GitHubApi, name: str, url: str) -> httpx.Response:
    """One request within the run's rate limit and GitHub's pause: a 2xx answer, or a typed
    error (a refusal pauses every task of the run, as in the daily pipeline)."""
    api.take_request_slot()  # the run's own limit; one round trip for many waiting tasks
    api.wait_out_pause(name)  # a pause GitHub asked for holds every task
    try:
        return get_answer(api.resources.http, url, name)
    except RateLimited as refusal:
        api.pause(refusal)  # every task waits as long as GitHub asked; then Prefect retries
        raise


def _json(response: httpx.Response, name: str, what: str) -> Any:
    size = len(response.content)
    if size > MAX_BODY_BYTES:
        raise BadResponse(f"{name}: {what} is too large ({size} bytes)")
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        kind = response.headers.get("Content-Type", "unknown content type")
        raise BadResponse(f"{name}: {what} is not valid JSON ({kind}, {size} bytes)") from exc


def _count(response: httpx.Response, name: str) -> int:
    body = _json(response, name, "the stargazer count")
    problem = count_problem(body, "count", required=True) if isinstance(body, dict) else None
    if not isinstance(body, dict) or problem:
        raise BadResponse(f"{name}: the stargazer count {problem or 'is not a JSON object'}")
    return body["count"]


def _answered_at(response: httpx.Response, api: GitHubApi) -> datetime:
    """When the API answered: its `Date` (UTC), else the API's clock asked anew."""
    try:
        moment = parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError):
        return api.now()
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)


def _week_problem(item: object, before: int | None) -> str | None:
    """Why `item` is not a week of stars newer pages did not have (None when it is): `week` a
    Unix midnight older than `before`, `days` seven counts, `total` their sum."""
    if not isinstance(item, dict):
        return "has a week that is not a JSON object"
    days = item.get("days")
    if not isinstance(days, list) or len(days) != WEEK_DAYS:
        return f"has a week without a list of {WEEK_DAYS} 'days'"
    counts = {field: item[field] for field in ("week", "total") if field in item}
    counts |= {f"days[{n}]": stars for n, stars in enumerate(days)}
    for field in ("week", "total", *(f"days[{n}]" for n in range(WEEK_DAYS))):
        problem = count_problem(counts, field, required=True)
        if problem:
            return problem.removeprefix("response ")
    week = counts["week"]
    if week % 86400:
        return f"has a week ({week}) that does not start at midnight UTC"
    if sum(days) != item["total"]:
        return f"has a week ({week}) whose total {item['total']} is not the sum of its days"
    if before is not None and week >= before:
        return f"has a week ({week}) that is not older than the one before it"
    return None


def _weeks(response: httpx.Response, name: str, before: int | None) -> list[tuple[int, list]]:
    """A page's `(week, days)`, newest first, each checked (`_week_problem`); `before`: the
    week before the page (None for the first)."""
    body = _json(response, name, "the star history")
    if not isinstance(body, list):
        raise BadResponse(f"{name}: the star history is not a JSON array of weeks")
    weeks = []
    for item in body:
        problem = _week_problem(item, before)
        if problem:
            raise BadResponse(f"{name}: the star history {problem}")
        before = item["week"]
        weeks.append((before, item["days"]))
    return weeks


def _next_page(response: httpx.Response, api: GitHubApi, name: str) -> str | None:
    """The `next` page's URL, if any; one outside the API is refused (never sent the token)."""
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    target, base = httpx.URL(link), httpx.URL(api.settings.api_url + "/")
    same = (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
    if not same or not target.path.startswith(base.path):
        raise BadResponse(f"{name}: the star history's next page is outside the API")
    return link


@task(
    retries=3,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
    # The pipeline's key, and this task's source: its inputs are those of the daily
    # `fetch_stats`, whose answers (a repository's JSON) must never be taken for this one's.
    cache_policy=INPUTS - "api" + AnsweringApi() + TASK_SOURCE,
    cache_expiration=timedelta(days=1),
    task_run_name="fetch_star_history-{github_repo}",
)
def fetch_star_history(github_repo: str, api: GitHubApi, day: date) -> StarHistoryAnswer:
    """Task: a repository's stars today and the stars given on each day of its life"""
    name = validate_repo_name(github_repo)  # a bad name fails here, without a request
    counted = _get(api, name, f"/repos/{name}/stargazers/count")
    count, counted_at = _count(counted, name), _answered_at(counted, api)
    given: dict[date, int] = {}
    url: str | None = f"/repos/{name}/stargazers/history?per_page={PER_PAGE}&page=1"
    before = None
    for _ in range(MAX_PAGES):
        page = _get(api, name, url)
        for week, days in _weeks(page, name, before):
            sunday = datetime.fromtimestamp(week, UTC).date()
            given.update((sunday + timedelta(days=n), stars) for n, stars in enumerate(days))
            before = week
        url = _next_page(page, api, name)
        if url is None:
            break
    else:
        raise BadResponse(f"{name}: the star history has more than {MAX_PAGES} pages")
    last = counted_at.date()  # stars given after the count are not in it
    starred = sorted(d for d, stars in given.items() if stars and d <= last)
    if not starred:
        return StarHistoryAnswer(github_repo, count, counted_at, None, ())
    span = range((last - starred[0]).days + 1)
    per_day = tuple(given.get(starred[0] + timedelta(days=n), 0) for n in span)
    return StarHistoryAnswer(github_repo, count, counted_at, starred[0], per_day)


# --- the flow ----------------------------------------------------------------------------------
def backfill_line(result: RepoResult) -> str:
    """`owner/repo: N days backfilled (FIRST to LAST, estimates); M stars on LAST`, or why not."""
    if not result.ok:
        return result.line()
    days = result.stats["days"]
    if not days:
        return f"{result.repo}: no star given yet; {result.stars:,} stars"
    first, last = result.stats["first_day"], result.stats["last_day"]
    return (
        f"{result.repo}: {days:,} days backfilled ({first} to {last}, estimates); "
        f"{result.stars:,} stars on {last}"
    )


def keep_backfill(repo: str, answer: PrefectFuture, history: StarHistory) -> RepoResult:
    """One repository's outcome; its rows written in one transaction if it has any."""
    found = answer.result(raise_on_failure=False)  # a failed run's exception, not raised
    if isinstance(found, BaseException):
        return RepoResult.failed(repo, found, attempts=fetch_star_history.retries + 1)
    cached = answer.state.name == "Cached"
    records = found.records(history.api)
    history.record_many(records, replace=not cached)
    stats = {
        "days": len(records),
        "first_day": found.first_day,
        "last_day": found.counted_at.date(),
    }
    return RepoResult(repo, stars=found.count, stats=stats, cached=cached)


@flow(log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=TASK_THREADS))
def backfill_stars(github_repos: list[str], settings: Settings, history: str) -> list[RepoResult]:
    """Flow: Backfill the star history of GitHub repos from the API's own"""
    backoff = exponential_backoff(backoff_factor=settings.retry_delay)
    fetch = fetch_star_history.with_options(retry_delay_seconds=backoff)
    with GitHubApi.open(settings) as api, open_history(history, api.identity) as star_history:
        day = api.today()  # an input of the task: each day has its own cache entries
        futures = fetch.map(github_repos, api=unmapped(api), day=unmapped(day))
        repo_of = dict(zip(futures, github_repos, strict=True))
        outcomes = {}
        for answer in as_completed(futures):  # in the order they finish
            outcomes[answer] = keep_backfill(repo_of[answer], answer, star_history)
            notify(outcomes[answer])  # e.g. the command line's progress display
    results = [outcomes[answer] for answer in futures]  # in input order
    for result in results:
        print(backfill_line(result))
    return results
