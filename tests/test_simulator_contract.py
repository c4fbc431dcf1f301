"""The simulator keeps GitHub's published contract.

Every kind of answer is checked against GitHub's own OpenAPI description of the operations the
pipeline and the backfill use (a vendored subset, see tests/data/README.md): the body validates
against the documented schema (`full-repository`, `basic-error`, `rate-limit-overview`, the
stargazer count), GitHub's headers are on every answer, conditional requests are counted as
GitHub counts them, and the client, the pipeline and the backfill read GitHub's documented
example answers the same way as a simulator answer. The star history, not in that description
yet, is pinned to the shape GitHub was observed to answer (`OBSERVED_WEEK`).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import jsonschema
import pytest

from github_stars.backfill import _count, _weeks
from github_stars.core import BadResponse, RepoResult
from github_stars.core.client import parse_repo
from github_stars.reports import results_frame
from github_stars.simulator.calendar import example_repos, stars_on
from github_stars.simulator.snapshot import SNAPSHOT_DATE, load_snapshot, repo_json

SPEC = json.loads((Path(__file__).parent / "data" / "github_openapi_subset.json").read_text())
EXAMPLE_REPO = SPEC["examples"]["repos_get_200_default_response"]
EXAMPLE_RATE_LIMIT = SPEC["examples"]["rate_limit_get_200_default"]
EXAMPLE_COUNT = SPEC["examples"]["activity_get_stargazer_count_for_repo_200_default"]
UA = {"User-Agent": "github-stars-contract-tests"}
TOKEN = {"Authorization": "Bearer not-a-real-token"}
RATE_HEADERS = ("limit", "remaining", "used", "reset", "resource")
VARY_TOKENS = {
    "accept",
    "authorization",
    "cookie",
    "x-github-otp",
    "accept-encoding",
    "x-requested-with",
}
REQUEST_ID = re.compile(r"^[0-9A-F]{4,}(:[0-9A-F]{4,}){4}$")
# Repositories across the snapshot, with empty language, homepage, description and topics.
REPOS = [
    "psf/requests",
    "PrefectHQ/prefect",
    "multica-ai/andrej-karpathy-skills",  # no language, no homepage, no topics
    "deepseek-ai/DeepSeek-V3",  # no description, no homepage
    "obra/superpowers",  # an owner with one repository in the snapshot
]


def schema(operation: str, status: int) -> dict:
    return SPEC[operation][str(status)]["content"]["application/json"]["schema"]


FULL_REPOSITORY = schema("repos_get", 200)
BASIC_ERROR = schema("repos_get", 404)
RATE_LIMIT_OVERVIEW = schema("rate_limit_get", 200)
STARGAZER_COUNT = schema("activity_get_stargazer_count_for_repo", 200)


def violations(body: object, against: dict) -> list[str]:
    """Where `body` breaks the schema (types, required fields, enums and formats)."""
    validator = jsonschema.Draft7Validator(
        against, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
        for e in validator.iter_errors(body)
    ]


def get(sim, path: str, **headers: str) -> httpx.Response:
    return httpx.get(sim.url + path, headers=UA | headers, timeout=10)


def get_without_user_agent(sim, path: str) -> httpx.Response:
    with httpx.Client(timeout=10) as http:
        del http.headers["User-Agent"]
        return http.get(sim.url + path)


def row(key: str) -> dict[str, str]:
    return load_snapshot()[key.lower()].row


def test_the_vendored_description_is_the_documented_one():
    assert SPEC["openapi_info_version"] == "23.0.2"
    assert "Octokit contributors" in SPEC["source"]
    assert len(FULL_REPOSITORY["required"]) == 75
    assert {"core", "search"} <= set(RATE_LIMIT_OVERVIEW["properties"]["resources"]["required"])
    # GitHub's own example answers are valid by the description they come with, except that
    # the repository example (and its `source`) omits the required `language`.
    assert sorted(violations(EXAMPLE_REPO, FULL_REPOSITORY)) == [
        "(body): 'language' is a required property",
        "source: 'language' is a required property",
    ]
    assert violations(EXAMPLE_RATE_LIMIT, RATE_LIMIT_OVERVIEW) == []
    assert STARGAZER_COUNT["required"] == ["count"]
    assert violations(EXAMPLE_COUNT, STARGAZER_COUNT) == []
    assert schema("activity_get_stargazer_count_for_repo", 404) == BASIC_ERROR


def test_the_chosen_repositories_cover_empty_snapshot_fields():
    rows = [row(name) for name in REPOS]
    for column in ("language", "homepage", "description"):
        assert any(r[column] == "" for r in rows), column
    assert any(json.loads(r["topics"]) == [] for r in rows)


# --- 200: full-repository -------------------------------------------------------------------
@pytest.mark.parametrize("name", REPOS)
def test_repository_answer_is_a_full_repository(sim, name):
    reply = get(sim, f"/repos/{name}")
    assert reply.status_code == 200
    body = reply.json()
    assert violations(body, FULL_REPOSITORY) == []
    assert set(FULL_REPOSITORY["required"]) <= set(body)

    # Counts, dates, topics, texts: exactly the snapshot's.
    source = row(name)
    full_name = source["full_name"]
    owner, repo = full_name.split("/")
    assert body["full_name"] == full_name and body["name"] == repo
    assert body["owner"]["login"] == owner == owner.lower()  # the snapshot's owners are lower-case
    for field in ("stargazers_count", "forks_count", "subscribers_count"):
        assert body[field] == int(source[field]), field
    assert body["watchers_count"] == body["watchers"] == body["stargazers_count"]
    assert body["forks"] == body["network_count"] == body["forks_count"]
    assert body["language"] == (source["language"] or None)
    assert body["description"] == (source["description"] or None)
    assert body["homepage"] == (source["homepage"] or None)
    assert body["topics"] == json.loads(source["topics"])
    for field in ("created_at", "updated_at", "pushed_at"):
        assert body[field] == f"{source[field]}T00:00:00Z", field

    # URLs and templates on the API the simulator serves.
    api = f"{sim.url}/repos/{full_name}"
    assert body["url"] == api
    assert body["archive_url"] == api + "/{archive_format}{/ref}"
    assert body["contents_url"] == api + "/contents/{+path}"
    assert body["owner"]["url"] == f"{sim.url}/users/{owner}"
    assert body["html_url"] == f"https://github.com/{full_name}"
    assert body["clone_url"] == f"https://github.com/{full_name}.git"
    templates = [
        k
        for k, v in FULL_REPOSITORY["properties"].items()
        if k.endswith("_url")
        and k not in ("html_url", "svn_url", "clone_url", "git_url", "ssh_url", "mirror_url")
        and v.get("type") == "string"
    ]
    assert all(body[k].startswith(api + "/") or body[k] == api for k in templates if k in body)

    # What the snapshot cannot know: GitHub's defaults (see the simulator's README).
    assert body["license"] is None
    assert body["default_branch"] == "main"
    assert body["open_issues_count"] == body["open_issues"] == 0
    assert body["size"] == 0
    assert body["has_issues"] is True and body["archived"] is False and body["private"] is False
    assert body["owner"]["type"] in ("User", "Organization")
    assert body.get("organization", body["owner"]) == body["owner"]


def test_repository_answer_is_deterministic(sim):
    first = get(sim, "/repos/psf/requests")
    again = get(sim, "/repos/PSF/Requests")
    assert first.json() == again.json()
    assert first.headers["etag"] == again.headers["etag"]
    body = first.json()
    digest = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()
    assert first.headers["etag"] == f'"{digest}"'  # the ETag is the body's


# An HTTP `Date` in RFC 7231's preferred format (IMF-fixdate), as GitHub sends it.
HTTP_DATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} GMT$"
)


@pytest.mark.parametrize("shape", ["steady", "spike", "losing"])
def test_calendar_answers_are_full_repositories(sim, shape):
    """On simulated days the answers keep the contract: the day's counts, GitHub's mirrors."""
    for name in example_repos(shape, 2):
        for day in (0, 1, 5, 12, 20, 30):
            sim.set_day(day)
            reply = get(sim, f"/repos/{name}")
            body = reply.json()
            assert violations(body, FULL_REPOSITORY) == [], (name, day)
            assert body["stargazers_count"] == stars_on(name, day), (name, day)
            assert body["watchers_count"] == body["watchers"] == body["stargazers_count"]
            assert body["forks"] == body["network_count"] == body["forks_count"]
            assert HTTP_DATE.match(reply.headers["date"]), reply.headers["date"]
    rate = get(sim, "/rate_limit")
    assert violations(rate.json(), RATE_LIMIT_OVERVIEW) == []
    assert HTTP_DATE.match(rate.headers["date"])
    sim.reset(settings=True)


def test_owner_type_is_organization_for_owners_of_several_repositories(sim):
    owners = [key.split("/")[0] for key in load_snapshot()]
    assert owners.count("psf") >= 2 and owners.count("obra") == 1
    psf = get(sim, "/repos/psf/requests").json()
    obra = get(sim, "/repos/obra/superpowers").json()
    assert psf["owner"]["type"] == "Organization" and psf["organization"] == psf["owner"]
    assert obra["owner"]["type"] == "User" and "organization" not in obra


def test_every_snapshot_repository_is_a_full_repository():
    """All 2,787 bodies, built directly: only `homepage` may break its `uri` format, because
    GitHub answers the homepage as its owner typed it (a few rows have no scheme)."""
    validator = jsonschema.Draft7Validator(
        FULL_REPOSITORY, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    problems = {}
    for key, repo in load_snapshot().items():
        errors = [
            e
            for e in validator.iter_errors(repo_json(repo, "http://127.0.0.1:8765"))
            if not (list(e.absolute_path) == ["homepage"] and e.validator == "format")
        ]
        if errors:
            problems[key] = [e.message for e in errors]
    assert problems == {}


def test_githubs_example_and_a_simulator_answer_give_the_same_stars_and_row(sim):
    """The client and the pipeline read GitHub's documented answer as they read ours."""

    def stars_and_row(body: dict, name: str) -> tuple[int, dict]:
        parsed = parse_repo(httpx.Response(200, json=body), name)
        frame = results_frame(
            [RepoResult(repo=name, stars=parsed["stargazers_count"], stats=parsed)]
        )
        assert len(frame) == 1
        return parsed["stargazers_count"], frame.iloc[0].to_dict()

    def expected(body: dict, name: str) -> dict:
        return {
            "repo": name,
            "stars": body["stargazers_count"],
            "forks": body["forks_count"],
            "watchers": body["subscribers_count"],
            "language": body.get("language"),
            "created_at": body["created_at"],
            "error": None,
            "cached": False,
        }

    example_stars, example_row = stars_and_row(EXAMPLE_REPO, "octocat/Hello-World")
    assert example_stars == EXAMPLE_REPO["stargazers_count"] == 80
    assert example_row == expected(EXAMPLE_REPO, "octocat/Hello-World")
    assert (example_row["forks"], example_row["watchers"]) == (9, 42)

    ours = get(sim, "/repos/psf/requests").json()
    our_stars, our_row = stars_and_row(ours, "psf/requests")
    assert our_stars == int(row("psf/requests")["stargazers_count"])
    assert our_row == expected(ours, "psf/requests")
    # The fields the pipeline reads have the same types in both answers.
    for field in ("stargazers_count", "forks_count", "subscribers_count", "created_at"):
        assert type(ours[field]) is type(EXAMPLE_REPO[field]), field


# --- errors: basic-error --------------------------------------------------------------------
def error_answers(sim) -> dict[str, httpx.Response]:
    """One answer of every error kind the simulator gives (knobs reset between them)."""
    answers = {}

    def fault(status: int | str) -> httpx.Response:
        sim.reset(settings=True)
        sim.configure(faults={"psf/requests": [status]})
        return get(sim, "/repos/psf/requests")

    for status in (401, 403, 429, 451, 500, 502, 503):
        answers[f"{status} (fault)"] = fault(status)
    sim.reset(settings=True)
    answers["301 renamed"] = get(sim, "/repos/kennethreitz/requests")
    answers["404 unknown repository"] = get(sim, "/repos/nobody/nothing")
    answers["404 unknown repository id"] = get(sim, "/repositories/999999999")
    answers["404 unknown repository, count"] = get(sim, "/repos/nobody/nothing/stargazers/count")
    answers["404 unknown repository, history"] = get(sim, "/repos/nobody/x/stargazers/history")
    answers["404 unknown repository id, history"] = get(
        sim, "/repositories/999999999/stargazers/history"
    )
    answers["404 unknown route"] = get(sim, "/repos/psf/requests/nested/path")
    answers["405 wrong method"] = httpx.post(sim.url + "/repos/psf/requests", headers=UA)
    answers["403 no User-Agent"] = get_without_user_agent(sim, "/repos/psf/requests")
    answers["403 no User-Agent, /rate_limit"] = get_without_user_agent(sim, "/rate_limit")
    for status in (403, 429):
        sim.configure(rate_limit=1, rate_limit_status=status)
        get(sim, "/repos/psf/requests")
        answers[f"{status} primary limit"] = get(sim, "/repos/psf/requests")
        sim.reset(settings=True)
    sim.configure(secondary_limit=1, secondary_window=60)
    get(sim, "/repos/psf/requests")
    answers["429 secondary limit"] = get(sim, "/repos/psf/requests")
    sim.reset(settings=True)
    return answers


def test_every_error_answer_is_a_basic_error(sim):
    answers = error_answers(sim)
    statuses = {label: reply.status_code for label, reply in answers.items()}
    assert statuses == {label: int(label[:3]) for label in answers}
    for label, reply in answers.items():
        assert reply.headers["content-type"].startswith("application/json"), label
        body = reply.json()
        documented = (
            schema("repos_get", reply.status_code)
            if str(reply.status_code) in SPEC["repos_get"]
            else BASIC_ERROR
        )
        assert violations(body, documented) == [], label
        assert body["message"] and body["documentation_url"].startswith("https://docs.github.com")
        if reply.status_code != 301:
            assert body["status"] == str(reply.status_code), label
    moved = answers["301 renamed"]
    assert moved.json()["url"] == moved.headers["location"]
    assert "rate limit" in answers["403 primary limit"].json()["message"]
    assert "User-Agent" in answers["403 no User-Agent"].json()["message"]


# --- /rate_limit: rate-limit-overview -------------------------------------------------------
@pytest.mark.parametrize("token", [False, True], ids=["anonymous", "token"])
def test_rate_limit_is_a_rate_limit_overview(sim, token):
    auth = TOKEN if token else {}
    sim.configure(rate_limit=60)
    for _ in range(3):
        get(sim, "/repos/psf/requests", **auth)
    reply = get(sim, "/rate_limit", **auth)
    assert reply.status_code == 200
    body = reply.json()
    assert violations(body, RATE_LIMIT_OVERVIEW) == []
    resources = body["resources"]
    # Every resource of GitHub's documented example is answered.
    assert set(EXAMPLE_RATE_LIMIT["resources"]) <= set(resources)
    # `core` is the simulator's real window for this identity; `rate` repeats it.
    core = resources["core"]
    assert (core["limit"], core["used"], core["remaining"]) == (60, 3, 57)
    assert body["rate"] == core
    assert core["reset"] == int(reply.headers["x-ratelimit-reset"])
    # The others: GitHub's documented limits, nothing counted.
    expected_search = 30 if token else 10
    assert resources["search"]["limit"] == resources["search"]["remaining"] == expected_search
    assert resources["graphql"]["limit"] == (5000 if token else 0)
    for name, resource in resources.items():
        if name != "core":
            assert resource["used"] == 0 and resource["remaining"] == resource["limit"], name
    # Asking does not count.
    assert get(sim, "/rate_limit", **auth).json()["resources"]["core"]["used"] == 3


@pytest.mark.parametrize("version", ["2022-11-28", "2026-03-10"])
def test_the_answers_are_those_of_the_api_version_asked_for(sim, version):
    """`X-GitHub-Api-Version` selects the version (none: 2022-11-28, GitHub's default), which
    the answer names; 2026-03-10 drops `rate` from `GET /rate_limit` (read `resources.core`)."""
    reply = get(sim, "/rate_limit", **{"X-GitHub-Api-Version": version})
    repo = get(sim, "/repos/psf/requests", **{"X-GitHub-Api-Version": version})
    assert [r.headers["x-github-api-version-selected"] for r in (reply, repo)] == [version] * 2
    body = reply.json()
    assert ("rate" in body) == (version == "2022-11-28")
    assert body.get("rate", body["resources"]["core"]) == body["resources"]["core"]
    assert get(sim, "/rate_limit").headers["x-github-api-version-selected"] == "2022-11-28"


def test_a_version_github_does_not_serve_is_a_400(sim):
    for path in ("/rate_limit", "/repos/psf/requests"):
        reply = get(sim, path, **{"X-GitHub-Api-Version": "2019-01-01"})
        assert reply.status_code == 400, path
        assert "X-GitHub-Api-Version" in reply.json()["message"], path


def test_the_pipelines_client_asks_for_the_version_it_was_written_for(sim, settings):
    from github_stars.core import GitHubApi

    with GitHubApi.open(settings) as api:
        api.get_repo("psf/requests")
        api.now()
    versions = {e.get("api_version") for e in sim.requests(repos_only=False)}
    assert versions == {"2026-03-10"}


def test_rate_limit_answers_304_to_its_own_etag(sim):
    first = get(sim, "/rate_limit")
    again = get(sim, "/rate_limit", **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    get(sim, "/repos/psf/requests")  # core changed: a new body, a new tag
    changed = get(sim, "/rate_limit", **{"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]


# --- headers --------------------------------------------------------------------------------
def all_answers(sim, **auth: str) -> dict[str, httpx.Response]:
    etag = get(sim, "/repos/psf/requests", **auth).headers["etag"]
    answers = {
        "200": get(sim, "/repos/psf/requests", **auth),
        "200 by id": get(sim, f"/repositories/{load_snapshot()['psf/requests'].id}", **auth),
        "200 count": get(sim, "/repos/psf/requests/stargazers/count", **auth),
        "200 history": get(sim, "/repos/psf/requests/stargazers/history?page=2", **auth),
        "304": get(sim, "/repos/psf/requests", **auth, **{"If-None-Match": etag}),
        "/rate_limit": get(sim, "/rate_limit", **auth),
        "301": get(sim, "/repos/kennethreitz/requests", **auth),
        "404": get(sim, "/repos/nobody/nothing", **auth),
        "404 route": get(sim, "/nothing/here", **auth),
        "405": httpx.delete(sim.url + "/rate_limit", headers=UA | auth),
    }
    sim.reset()  # scripted faults start at a repository's first attempt
    sim.configure(faults={"psf/requests": [401, 451, 503, "non_json", "missing_stars"]})
    for label in ("401", "451", "503", "200 non-JSON", "200 without stars"):
        answers[label] = get(sim, "/repos/psf/requests", **auth)
    sim.configure(rate_limit=0, rate_limit_status=429)
    answers["429"] = get(sim, "/repos/pydantic/pydantic", **auth)
    sim.reset(settings=True)
    return answers


@pytest.mark.parametrize("token", [False, True], ids=["anonymous", "token"])
def test_githubs_headers_on_every_answer(sim, token):
    auth = TOKEN if token else {}
    answers = all_answers(sim, **auth)
    assert {label: r.status_code for label, r in answers.items()} == {
        label: int(label.split()[0]) if label[0].isdigit() else 200 for label in answers
    }
    ids = set()
    for label, reply in answers.items():
        headers = reply.headers
        for name in RATE_HEADERS:
            assert f"x-ratelimit-{name}" in headers, (label, name)
        expected_cache = "private" if token else "public"
        assert headers["cache-control"] == f"{expected_cache}, max-age=60, s-maxage=60", label
        vary = {part.strip().lower() for part in headers["vary"].split(",")}
        assert vary == VARY_TOKENS, label
        assert len(headers.get_list("vary")) == 2, label  # two lines, as GitHub sends them
        assert headers["x-github-media-type"] == "github.v3; format=json", label
        assert headers["x-github-api-version-selected"] == "2022-11-28", label
        assert REQUEST_ID.match(headers["x-github-request-id"]), label
        ids.add(headers["x-github-request-id"])
    assert len(ids) == len(answers)  # unique per request
    for label in ("200", "200 by id", "200 count", "200 history", "304", "/rate_limit"):
        assert answers[label].headers["etag"].startswith('"'), label
    assert answers["304"].headers["etag"] == answers["200"].headers["etag"]
    assert answers["200 by id"].headers["etag"] == answers["200"].headers["etag"]


# --- conditional requests -------------------------------------------------------------------
def test_an_anonymous_304_counts_against_the_limit(sim):
    first = get(sim, "/repos/psf/requests")
    used = int(first.headers["x-ratelimit-used"])
    again = get(sim, "/repos/psf/requests", **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert int(again.headers["x-ratelimit-used"]) == used + 1
    assert (
        int(again.headers["x-ratelimit-remaining"])
        == int(first.headers["x-ratelimit-remaining"]) - 1
    )
    log = sim.requests()
    assert [(e["status"], e["kind"], e["authenticated"]) for e in log] == [
        (200, "ok", False),
        (304, "not_modified", False),
    ]


def test_an_anonymous_304_is_refused_once_the_limit_is_spent(sim):
    sim.configure(rate_limit=1)
    etag = get(sim, "/repos/psf/requests").headers["etag"]
    refused = get(sim, "/repos/psf/requests", **{"If-None-Match": etag})
    assert refused.status_code == 403
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert violations(refused.json(), schema("repos_get", 403)) == []


def test_an_authorized_304_does_not_count(sim):
    first = get(sim, "/repos/psf/requests", **TOKEN)
    used = int(first.headers["x-ratelimit-used"])
    for _ in range(2):
        again = get(sim, "/repos/psf/requests", **TOKEN, **{"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert int(again.headers["x-ratelimit-used"]) == used
        assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    assert get(sim, "/rate_limit", **TOKEN).json()["resources"]["core"]["used"] == used
    log = sim.requests()
    assert [(e["status"], e["kind"], e["authenticated"]) for e in log] == [
        (200, "ok", True),
        (304, "not_modified", True),
        (304, "not_modified", True),
    ]


# --- GET /repos/{owner}/{repo}/stargazers/count ----------------------------------------------
@pytest.mark.parametrize("by", ["name", "id"])
def test_the_stargazer_count_is_the_documented_answer(sim, by):
    path = "/repos/psf/requests" if by == "name" else f"/repositories/{row_id('psf/requests')}"
    for day in (0, 6):
        sim.set_day(day)
        reply = get(sim, f"{path}/stargazers/count")
        assert reply.status_code == 200 and violations(reply.json(), STARGAZER_COUNT) == []
        assert reply.json() == {"count": stars_on("psf/requests", day)}
        assert reply.json()["count"] == get(sim, path).json()["stargazers_count"]
    sim.reset(settings=True)


def test_the_backfill_reads_githubs_example_count_as_a_simulator_answer(sim):
    assert _count(httpx.Response(200, json=EXAMPLE_COUNT), "octocat/Hello-World") == 42
    ours = get(sim, "/repos/psf/requests/stargazers/count")
    assert _count(ours, "psf/requests") == int(row("psf/requests")["stargazers_count"])


def row_id(name: str) -> int:
    return load_snapshot()[name.lower()].id


# --- GET /repos/{owner}/{repo}/stargazers/history: pinned to the observed answer --------------
# Not in the vendored description (@octokit/openapi 23.0.2). GitHub shipped it on 2026-09-04
# (REST API version 2026-03-10; docs.github.com/en/rest/activity/starring?apiVersion=
# 2026-03-10#get-repository-star-history); its shape is that of published client code and of
# one published observation, quoted in this project's issue 32: a JSON array of weeks, newest
# first; `week` the Unix time of the week's first day at 00:00 UTC, `days` the stars given on
# each of its seven days, `total` their sum; pages linked by `Link` (`next`, `prev`, `first`)
# in GitHub's numeric form, /repositories/{id}/stargazers/history?per_page=30&page=2.
OBSERVED_WEEK = {"week": 1677369600, "total": 36, "days": [0, 0, 0, 10, 15, 4, 7]}
COUNT = {"type": "integer", "minimum": 0}
STAR_HISTORY = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["week", "total", "days"],
        "additionalProperties": False,
        "properties": {
            "week": COUNT,
            "total": COUNT,
            "days": {"type": "array", "items": COUNT, "minItems": 7, "maxItems": 7},
        },
    },
}
NUMERIC_LINK = re.compile(
    r"<(?P<url>https?://[^>]+/repositories/(?P<id>\d+)/stargazers/history"
    r"\?per_page=(?P<per_page>\d+)&page=(?P<page>\d+))>; rel=\"(?P<rel>next|prev|first)\""
)


def links(reply: httpx.Response) -> dict[str, re.Match]:
    """The `Link` header's links by rel, each checked to be in GitHub's numeric form."""
    header = reply.headers.get("link", "")
    parts = [part.strip() for part in header.split(",")] if header else []
    found = [NUMERIC_LINK.fullmatch(part) for part in parts]
    assert all(found), header
    return {match["rel"]: match for match in found}


def sunday_midnight(week: int) -> bool:
    moment = datetime.fromtimestamp(week, UTC)
    return moment.weekday() == 6 and (moment.hour, moment.minute, moment.second) == (0, 0, 0)


def test_the_observed_week_has_the_pinned_shape():
    assert violations([OBSERVED_WEEK], STAR_HISTORY) == []
    assert sunday_midnight(OBSERVED_WEEK["week"])  # 2023-02-26, a Sunday
    assert OBSERVED_WEEK["total"] == sum(OBSERVED_WEEK["days"]) and len(OBSERVED_WEEK["days"]) == 7
    # The backfill reads it as it reads the simulator's (`test_star_history_...` below).
    assert _weeks(httpx.Response(200, json=[OBSERVED_WEEK]), "a/b", None) == [
        (OBSERVED_WEEK["week"], OBSERVED_WEEK["days"])
    ]


@pytest.mark.parametrize("name", ["psf/requests", *example_repos("spike", 1)])
def test_star_history_answers_have_the_observed_shape(sim, name):
    """Every page, walked by its `next` link from the first: the pinned shape; weeks a Sunday
    apart, newest first, from today's week back to the creation's; GitHub's numeric links;
    the stars given sum to today's count plus the calendar's un-stars."""
    day, version = 12, {"X-GitHub-Api-Version": "2026-03-10"}
    sim.set_day(day)
    url = f"{sim.url}/repos/{name}/stargazers/history?per_page=30&page=1"
    weeks, page = [], 1
    while url:
        reply = httpx.get(url, headers=UA | version, timeout=10)
        assert reply.status_code == 200 and reply.headers["x-github-api-version-selected"] == (
            "2026-03-10"
        )
        body = reply.json()
        assert violations(body, STAR_HISTORY) == [] and 1 <= len(body) <= 30, page
        assert [list(week) for week in body] == [list(OBSERVED_WEEK)] * len(body)  # key order
        assert all(sunday_midnight(w["week"]) and w["total"] == sum(w["days"]) for w in body)
        assert _weeks(reply, name, weeks[-1]["week"] if weeks else None)  # the backfill reads it
        found = links(reply)
        assert {m["id"] for m in found.values()} == {str(row_id(name))}
        assert set(found) == {"next"} if page == 1 else {"prev", "first"} <= set(found)
        if page > 1:
            assert (found["prev"]["page"], found["first"]["page"]) == (str(page - 1), "1")
        weeks += body
        url = found["next"]["url"] if "next" in found else None
        assert url is None or found["next"]["page"] == str(page + 1)
        page += 1
    starts = [w["week"] for w in weeks]
    assert all(newer - older == 7 * 86400 for newer, older in zip(starts, starts[1:], strict=False))
    today = date.fromisoformat(SNAPSHOT_DATE) + timedelta(days=day)
    created = date.fromisoformat(row(name)["created_at"])
    first_sunday = datetime.fromtimestamp(starts[0], UTC).date()
    last_sunday = datetime.fromtimestamp(starts[-1], UTC).date()
    assert first_sunday <= today < first_sunday + timedelta(days=7)
    assert last_sunday <= created < last_sunday + timedelta(days=7)
    unstars = sum(max(0, stars_on(name, d - 1) - stars_on(name, d)) for d in range(1, day + 1))
    assert sum(w["total"] for w in weeks) == stars_on(name, day) + unstars
    sim.reset(settings=True)


BROKEN_WEEKS = {
    "not the sum": [{**OBSERVED_WEEK, "total": 35}],
    "six days": [{**OBSERVED_WEEK, "days": [0, 10, 15, 4, 7, 0]}],
    "not at midnight": [{**OBSERVED_WEEK, "week": OBSERVED_WEEK["week"] + 3600}],
    "negative": [{**OBSERVED_WEEK, "days": [0, 0, 0, 10, 15, 4, -7], "total": 22}],
    "no total": [{"week": OBSERVED_WEEK["week"], "days": OBSERVED_WEEK["days"]}],
    "older first": [{**OBSERVED_WEEK, "week": OBSERVED_WEEK["week"] - 7 * 86400}, OBSERVED_WEEK],
    "not an array": OBSERVED_WEEK,
}


@pytest.mark.parametrize("label", BROKEN_WEEKS)
def test_the_backfill_refuses_an_answer_that_breaks_the_pinned_shape(label):
    with pytest.raises(BadResponse, match="a/b: the star history") as refused:
        _weeks(httpx.Response(200, json=BROKEN_WEEKS[label]), "a/b", None)
    print(f"{label}: {refused.value}")
