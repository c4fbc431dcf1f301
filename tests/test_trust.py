"""A daily job you can trust: each fault of issue 30, against the command line and `serve`.

- the token goes only to the API configured where the command started (a stand-in that
  records the headers it receives: `stand_in.py`), never to a squatter on the simulator's
  port, an `http://` host the rule cannot know to be loopback, or an edited deployment
  parameter; servers the command starts never see it;
- a history keeps one API's figures: a run against another API is refused (exit 2) before
  any request, and its rows stay as the configured API gave them;
- a bad answer fails its repository alone, is asked again the next run, and a failing store
  stops the run in one line after the rows it committed;
- `serve` rides out a Prefect server outage (`GITHUB_STARS_TEST_OUTAGE_SECONDS`, 30 s here;
  300 s for the issue's five minutes), catches up one missed run, runs one flow run at a time
  and one `serve` per deployment, and stops at any moment (start-up included) with exit 0,
  nothing left running;
- stores are opened as meant and inputs read as written.

Each test prints its figures and writes them to `test-artifacts/trust-<test>.json`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cli_process
import psutil
import pytest
from prefect import get_client
from prefect.client.schemas.actions import DeploymentUpdate
from prefect.settings import PREFECT_API_URL, temporary_settings
from stand_in import StandIn
from test_history import another_applications_file
from test_serve import alive, completed_runs, deployment_and_runs, pause, serving, wait_for

from github_stars.core import RepoResult
from github_stars.core.star_history import StarHistory
from github_stars.servers import PrefectServer, free_port, start_simulator
from github_stars.settings import TokenChoice, server_environment, token_for
from github_stars.simulator.snapshot import SNAPSHOT_DATE, snapshot_stars

pytestmark = pytest.mark.timeout(1200)

ARTIFACTS = Path(__file__).parents[1] / "test-artifacts"
SENTINEL = f"ghp_trust{uuid.uuid4().hex}"
STARS = snapshot_stars()
SIMULATOR = f"github-stars-simulator@{SNAPSHOT_DATE}"
REPOS = ["psf/requests", "pallets/flask", "numpy/numpy"]
CLI_TIMEOUT = 240.0
SERVE_TIMEOUT = 600.0  # seconds for a served run to complete on a busy machine
OUTAGE_SECONDS = float(os.environ.get("GITHUB_STARS_TEST_OUTAGE_SECONDS", "30"))


def record_figures(test: str, **figures: object) -> None:
    """Print the figures (with the machine's load) and write them as an artifact."""
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"trust-{test}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\n{test}: {json.dumps(figures)}")


def run_cli(*args: str, **options: Any) -> subprocess.CompletedProcess:
    """The command with `options` (`stdin`, `timeout`, env), and no token nor GITHUB_API_URL
    unless given."""
    return cli_process.run_cli(*args, without=("GITHUB_TOKEN", "GITHUB_API_URL"), **options)


def rows(location: Path) -> list:
    with StarHistory.open(location, read_only=True) as history:
        return history.records()


# --- 1. the token goes only where it was meant to --------------------------------------------
CONFIGURED = {"GITHUB_API_URL": "https://ghe.example/api/v3/"}
LOOPBACK_API = {"GITHUB_API_URL": "http://127.0.0.1:9999"}


@pytest.mark.parametrize(
    ("api_url", "environ", "simulator", "why"),
    [
        ("https://api.github.com", {}, False, None),
        ("https://api.github.com:443/", {}, False, None),
        ("https://ghe.example/api/v3", CONFIGURED, False, None),
        ("http://127.0.0.1:9999", LOOPBACK_API, False, None),
        ("http://localhost:9999/", {"GITHUB_API_URL": "http://localhost:9999"}, False, None),
        ("http://127.0.0.1:8765", {}, False, "goes only to https://api.github.com"),
        ("https://evil.example", {}, False, "goes only to https://api.github.com"),
        ("https://api.github.com.evil.example", {}, False, "goes only to"),
        ("https://api.github.com", CONFIGURED, False, "goes only to https://ghe.example/api/v3"),
        ("http://ghe.example/api/v3", {"GITHUB_API_URL": "http://ghe.example/api/v3"}, False,
         "unencrypted"),
        ("http://127.1:9999", {"GITHUB_API_URL": "http://127.1:9999"}, False, "unencrypted"),
        ("http://127.0.0.1:9999", LOOPBACK_API, True, "bundled simulator"),
        ("https://me:pw@api.github.com", {}, False, "goes only to"),
    ],
)  # fmt: skip
def test_the_token_rule(api_url, environ, simulator, why):
    choice = token_for(api_url, environ | {"GITHUB_TOKEN": SENTINEL}, simulator=simulator)
    assert choice.token == (None if why else SENTINEL)
    if why:
        assert why in choice.withheld and choice.withheld.startswith("GITHUB_TOKEN is not sent")
        assert "\n" not in choice.withheld and "pw" not in choice.withheld
    assert SENTINEL not in repr(choice) + str(choice.withheld)
    assert token_for(api_url, environ, simulator=simulator) == TokenChoice()  # none, no word


def test_squatters_and_plain_http_hosts_get_no_token_and_the_run_says_why(tmp_path):
    results = {}
    with (
        StandIn(claims_simulator=True) as squatter,
        StandIn(claims_simulator=True) as named_squatter,
        StandIn() as plain,
        StandIn() as configured,
    ):
        cases = {  # each: a run with a token, and what it was configured with
            "squatting the simulator's port": (
                squatter,
                {"GITHUB_STARS_SIMULATOR_PORT": str(squatter.port)},
            ),
            "a squatter named in GITHUB_API_URL": (
                named_squatter,
                {"GITHUB_API_URL": named_squatter.url},
            ),
            "http:// to a host not known as loopback": (
                plain,
                {"GITHUB_API_URL": f"http://127.1:{plain.port}"},
            ),
            "the configured API (control)": (configured, {"GITHUB_API_URL": configured.url}),
        }
        for number, (case, (api, env)) in enumerate(cases.items()):
            storage = str(tmp_path / f"prefect-storage-{number}")  # no answer cached for another
            env |= {"PREFECT_LOCAL_STORAGE_PATH": storage}
            results[case] = (api, run_cli("psf/requests", GITHUB_TOKEN=SENTINEL, **env))
    wrong_hosts = 0
    for case, (api, done) in results.items():
        assert done.returncode == 0, f"{case}: {done.stderr[-2000:]}"
        assert done.stdout.splitlines() == ["psf/requests: 7 stars"], case
        assert SENTINEL not in done.stdout + done.stderr, case
        sent = api.authorizations()
        assert sent and api.authorizations("/repos/"), case  # the API was asked
        if "control" in case:
            requests = api.authorizations("/repos/") + api.authorizations("/rate_limit")
            assert set(requests) == {f"Bearer {SENTINEL}"} and "is not sent" not in done.stderr
            continue
        wrong_hosts += sum(value is not None for value in sent)
        notices = [line for line in done.stderr.splitlines() if "GITHUB_TOKEN is not sent" in line]
        assert len(notices) == 1, f"{case}: {done.stderr[-2000:]}"
    assert "bundled simulator" in results["a squatter named in GITHUB_API_URL"][1].stderr
    assert "unencrypted" in results["http:// to a host not known as loopback"][1].stderr
    record_figures(
        "token-wrong-hosts",
        cases=len(results) - 1,
        authorization_headers_to_wrong_hosts=wrong_hosts,
    )
    assert wrong_hosts == 0


def test_servers_the_package_starts_do_not_inherit_the_token(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    simulator = start_simulator(free_port())
    try:
        simulator_environ = psutil.Process(simulator.process.pid).environ()
        simulator_session = os.getsid(simulator.process.pid)
    finally:
        simulator.stop()
    assert "GITHUB_TOKEN" not in simulator_environ
    assert simulator_session == simulator.process.pid  # a terminal's Ctrl-C does not reach it
    assert "GITHUB_TOKEN" not in PrefectServer(home=tmp_path).environment()
    assert "GITHUB_TOKEN" not in server_environment(prefect=False)  # PostgreSQL, the lab's


# --- 2. a history belongs to one API ---------------------------------------------------------
def test_a_history_refuses_another_api_and_keeps_the_live_rows(sim, tmp_path):
    """`--live --history h.db`, then the simulator on it, then `--live` again: the stand-in
    plays api.github.com (the configured API), the bundled simulator is the other API."""
    history, repos = tmp_path / "h.db", ["psf/requests", "pallets/flask"]
    with StandIn(upstream=sim.url) as live:
        env = {"GITHUB_API_URL": live.url, "GITHUB_TOKEN": SENTINEL}
        first = run_cli(*repos, "--history", str(history), **env)
        assert first.returncode == 0, first.stderr[-2000:]
        live_rows = rows(history)
        sim.reset()
        simulated = run_cli(*repos, "--history", str(history), GITHUB_TOKEN=SENTINEL)
        simulator_requests = len(sim.requests())
        again = run_cli(*repos, "--history", str(history), **env)  # Prefect's cache answers
        after_again = rows(history)
        elsewhere = tmp_path / "another-prefect-cache"  # no cache entry: asked again
        fresh = run_cli(
            *repos,
            "--history",
            str(history),
            **env,
            PREFECT_LOCAL_STORAGE_PATH=str(elsewhere / "storage"),
            GITHUB_STARS_HTTP_CACHE=str(elsewhere / "http"),
        )
        final = rows(history)
    assert simulated.returncode == 2 and simulated.stdout == ""
    refusal = [line for line in simulated.stderr.splitlines() if "--history:" in line]
    assert len(refusal) == 1
    assert f"keeps the figures of {live.url}, not of {SIMULATOR}" in refusal[0]
    assert simulator_requests == 0  # refused before any request
    assert again.returncode == fresh.returncode == 0
    assert "(2 from Prefect's cache)" in again.stderr and after_again == live_rows
    assert [(r.repo, r.stars, r.api) for r in final] == [
        (r.repo, r.stars, r.api) for r in live_rows
    ]
    assert all(f.fetched_at > b.fetched_at for f, b in zip(final, live_rows, strict=True))
    mixed = sum(r.api != live.url for r in final)
    lost = len(live_rows) - len(final)
    record_figures("history-one-api", rows=len(final), rows_mixed_across_apis=mixed, rows_lost=lost)
    assert mixed == lost == 0


# --- 3. a bad answer is one repository's failure -----------------------------------------------
def flow_run_states(history: Path) -> list[str]:
    """The final states of the flow runs that kept rows in `history`."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(limit=50)
    return [run.state_name for run in runs if run.parameters.get("history") == str(history)]


def test_a_bad_answer_fails_its_repository_alone_and_is_asked_again(sim, tmp_path):
    history = tmp_path / "h.db"
    bad = {"pallets/flask": {"forks_count": "x"}, "numpy/numpy": {"stargazers_count": -1}}
    huge = {"pandas-dev/pandas": {"stargazers_count": 2**40}}  # beyond 32 bits: kept
    repos = ["psf/requests", "pallets/flask", "numpy/numpy", "pandas-dev/pandas"]
    with StandIn(upstream=sim.url, overrides=bad | huge) as api:
        env = {"GITHUB_API_URL": api.url}
        first = run_cli(*repos, "--history", str(history), **env)
        kept = rows(history)
        second = run_cli(*repos, "--history", str(history), **env)
        asked = {repo: len(api.authorizations(f"/repos/{repo}")) for repo in repos}
    for done in (first, second):
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stdout.splitlines() == [
            f"psf/requests: {STARS['psf/requests']} stars",
            "pallets/flask: error: response has no integer 'forks_count' (got str)",
            "numpy/numpy: error: response has an impossible 'stargazers_count' (-1)",
            f"pandas-dev/pandas: {2**40} stars",
        ]
    assert [(r.repo, r.stars) for r in kept] == [
        ("pandas-dev/pandas", 2**40),
        ("psf/requests", STARS["psf/requests"]),
    ]
    assert rows(history) == kept  # the re-run added nothing
    # never cached: asked again the same day; the good answers came from Prefect's cache
    assert asked == {
        "psf/requests": 1,
        "pallets/flask": 2,
        "numpy/numpy": 2,
        "pandas-dev/pandas": 1,
    }
    states = flow_run_states(history)
    crashed = sum(state != "Completed" for state in states)
    record_figures(
        "bad-answer", runs=len(states), runs_crashed_by_one_bad_answer=crashed, rows_kept=len(kept)
    )
    assert len(states) == 2 and crashed == 0


def test_a_failing_store_stops_the_run_in_one_line_after_its_committed_rows(sim, tmp_path):
    history = tmp_path / "h.db"
    StarHistory.open(history, SIMULATOR).close()
    with contextlib.closing(sqlite3.connect(history)) as store:  # the disk is full, for one row
        store.execute(
            "CREATE TRIGGER full BEFORE INSERT ON star_history WHEN NEW.repo_key = 'numpy/numpy' "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        store.commit()
    sim.configure(latency=0.3)  # answers arrive one after another
    done = run_cli(*REPOS, "--history", str(history))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    failed = [line for line in done.stderr.splitlines() if line.startswith("The run failed:")]
    assert len(failed) == 1
    assert failed[0].startswith("The run failed: could not write numpy/numpy's row of ")
    assert failed[0].endswith(
        f"to the star history at {history} (IntegrityError: database or disk is full); the "
        "rows written before it stay"
    )
    printed_ok = {line.split(":")[0] for line in done.stdout.splitlines() if "stars" in line}
    assert {r.repo for r in rows(history)} == printed_ok and "numpy/numpy" not in printed_ok
    assert "numpy/numpy: error: not kept: the run stopped (could not write numpy" in done.stdout


# --- 4. serve outlives faults ----------------------------------------------------------------
def serve_in_session(args: list[str], log: Path, env: dict[str, str]):
    """`serve ARGS` leading a process group of its own, as in a terminal (`serving`)."""
    return serving(args, log, env, own_session=True)


def stop_with(process: subprocess.Popen, sig: int) -> tuple[int, float]:
    """Send `sig`; the exit code and the seconds until it exited."""
    asked = time.monotonic()
    process.send_signal(sig)
    code = process.wait(timeout=120)
    return code, time.monotonic() - asked


def says(log: Path, text: str) -> bool:
    return text in log.read_text(errors="replace")


def test_a_served_deployment_sends_its_token_home_and_runs_one_at_a_time(sim, tmp_path):
    """One `serve` on a daily schedule, its token for the configured API: it catches up the
    day (one run), refuses a second `serve`, sends no token to an edited parameter's API,
    stops on a terminal's Ctrl-C with the edited run Cancelled, and a restart catches up
    nothing more."""
    name, history, log = "trust-served", tmp_path / "served.db", tmp_path / "serve.log"
    args = ["--cron", "0 0 * * *", "--name", name, "--history", str(history), *REPOS]
    with (
        StandIn(upstream=sim.url) as configured,
        StandIn(upstream=sim.url, latency=2.0) as edited,
    ):
        env = os.environ | {"GITHUB_TOKEN": SENTINEL, "GITHUB_API_URL": configured.url}
        try:
            with serve_in_session(args, log, env) as process:
                wait_for(lambda: completed_runs(name), SERVE_TIMEOUT, "the catch-up run", every=2)
                deployment, runs = deployment_and_runs(name)
                second = subprocess.run(
                    [sys.executable, "-m", "github_stars", "serve", *args],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=CLI_TIMEOUT,
                )
                alive_after_second = process.poll() is None
                serving_pids = {p.pid for p in process.descendants()}
                parameters = deployment.parameters | {"history": str(tmp_path / "edited.db")}
                parameters["settings"] = parameters["settings"] | {"api_url": edited.url}
                with get_client(sync_client=True) as client:  # as the Prefect UI would
                    client.update_deployment(deployment.id, DeploymentUpdate(parameters=parameters))
                    edited_run = client.create_flow_run_from_deployment(deployment.id)
                wait_for(lambda: edited.authorizations("/repos/"), SERVE_TIMEOUT, "the edited run")
                asked = time.monotonic()
                os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in its terminal
                code = process.wait(timeout=120)
                stop_seconds = time.monotonic() - asked
                wait_for(lambda: not alive(process.descendants()), 60, "its processes to end")
            with get_client(sync_client=True) as client:
                edited_state = client.read_flow_run(edited_run.id).state_name
                paused = client.read_deployment(deployment.id).paused
            restart_log = tmp_path / "restart.log"
            with serve_in_session(args, restart_log, env) as again:
                looking = f"Looking for due runs of show-stars/{name}"
                wait_for(lambda: says(restart_log, looking), SERVE_TIMEOUT, "serving again")
                restart_code, _ = stop_with(again, signal.SIGTERM)
            _, all_runs = deployment_and_runs(name)
        finally:
            pause(name)
    text = log.read_text(errors="replace")
    catch_ups = [run for run in all_runs if "catch-up" in run.tags]
    assert len(catch_ups) == 1 and len([r for r in runs if "catch-up" in r.tags]) == 1
    assert "Catching up: the run due at" in text and "Catching up" not in restart_log.read_text()
    assert deployment.global_concurrency_limit.limit == 1  # one flow run at a time, anywhere
    assert second.returncode == 2 and alive_after_second
    named = re.search(
        rf"show-stars/{name} is already served by another serve \(pid (\d+) ", second.stderr
    )
    assert named and int(named[1]) in serving_pids  # the serving child of the first one
    assert set(configured.authorizations("/repos/")) == {f"Bearer {SENTINEL}"}
    wrong = [value for value in edited.authorizations() if value is not None]
    notice = f"GITHUB_TOKEN is not sent to {edited.url}: the token goes only to {configured.url}"
    assert notice in text and SENTINEL not in text
    assert code == 0 and restart_code == 0, text[-3000:]
    assert edited_state == "Cancelled" and paused
    assert not [r.state_name for r in all_runs if r.state_name in ("Crashed", "Running")]
    record_figures(
        "served",
        authorization_headers_to_the_edited_api=len(wrong),
        catch_up_runs=len(catch_ups),
        second_serve_exit=second.returncode,
        stop_seconds_after_ctrl_c_mid_run=round(stop_seconds, 1),
        edited_run_final_state=edited_state,
    )
    assert wrong == []


@pytest.fixture
def own_prefect_server(tmp_path, seed_prefect_home) -> Iterator[PrefectServer]:
    """A Prefect server this test stops and starts again (on its port, with its database)."""
    server = PrefectServer(home=seed_prefect_home(tmp_path / "prefect"), port=free_port())
    with server:
        yield server


def test_serve_rides_out_a_prefect_server_outage(sim, tmp_path, own_prefect_server):
    server, name, log = own_prefect_server, "trust-outage", tmp_path / "serve.log"
    args = ["--interval", "5", "--name", name, "--history", str(tmp_path / "h.db"), *REPOS]
    env = os.environ | {"PREFECT_API_URL": server.api_url}
    with temporary_settings({PREFECT_API_URL: server.api_url}):
        try:
            with serve_in_session(args, log, env) as process:
                before = wait_for(lambda: completed_runs(name), SERVE_TIMEOUT, "a run", every=2)
                server.stop()
                down = time.monotonic()
                wait_for(lambda: says(log, "does not answer"), 60, "serve to say it waits")
                time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))
                server.start()
                restarted_seconds = server.start_seconds
                back = time.monotonic()
                survived = process.poll() is None
                after = wait_for(
                    lambda: completed_runs(name) - before, SERVE_TIMEOUT, "a run after it", every=2
                )
                resumed_seconds = time.monotonic() - back
                code, _ = stop_with(process, signal.SIGTERM)
            deployment, _ = deployment_and_runs(name)
        finally:
            pause(name)
    text = log.read_text(errors="replace")
    record_figures(
        f"outage-{OUTAGE_SECONDS:.0f}s",
        outage_seconds=OUTAGE_SECONDS,
        serve_survived=survived,
        prefect_server_restart_seconds=round(restarted_seconds, 1),
        first_run_completed_after_restart_seconds=round(resumed_seconds, 1),
        runs_completed_after=len(after),
    )
    assert survived and code == 0, text[-4000:]
    assert "does not answer" in text and "answers again after" in text
    assert deployment.paused


def handles(pid: int, signum: int) -> bool:
    """Whether process `pid` has a handler of its own for `signum` (Linux: SigCgt)."""
    with contextlib.suppress(OSError):
        status = Path(f"/proc/{pid}/status").read_text()
        caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
        return bool(int(caught.split()[1], 16) >> (signum - 1) & 1)
    return False


@pytest.mark.parametrize(
    "when", ["as soon as it handles signals", "while its server starts", "once it serves"]
)
def test_a_signal_during_start_up_stops_serve_with_nothing_left_running(
    sim, tmp_path, seed_prefect_home, when
):
    """No PREFECT_API_URL and no lab server: `serve` starts a Prefect server of its own (its
    home seeded, as the suite's); a SIGTERM comes as soon as `serve` handles it, while its
    server starts, or once it serves. It exits 0 and leaves nothing running."""
    home = tmp_path / "home"
    seed_prefect_home(home / "run-server")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_PORT": str(free_port()),  # no lab server there
        "GITHUB_TOKEN": SENTINEL,
    }
    args = ["--interval", "5", "--name", "trust-start-up", "--history", str(tmp_path / "h.db")]
    server_environ: dict[str, str] = {}

    def prefect_server(process) -> psutil.Process | None:
        return next((p for p in process.descendants() if "server" in p.cmdline()), None)

    started = time.monotonic()
    with serve_in_session(args, tmp_path / "serve.log", env) as process:
        if when == "as soon as it handles signals":
            wait_for(lambda: handles(process.pid, signal.SIGTERM), 60, "its handler", every=0.01)
        elif when == "once it serves":
            serving = "Looking for due runs of show-stars/trust-start-up"
            wait_for(lambda: says(tmp_path / "serve.log", serving), 300, "serving", every=0.2)
        else:
            found = wait_for(lambda: prefect_server(process), 120, "its Prefect server", every=0.1)
            with contextlib.suppress(psutil.Error):
                server_environ = found.environ()
        asked = time.monotonic()
        code, stop_seconds = stop_with(process, signal.SIGTERM)
        left = alive(process.descendants())
    text = (tmp_path / "serve.log").read_text(errors="replace")
    record_figures(
        f"signal-{when.split()[-1]}",
        when=when,
        signal_after_seconds=round(asked - started, 2),
        stop_seconds=round(stop_seconds, 2),
        exit_code=code,
        processes_left=len(left),
    )
    assert code == 0 and left == [], text[-3000:]
    if when == "once it serves":
        assert "Stopped serving; the schedule of show-stars/trust-start-up is paused." in text
    else:
        assert "Stopped during start-up (SIGTERM); nothing was left running." in text
    if "server" in when:
        assert server_environ and "GITHUB_TOKEN" not in server_environ


# --- 5. stores are opened as meant -------------------------------------------------------------
@pytest.mark.parametrize("location", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_history_is_a_usage_error(location):
    done = run_cli("psf/requests", "--history", location)
    assert done.returncode == 2 and "in-memory SQLite database keeps nothing" in done.stderr


def test_history_reads_a_foreign_file_without_changing_a_byte(tmp_path):
    app = tmp_path / "app.db"
    before = another_applications_file(app)
    done = run_cli("history", str(app))
    assert done.returncode == 2
    assert done.stderr.strip().endswith("holds no star history (no table 'star_history')")
    assert app.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["app.db"]


def test_history_names_an_unreadable_row_and_shows_the_others(tmp_path):
    history = tmp_path / "h.db"
    with StarHistory.open(history, SIMULATOR) as store:
        for day, stars in ((1, 10), (2, 12)):
            result = RepoResult("a/b", stars=stars, stats={"forks_count": 1})
            store.keep(dt.date(2026, 2, day), result, dt.datetime(2026, 2, day, 6, tzinfo=dt.UTC))
    with contextlib.closing(sqlite3.connect(history)) as db:
        db.execute("UPDATE star_history SET stars = -3 WHERE day = '2026-02-02'")
        db.commit()
    done = run_cli("history", str(history))
    assert done.returncode == 1
    assert "unreadable row, left out: 2026-02-02 a/b: stars must be >= 0, got -3" in done.stderr
    assert "1 rows, 1 repositories" in done.stdout


# --- 6. inputs ----------------------------------------------------------------------------
def test_input_that_is_not_utf8_is_a_usage_error_naming_its_line():
    data = "psf/requests\npallets/flask\ncaf\xe9/x\n".encode("latin-1")
    done = run_cli("--from", "-", stdin=data, LC_ALL="C.UTF-8", PYTHONUTF8="1")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--from <stdin>:3: not a UTF-8 text file (byte 0xe9 in column 4)" in done.stderr


def test_a_bom_on_stdin_and_a_comment_repeating_a_csv_header(tmp_path):
    listed = tmp_path / "stars.csv"
    listed.write_text("# repo,stars\nrepo,stars\npallets/flask,1\n")
    done = run_cli("--from", "-", "--from", str(listed), stdin="\ufeffpsf/requests\n".encode())
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == [
        "psf/requests",
        "pallets/flask",
    ]
