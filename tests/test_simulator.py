"""The simulator behaves like GitHub's REST API for what the tutorial uses."""

import time

import httpx
import pytest

from github_stars.simulator.snapshot import load_snapshot, snapshot_stars

UA = {"User-Agent": "tests"}


def get(sim, path, **headers):
    return httpx.get(sim.url + path, headers=UA | headers, timeout=10)


def test_repo_shape_matches_github_and_snapshot(sim):
    reply = get(sim, "/repos/PrefectHQ/prefect")
    assert reply.status_code == 200
    body = reply.json()
    assert body["full_name"] == "prefecthq/prefect"
    assert body["stargazers_count"] == snapshot_stars()["prefecthq/prefect"]
    for key in (
        "id",
        "name",
        "owner",
        "html_url",
        "forks_count",
        "language",
        "topics",
        "subscribers_count",
        "created_at",
        "watchers_count",
    ):
        assert key in body
    assert body["created_at"].endswith("Z")


def get_without_user_agent(sim, path):
    """A request with no User-Agent header at all (httpx adds one unless removed)."""
    with httpx.Client(timeout=10) as http:
        del http.headers["User-Agent"]
        return http.get(sim.url + path)


def test_rate_limit_headers_on_every_response(sim):
    etag = get(sim, "/repos/psf/requests").headers["etag"]
    replies = {
        "200": get(sim, "/repos/psf/requests"),
        "404": get(sim, "/repos/nobody/nothing"),
        "rate_limit": get(sim, "/rate_limit"),
        "301": get(sim, "/repos/kennethreitz/requests"),
        "304": get(sim, "/repos/psf/requests", **{"If-None-Match": etag}),
        "403 no User-Agent": get_without_user_agent(sim, "/repos/psf/requests"),
        "no such route": get(sim, "/repos/psf/requests/nested/path"),
        "wrong method": httpx.post(sim.url + "/repos/psf/requests", headers=UA),
    }
    assert {k: r.status_code for k, r in replies.items()} == {
        "200": 200,
        "404": 404,
        "rate_limit": 200,
        "301": 301,
        "304": 304,
        "403 no User-Agent": 403,
        "no such route": 404,
        "wrong method": 405,
    }
    for label, reply in replies.items():
        for name in ("Limit", "Remaining", "Used", "Reset", "Resource"):
            assert f"x-ratelimit-{name.lower()}" in reply.headers, (label, name)
    used = [int(get(sim, "/repos/psf/requests").headers["x-ratelimit-used"]) for _ in range(2)]
    assert used[1] == used[0] + 1


def test_unknown_repo_is_404_with_githubs_body(sim):
    reply = get(sim, "/repos/nobody/nothing")
    assert reply.status_code == 404
    assert reply.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404",
    }


def test_unknown_paths_and_methods_answer_githubs_json(sim):
    reply = get(sim, "/repos/psf/requests/nested/path")
    assert reply.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404",
    }
    wrong = httpx.post(sim.url + "/repos/psf/requests", headers=UA)
    assert wrong.json()["message"] == "Method Not Allowed"
    assert [e["kind"] for e in sim.requests()] == ["no_route", "no_route"]


def test_renamed_repo_answers_301_to_its_new_home(sim):
    reply = get(sim, "/repos/kennethreitz/requests")
    assert reply.status_code == 301
    followed = httpx.get(reply.headers["Location"], headers=UA)
    assert followed.json()["full_name"] == "psf/requests"


def test_etag_and_304_count_only_without_a_token(sim):
    """GitHub: a 304 is free with an `Authorization` header; an anonymous one still counts."""
    token = {"Authorization": "Bearer not-a-real-token"}
    first = get(sim, "/repos/psf/requests", **token)
    used = int(first.headers["x-ratelimit-used"])
    again = get(sim, "/repos/psf/requests", **token, **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert int(again.headers["x-ratelimit-used"]) == used
    anonymous = get(sim, "/repos/psf/requests")
    used = int(anonymous.headers["x-ratelimit-used"])
    again = get(sim, "/repos/psf/requests", **{"If-None-Match": anonymous.headers["etag"]})
    assert again.status_code == 304
    assert int(again.headers["x-ratelimit-used"]) == used + 1


def test_weak_and_listed_etags_also_answer_304(sim):
    etag = get(sim, "/repos/psf/requests").headers["etag"]
    for header in (f"W/{etag}", f'"other", {etag}', "*"):
        assert get(sim, "/repos/psf/requests", **{"If-None-Match": header}).status_code == 304
    assert get(sim, "/repos/psf/requests", **{"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("path", ["/repos/psf/requests", "/rate_limit"])
def test_missing_user_agent_is_403(sim, path):
    for reply in (
        get_without_user_agent(sim, path),
        httpx.get(sim.url + path, headers={"User-Agent": ""}),
    ):
        assert reply.status_code == 403
        assert "User-Agent" in reply.json()["message"]


def test_case_insensitive_lookup(sim):
    assert get(sim, "/repos/PSF/Requests").json()["full_name"] == "psf/requests"


def test_rate_limit_endpoint(sim):
    sim.configure(rate_limit=60)
    core = get(sim, "/rate_limit").json()["resources"]["core"]
    assert core["limit"] == 60 and core["remaining"] == 60


def test_latency_knob(sim):
    sim.configure(latency=0.3)
    started = time.perf_counter()
    get(sim, "/repos/psf/requests")
    assert time.perf_counter() - started >= 0.3


def test_jitter_knob_adds_up_to_its_value(sim):
    sim.configure(latency=0.1, jitter=0.3, seed=1)
    for _ in range(5):
        get(sim, "/repos/psf/requests")
    durations = [e["t_end"] - e["t_start"] for e in sim.requests()]
    assert all(0.1 <= d <= 0.1 + 0.3 + 0.1 for d in durations)
    assert max(durations) - min(durations) > 0.01  # not a fixed delay


def test_failure_statuses_knob_chooses_the_codes(sim):
    sim.configure(failure_rate=1.0, failure_statuses=[502])
    assert {get(sim, f"/repos/{n}").status_code for n in list(load_snapshot())[:10]} == {502}


def test_primary_limit_can_answer_403_like_github(sim):
    sim.configure(rate_limit=1, rate_limit_status=403)
    replies = [get(sim, "/repos/psf/requests") for _ in range(2)]
    assert [r.status_code for r in replies] == [200, 403]
    assert replies[1].headers["x-ratelimit-remaining"] == "0"
    assert int(replies[1].headers["x-ratelimit-reset"]) >= time.time()


def test_fail_first_n_per_repo(sim):
    sim.configure(fail_first=2, fail_first_status=502)
    statuses = [get(sim, "/repos/psf/requests").status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert get(sim, "/repos/pydantic/pydantic").status_code == 502  # counted per repository


def test_refuse_nth_refuses_that_request_whichever_repository(sim):
    sim.configure(refuse_nth=3, retry_after=7)
    names = ["psf/requests", "pydantic/pydantic", "pallets/flask", "psf/requests"]
    replies = [get(sim, f"/repos/{name}") for name in names]
    assert [r.status_code for r in replies] == [200, 200, 429, 200]
    assert replies[2].headers["retry-after"] == "7"
    sim.reset()  # a new run counts from 1 again
    assert [get(sim, f"/repos/{n}").status_code for n in names[:3]] == [200, 200, 429]


def test_primary_rate_limit_then_reset_window(sim):
    sim.configure(rate_limit=3, rate_limit_window=1.0, rate_limit_status=429)
    replies = [get(sim, "/repos/psf/requests") for _ in range(4)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    assert replies[-1].headers["x-ratelimit-remaining"] == "0"
    assert "rate limit exceeded" in replies[-1].json()["message"]
    time.sleep(int(replies[-1].headers["x-ratelimit-reset"]) - time.time() + 0.05)
    assert get(sim, "/repos/psf/requests").status_code == 200


def test_secondary_rate_limit_sends_retry_after(sim):
    sim.configure(secondary_limit=2, secondary_window=5, retry_after=7)
    statuses = [get(sim, "/repos/psf/requests") for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[-1].headers["retry-after"] == "7"


def test_failure_rate_is_deterministic_for_a_seed(sim):
    names = list(load_snapshot())[:40]

    def run(seed):
        sim.reset()
        sim.configure(failure_rate=0.3, seed=seed)
        return [get(sim, f"/repos/{n}").status_code for n in names]

    first, second, other = run(7), run(7), run(8)
    assert first == second
    assert first != other
    failures = sum(s >= 500 for s in first)
    assert 4 <= failures <= 20  # about 30% of 40


def test_scripted_faults(sim):
    sim.configure(faults={"psf/requests": [503, "non_json", "missing_stars", "ok"]})
    replies = [get(sim, "/repos/psf/requests") for _ in range(4)]
    assert replies[0].status_code == 503
    assert replies[1].headers["content-type"].startswith("text/html")
    assert "stargazers_count" not in replies[2].json()
    assert replies[3].json()["stargazers_count"] > 0


def test_reset_fault_breaks_the_connection(sim):
    sim.configure(faults={"psf/requests": ["reset"]})
    with pytest.raises(httpx.RemoteProtocolError):
        get(sim, "/repos/psf/requests")


def test_request_log_and_counters_and_reset(sim):
    get(sim, "/repos/psf/requests")
    get(sim, "/repos/nobody/nothing")
    log = sim.requests()
    assert [(e["repo"], e["status"]) for e in log] == [
        ("psf/requests", 200),
        ("nobody/nothing", 404),
    ]
    assert all(e["t_end"] >= e["t_start"] for e in log)
    assert sim.stats()["by_status"] == {"200": 1, "404": 1}
    sim.reset()
    assert sim.request_count() == 0


def test_bad_settings_are_rejected_clearly(sim):
    with pytest.raises(ValueError, match="failure_rate"):
        sim.configure(failure_rate=2)
    with pytest.raises(ValueError, match="unknown simulator setting"):
        sim.configure(latncy=1)


def test_start_is_idempotent(simulator):
    from github_stars.simulator import start_simulator

    again = start_simulator(port=simulator.port)
    assert again.health()["pid"] == simulator.health()["pid"]


# --- the control routes answer this machine only ---------------------------------------------
def test_control_changes_must_be_json_from_a_loopback_host(sim):
    before = sim.settings()
    page_post = httpx.post(  # what a form on any web page can send
        sim.url + "/_simulator/settings",
        content='{"latency": 5}',
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    rebound = httpx.get(sim.url + "/_simulator/requests", headers={"Host": "evil.example"})
    rebound_post = httpx.post(
        sim.url + "/_simulator/reset", json={}, headers={"Host": "attacker.test:8765"}
    )
    assert (page_post.status_code, rebound.status_code, rebound_post.status_code) == (415, 403, 403)
    assert "application/json" in page_post.json()["error"]
    assert sim.settings() == before  # nothing changed
    for host in ("localhost:1", "127.0.0.1", "[::1]:8765"):
        assert httpx.get(sim.url + "/_simulator/health", headers={"Host": host}).status_code == 200
    assert get(sim, "/repos/psf/requests", Host="any.example").status_code == 200  # the API


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_simulator/calendar", '{"day": 1' + "0" * 400 + "}"),
        ("/_simulator/calendar", '{"advance_days": -1' + "0" * 30 + "}"),
        ("/_simulator/settings", '{"latency": 1e400}'),
        ("/_simulator/settings", '{"retry_after": 1' + "0" * 400 + "}"),
        ("/_simulator/settings", '{"faults": {"psf/requests": [1.5]}}'),
        ("/_simulator/settings", '{"faults": ["x"]}'),
        ("/_simulator/settings", "not json"),
    ],
)
def test_bad_numbers_and_bodies_are_400_and_change_nothing(sim, path, body):
    before = (sim.settings(), sim.calendar()["on"])
    method = "POST" if path.endswith("calendar") else "PATCH"
    reply = httpx.request(
        method, sim.url + path, content=body, headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 400 and reply.json()["error"]
    assert (sim.settings(), sim.calendar()["on"]) == before


def test_what_the_simulator_remembers_is_bounded():
    from github_stars.simulator.app import LOG_LIMIT, WINDOW_LIMIT, SimulatorState

    state = SimulatorState()
    for n in range(WINDOW_LIMIT + 50):
        state.window_for(f"token:{n}", now=1000.0)
    assert len(state.windows) == WINDOW_LIMIT and "token:0" not in state.windows
    assert state.log.maxlen == LOG_LIMIT
