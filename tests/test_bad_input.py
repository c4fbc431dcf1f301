"""Bad input is reported per item, never sent; valid items still go through.

test_repo_names.py checks each reason in isolation and test_pipeline.py a few bad names in
the flow; here the whole catalogue goes through the flow and the CLI at once.
"""

from __future__ import annotations

from cli_process import run_cli

from github_stars.pipeline import show_stars
from github_stars.simulator.snapshot import snapshot_repo_names, snapshot_stars

STARS = snapshot_stars()
OVER_LONG = "owner/" + "r" * 101
MALFORMED = {  # name -> the reason the user is shown
    "foo": "expected exactly one '/' as in 'owner/repo'",
    "a/b/c": "expected exactly one '/' as in 'owner/repo'",
    "../x": "owner must be 1-39 letters, digits or hyphens, not starting with one",
    "": "empty name: expected 'owner/repo'",
    "   ": "empty name: expected 'owner/repo'",
    "pallets/clické": "only ASCII letters, digits, '.', '-' and '_' are allowed",
    OVER_LONG: "repository must be 1-100 letters, digits, '.', '-' or '_'",
}
VALID = ["mitmproxy/mitmproxy", "sphinx-doc/sphinx"]


def test_every_bad_name_is_reported_and_never_sent_and_the_rest_go_through(sim, settings):
    names = [*MALFORMED, *VALID]
    results = show_stars(names, settings)

    # One outcome per input, in input order, each bad name with its own reason.
    assert [r.repo for r in results] == names
    for result, (name, reason) in zip(results, MALFORMED.items(), strict=False):
        assert (result.repo, result.error_kind, result.stars) == (name, "invalid name", None)
        assert reason in result.error
    assert [r.stars for r in results[len(MALFORMED) :]] == [STARS[v] for v in VALID]

    # The simulator saw the valid names only (a bad name fails its task before a request).
    log = sim.requests()
    assert sorted(e["repo"] for e in log) == sorted(VALID)


def test_only_bad_names_make_no_request_at_all(sim, settings):
    results = show_stars(list(MALFORMED), settings)
    assert [r.error_kind for r in results] == ["invalid name"] * len(MALFORMED)
    assert sim.request_count() == 0


def test_an_empty_list_makes_no_request(sim, settings):
    assert show_stars([], settings) == []
    assert sim.request_count() == 0


def test_cli_prints_one_line_per_bad_name_and_every_success(sim):
    args = ["foo", "../x", " ", "pallets/clické", "tox-dev/tox", "TOX-DEV/tox", "a/b/c", "-v"]
    done = run_cli(*args, GITHUB_API_URL=sim.url, PREFECT_LOGGING_LEVEL="INFO")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"foo: error: invalid name: {MALFORMED['foo']}",
        f"../x: error: invalid name: {MALFORMED['../x']}",
        f" : error: {MALFORMED['   ']}",
        f"pallets/clické: error: invalid name: {MALFORMED['pallets/clické']}",
        f"tox-dev/tox: {STARS['tox-dev/tox']} stars",
        f"a/b/c: error: invalid name: {MALFORMED['a/b/c']}",
    ]
    assert [e["repo"] for e in sim.requests()] == ["tox-dev/tox"]


def test_cli_progress_counts_each_distinct_input_once(sim):
    """The progress display (more than 10 repositories) ends at N/N, N the distinct inputs: a
    bad name is an outcome, a name given twice one repository."""
    valid = snapshot_repo_names()[300:311]
    done = run_cli(*valid, "not-a-name", valid[0].upper(), GITHUB_API_URL=sim.url)
    assert done.returncode == 1, done.stderr
    assert len(done.stdout.splitlines()) == len(valid) + 1
    distinct = len(valid) + 1
    progress = [line for line in done.stderr.splitlines() if line.startswith("stars ")]
    assert progress and f"{distinct}/{distinct}" in progress[-1], done.stderr
    assert f"ok {len(valid)}  failed 1" in progress[-1], done.stderr
    assert sorted(e["repo"] for e in sim.requests()) == sorted(n.lower() for n in valid)
