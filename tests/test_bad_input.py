"""Bad input is reported per item before any request; valid items still go through.

test_repo_names.py checks each reason in isolation and test_pipeline.py a few bad names in
the flow; here the whole catalogue goes through the flow and the CLI at once.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from github_stars.pipeline import show_stars
from github_stars.simulator.snapshot import snapshot_stars

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
DUPLICATES = ["MITMPROXY/mitmproxy", "  sphinx-doc/sphinx  ", "sphinx-doc/sphinx"]


@pytest.fixture
def flow_logs(caplog):
    """Records of the flow's INFO logs (its `print`s), whatever PREFECT_LOGGING_LEVEL says."""
    caplog.set_level(logging.INFO, logger="prefect")
    return caplog


def test_every_bad_name_is_reported_before_any_request_and_the_rest_go_through(sim, flow_logs):
    names = [*MALFORMED, VALID[0], DUPLICATES[0], VALID[1], *DUPLICATES[1:]]
    results = show_stars(names)

    # One outcome per distinct input, in input order, each bad name with its own reason.
    assert [r.repo for r in results] == [*MALFORMED, *VALID]
    for result, (name, reason) in zip(results, MALFORMED.items(), strict=False):
        assert (result.repo, result.error_kind, result.stars) == (name, "invalid name", None)
        assert reason in result.error
    assert [r.stars for r in results[len(MALFORMED) :]] == [STARS[v] for v in VALID]

    # The simulator saw the valid names only, each once despite the duplicates.
    log = sim.requests()
    assert sorted(e["repo"] for e in log) == sorted(VALID)

    # The flow said so before its first request.
    skipped = [r for r in flow_logs.records if r.getMessage().startswith("Skipping ")]
    assert len(skipped) == len(MALFORMED) + len(DUPLICATES)
    assert max(r.created for r in skipped) < min(e["t_start"] for e in log)
    messages = "\n".join(r.getMessage() for r in skipped)
    assert "Skipping 'MITMPROXY/mitmproxy': listed more than once, fetched once" in messages
    assert f"Skipping '../x': invalid name: {MALFORMED['../x']}" in messages


def test_only_bad_names_make_no_request_at_all(sim):
    results = show_stars(list(MALFORMED))
    assert [r.error_kind for r in results] == ["invalid name"] * len(MALFORMED)
    assert sim.request_count() == 0


def test_an_empty_list_is_reported_and_makes_no_request(sim, flow_logs):
    assert show_stars([]) == []
    assert "No repositories given." in flow_logs.messages
    assert sim.request_count() == 0


def test_cli_prints_one_line_per_bad_name_and_every_success(sim):
    environ = os.environ | {"GITHUB_API_URL": sim.url, "PREFECT_LOGGING_LEVEL": "INFO"}
    args = ["foo", "../x", " ", "pallets/clické", "tox-dev/tox", "TOX-DEV/tox", "a/b/c", "-v"]
    done = subprocess.run(
        [sys.executable, "-m", "github_stars", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"foo: error: invalid name: {MALFORMED['foo']}",
        f"../x: error: invalid name: {MALFORMED['../x']}",
        f" : error: {MALFORMED['   ']}",
        f"pallets/clické: error: invalid name: {MALFORMED['pallets/clické']}",
        f"tox-dev/tox: {STARS['tox-dev/tox']} stars",
        f"a/b/c: error: invalid name: {MALFORMED['a/b/c']}",
    ]
    assert "Skipping 'TOX-DEV/tox': listed more than once, fetched once" in done.stderr
    assert [e["repo"] for e in sim.requests()] == ["tox-dev/tox"]
