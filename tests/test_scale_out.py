"""The finished pipeline on a Dask cluster: worker processes, one Prefect server, one budget.

One cluster started the way an operator would (`dask scheduler`, `dask worker --nworkers 2`,
separate processes without the run's environment: no PREFECT_API_URL, no GITHUB_API_URL,
another PREFECT_HOME) serves most tests; `--dask-workers 2` starts its own local cluster.
The run's settings reach the workers inside the `GitHubApi` each task gets; the token does
not travel (each worker reads its own). Every process is started and stopped here, on
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import cli_process
import pytest
from distributed import Client, get_task_stream
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from github_stars.cli.scale_out import dask_cluster as cli_dask_cluster
from github_stars.cli.scale_out import token_digest, warn_about_worker_tokens
from github_stars.core import GitHubApi, RateBudget, Settings
from github_stars.core.pause import ApiPause, PrefectVariablePauses, variable_name
from github_stars.lab.dask_checks import PAUSE_NEWS
from github_stars.pipeline import fetch_stats, on_dask
from github_stars.servers import free_port
from github_stars.simulator.snapshot import snapshot_repo_names, snapshot_stars

STARS = snapshot_stars()
ATTEMPTS = fetch_stats.retries + 1
SENTINEL = "ghp_scaleoutsentinel0123456789abcdef"  # the workers' token
SEED = ["PrefectHQ/prefect", "pydantic/pydantic", "huggingface/transformers"]

# Bounds for a busy shared 2-core machine, where starting the module's cluster and importing
# the pipeline in it (`warm_up`, in the first test that uses it) takes minutes, and so can a
# CLI run on it; tests with two CLI runs get longer.
pytestmark = pytest.mark.timeout(600)
CLI_TIMEOUT = 420
TWO_CLI_RUNS = pytest.mark.timeout(2 * CLI_TIMEOUT + 240)
run_cli = functools.partial(cli_process.run_cli, timeout=CLI_TIMEOUT)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:.0f} s")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    """End `process` and its whole process group (a `dask worker` has nannies and workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def warm_up(client: Client) -> None:
    """Import the pipeline once in the scheduler and in each worker process.

    Dask's scheduler unpickles every task it is given (Prefect and the pipeline with it) and a
    worker every task it runs: a first import on a busy 2-core machine holds their event loops
    for a minute or more, long enough for a client to lose its connection to the scheduler.
    """

    def load() -> None:
        import github_stars.pipeline  # noqa: F401 - imported for its cost only

    client.run_on_scheduler(load)
    workers = list(client.scheduler_info()["workers"])
    client.gather([client.submit(load, workers=[w], pure=False) for w in workers])


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory) -> Iterator[str]:
    """`dask scheduler` + `dask worker --nworkers 2`: generic workers, started before any run.

    Their environment has none of the run's settings (no PREFECT_API_URL, GITHUB_API_URL,
    result storage or HTTP cache, another PREFECT_HOME); it has its own GITHUB_TOKEN, as an
    operator would give it. The pipeline is imported in each process (`warm_up`). Yields the
    scheduler's address.
    """
    logs = tmp_path_factory.mktemp("dask-cluster")
    unset = {
        "PREFECT_API_URL",
        "GITHUB_API_URL",
        "PREFECT_LOCAL_STORAGE_PATH",
        "GITHUB_STARS_HTTP_CACHE",
    }
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    environ |= {"PREFECT_HOME": str(logs / "worker-prefect-home"), "GITHUB_TOKEN": SENTINEL}
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    started = []
    try:
        for args, log in (
            (
                ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                "scheduler.log",
            ),
            (
                [
                    "worker",
                    address,
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "4",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                ],
                "worker.log",
            ),
        ):
            with open(logs / log, "wb") as out:
                started.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "dask", *args],
                        env=environ,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
            warm_up(client)
        yield address
    finally:
        for process in reversed(started):
            stop(process)


@pytest.fixture
def dask_client(dask_cluster) -> Iterator[Client]:
    with Client(dask_cluster, set_as_default=False) as client:
        yield client


@pytest.fixture
def shared_pause(sim) -> Iterator[PrefectVariablePauses]:
    """GitHub's pause for the simulator and the workers' token, as the workers keep it on the
    Prefect server (`share_pause`); cleared before and after the test."""
    with get_client(sync_client=True) as prefect:
        store = PrefectVariablePauses(prefect, variable_name(sim.url, SENTINEL))
        store.clear()
        yield store
        store.clear()


def run_on(address: str, repos: list[str], settings: Settings):
    """The finished flow on the cluster at `address`, as the CLI runs it: its state."""
    shared = settings.with_changes(share_pause=True)
    return on_dask(address)(repos, shared, return_state=True)


def expected_lines(repos: list[str]) -> list[str]:
    return [f"{repo}: {STARS[repo.lower()]} stars" for repo in repos]


def task_runs_of(state, at_least: int = 0) -> list:
    """The run's task runs on this server (#19925). The server records them from the events
    the workers send, a moment after the run ends on a busy machine: read until there are
    `at_least` (at most 30 s)."""

    runs: list = []

    def recorded() -> bool:
        nonlocal runs
        with get_client(sync_client=True) as prefect:
            runs = prefect.read_task_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
                )
            )
        return len(runs) >= at_least

    wait_for(recorded, 30, f"{at_least} task runs recorded")
    return runs


def fetch_tasks(stream: list[dict]) -> list[dict]:
    """The `fetch_stats` tasks a Dask task stream saw, each with the worker that ran it."""
    return [entry for entry in stream if "fetch_stats" in str(entry.get("key", ""))]


# --- the CLI ---------------------------------------------------------------------------------
def test_cli_on_a_local_cluster_of_two_processes_with_faults(sim):
    """`--dask-workers 2`: the seed's repositories, a retried fault, a 404 and a 429."""
    sim.configure(faults={"pallets/flask": [503, 503], "encode/httpx": [429]}, retry_after=1)
    repos = [*SEED, "pallets/flask", "encode/httpx", "nobody/nothing-here"]
    done = run_cli(*repos, "--dask-workers", "2", GITHUB_API_URL=sim.url)
    assert done.returncode == 1, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if ": " in line]
    assert lines == [*expected_lines(repos[:5]), "nobody/nothing-here: error: not found (404)"]
    statuses = [(e["repo"], e["status"]) for e in sim.requests()]
    assert statuses.count(("nobody/nothing-here", 404)) == 1  # asked once
    assert [s for r, s in statuses if r == "pallets/flask"] == [503, 503, 200]
    assert [s for r, s in statuses if r == "encode/httpx"] == [429, 200]
    assert "Starting temporary server" not in done.stderr  # the session's one server


@TWO_CLI_RUNS
def test_cli_on_an_existing_scheduler(sim, dask_cluster):
    """`--dask-address`: generic workers get the run's API with the run; then the cache."""
    sim.configure(faults={"tiangolo/fastapi": [502, "reset"]})
    done = run_cli(
        *SEED,
        "tiangolo/fastapi",
        "--dask-address",
        dask_cluster,
        GITHUB_API_URL=sim.url,
        GITHUB_TOKEN=SENTINEL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line for line in done.stdout.splitlines() if ": " in line] == expected_lines(
        [*SEED, "tiangolo/fastapi"]
    )
    assert sim.request_count() == 6
    assert SENTINEL not in done.stdout + done.stderr
    # The next run is served by the cache the workers wrote (whichever worker ran what).
    sim.reset()
    again = run_cli(
        *SEED,
        "tiangolo/fastapi",
        "--dask-address",
        dask_cluster,
        GITHUB_API_URL=sim.url,
        GITHUB_TOKEN=SENTINEL,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert sim.request_count() == 0


@TWO_CLI_RUNS
def test_workers_send_conditional_requests_with_the_cli_http_cache(sim, dask_cluster, dask_client):
    """The CLI turns the HTTP cache on, and on Dask the workers send the requests: a re-run
    whose tasks run again revalidates what the first run's workers stored (`If-None-Match`),
    and is answered 304 Not Modified.

    The second run bypasses Prefect's cache (`PREFECT_TASKS_REFRESH_CACHE`), so its tasks
    run. The simulator answers 304 only to an `If-None-Match` naming the repository's current
    ETag; the cluster's task stream shows that each repository's task ran in a worker process.
    """
    repos = snapshot_repo_names()[400:408]
    env = {"GITHUB_API_URL": sim.url, "GITHUB_TOKEN": SENTINEL}
    with get_task_stream(client=dask_client) as stream:
        first = run_cli(*repos, "--dask-address", dask_cluster, **env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert sorted((e["repo"], e["status"]) for e in sim.requests()) == sorted(
        (repo.lower(), 200) for repo in repos
    )
    assert len(fetch_tasks(stream.data)) == len(repos)  # each task ran in a worker process

    sim.reset()
    with get_task_stream(client=dask_client) as stream:
        second = run_cli(
            *repos, "--dask-address", dask_cluster, PREFECT_TASKS_REFRESH_CACHE="true", **env
        )
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.splitlines() == expected_lines(repos)
    assert f"{len(repos)} ok (0 from Prefect's cache)" in second.stderr  # the tasks ran
    assert sorted((e["repo"], e["status"], e["kind"]) for e in sim.requests()) == sorted(
        (repo.lower(), 304, "not_modified") for repo in repos
    )
    # the tasks that revalidated ran on the workers: the run's own process sent none of them
    assert len(fetch_tasks(stream.data)) == len(repos)
    assert SENTINEL not in first.stderr + second.stderr


# --- correct across processes ---------------------------------------------------------------
def test_a_429_one_worker_sees_pauses_every_worker(
    sim, settings, dask_cluster, dask_client, shared_pause
):
    """After a 429 with Retry-After, no request leaves any worker before that time.

    The budget spreads 30 requests over ~4 s, so both workers are sending when one of them
    is refused; the refusal is the run's 8th request, whichever repository Dask ran then:
    requests before it, and most of the run after its pause.
    """
    repos = snapshot_repo_names()[100:130]
    retry_after = 3
    sim.configure(refuse_nth=8, retry_after=retry_after, latency=0.05)
    budget = settings.with_changes(budget=RateBudget(limit=2, per_second=8))
    with get_task_stream(client=dask_client) as stream:
        state = run_on(dask_cluster, repos, budget)
    assert [r.stars for r in state.result()] == [STARS[r.lower()] for r in repos]
    assert len({entry["worker"] for entry in stream.data}) == 2  # both processes ran tasks
    task_runs = task_runs_of(state, at_least=len(repos))
    assert len([t for t in task_runs if t.name.startswith("fetch_stats")]) == len(repos)
    log = sim.requests()
    (refusal,) = [e for e in log if e["status"] == 429]
    until = refusal["t_end"] + retry_after
    # Requests already past their wait when the refusal came back may still land in its
    # first moments (the refusal takes a round trip to the Prefect server to be shared).
    grace = PAUSE_NEWS  # up to a second on a busy machine
    during = [e for e in log if refusal["t_end"] + grace < e["t_start"] < until - 0.05]
    assert during == [], f"{len(during)} requests during the pause"
    assert any(e["t_start"] < refusal["t_start"] for e in log)  # it came mid-run ...
    after = [e for e in log if e["t_start"] >= until - 0.05]
    assert len(after) >= 5  # ... and the run went on after the pause, on both workers


def test_the_token_stays_in_the_workers_environment(
    sim, settings, dask_cluster, shared_pause, monkeypatch
):
    """Each worker decides with its own environment where its token may go: the API its
    GITHUB_API_URL names (here none: api.github.com), never the simulator a run names."""
    from test_secrets import files_to_search, leaks, wait_for_server_writes

    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    sim.configure(faults={"pyca/bcrypt": [503] * ATTEMPTS})
    state = run_on(dask_cluster, ["pyca/cryptography", "pyca/bcrypt"], settings)
    assert [r.ok for r in state.result()] == [True, False]
    assert sim.requests() and not any(e["authenticated"] for e in sim.requests())
    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(state.state_details.flow_run_id)
    assert flow_run.parameters["settings"]["share_pause"] is True  # the run's settings ...
    assert SENTINEL not in repr(flow_run.parameters) + repr(task_runs_of(state))  # ... alone
    wait_for_server_writes()
    assert leaks(files_to_search(), SENTINEL) == []


def test_a_worker_killed_mid_run_loses_nothing(
    sim, settings, dask_cluster, dask_client, shared_pause
):
    """SIGKILL one worker process while its tasks are in flight: every repository is still
    reported once, with its stars or a clear error."""
    repos = snapshot_repo_names()[200:216]
    sim.configure(latency=1.5)
    pids = dask_client.run(os.getpid)
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["state"] = run_on(dask_cluster, repos, settings)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            outcome["error"] = exc

    runner = threading.Thread(target=run)
    runner.start()
    busy: dict[str, object] = {}

    def both_workers_busy() -> bool:
        busy.update(dask_client.processing())
        return sum(len(tasks) > 0 for tasks in busy.values()) == 2

    wait_for(both_workers_busy, 90, "tasks on both workers")
    time.sleep(1.0)  # their requests are out now (each takes 1.5 s)
    victim = pids[next(worker for worker, tasks in busy.items() if tasks)]
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=180)
    assert not runner.is_alive()
    assert "error" not in outcome, outcome.get("error")
    results = outcome["state"].result()
    assert [r.repo for r in results] == repos  # each once, in order
    for result in results:
        assert result.stars == STARS[result.repo.lower()] or result.error, result
    dask_client.wait_for_workers(2, timeout=60)  # the nanny restarted it for the next test
    warm_up(dask_client)


# --- the pieces --------------------------------------------------------------------------
def test_the_run_settings_travel_inside_the_api_and_the_token_does_not(
    settings, dask_client, monkeypatch
):
    """A generic worker (none of the run's environment) gets the run's settings with the
    `GitHubApi` a task receives; it reads its own token, which never travels."""
    mine = "ghp_flowprocesssentinel0123456789abcd"
    monkeypatch.setenv("GITHUB_TOKEN", mine)
    run_settings = settings.with_changes(
        timeout=7.0, max_wait=5.0, budget=RateBudget(limit=3, per_second=2.0), share_pause=True
    )
    api = GitHubApi(run_settings, identity="an API")
    assert mine.encode() not in pickle.dumps(api)

    def what_the_worker_has(api: GitHubApi) -> tuple[Settings, str | None, str]:
        from github_stars.cli.scale_out import token_digest

        return api.settings, os.environ.get("GITHUB_API_URL"), token_digest()

    on_worker = dask_client.submit(what_the_worker_has, api, pure=False).result(timeout=60)
    assert on_worker[0] == run_settings
    assert on_worker[1] is None  # not from the worker's environment
    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    assert on_worker[2] == token_digest()  # the worker's own token


def test_a_worker_with_another_token_is_named_never_its_token(dask_client, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)  # the workers' token: nothing to say
    assert warn_about_worker_tokens(dask_client) == []
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_anothertoken0123456789abcdef0123")
    problems = warn_about_worker_tokens(dask_client)
    assert len(problems) == 2 and all("different GITHUB_TOKEN" in p for p in problems)
    assert all(SENTINEL not in p and "ghp_another" not in p for p in problems)


def test_either_workers_or_an_address():
    for kwargs in ({}, {"workers": 2, "address": "tcp://127.0.0.1:1"}, {"workers": 0}):
        with pytest.raises(ValueError), cli_dask_cluster(**kwargs):
            pass


def test_the_shared_pause_holds_across_processes_and_is_never_keyed_by_the_token(shared_pause):
    # Two processes' pauses: each its own memory, the Prefect server's variable in common.
    one, other = ApiPause(60.0, shared_pause), ApiPause(60.0, shared_pause)
    one.pause(3)
    assert 2 < other.remaining() <= 3
    assert SENTINEL not in shared_pause.name
    shared_pause.clear()
    assert other.remaining() == 0 and one.remaining() > 2  # its memory
