"""The finished pipeline on a Dask cluster: worker processes, one Prefect server, one budget.

One cluster started the way an operator would (`dask scheduler`, `dask worker --nworkers 2`,
separate processes without the run's environment: no PREFECT_API_URL, no GITHUB_API_URL,
another PREFECT_HOME) serves most tests; `--dask-workers 2` starts its own local cluster.
Every process is started and stopped here, on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from distributed import Client, get_task_stream
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from github_stars import scale_out
from github_stars.pipeline import show_stars
from github_stars.retry_after import pause_key
from github_stars.shared_pause import PrefectVariablePauses
from github_stars.simulator import free_port
from github_stars.simulator.snapshot import snapshot_repo_names, snapshot_stars
from github_stars.tasks import fetch_stats

STARS = snapshot_stars()
ATTEMPTS = fetch_stats.retries + 1
SENTINEL = "ghp_scaleoutsentinel0123456789abcdef"
SEED = ["PrefectHQ/prefect", "pydantic/pydantic", "huggingface/transformers"]

pytestmark = pytest.mark.timeout(240)


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


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory) -> Iterator[str]:
    """`dask scheduler` + `dask worker --nworkers 2`: generic workers, started before any run.

    Their environment has none of the run's settings (no PREFECT_API_URL, GITHUB_API_URL or
    result storage, another PREFECT_HOME); it has its own GITHUB_TOKEN, as an operator
    would give it. Yields the scheduler's address.
    """
    logs = tmp_path_factory.mktemp("dask-cluster")
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PREFECT_API_URL", "GITHUB_API_URL", "PREFECT_LOCAL_STORAGE_PATH"}
    }
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
        yield address
    finally:
        for process in reversed(started):
            stop(process)


@pytest.fixture
def dask_client(dask_cluster) -> Iterator[Client]:
    with Client(dask_cluster, set_as_default=False) as client:
        yield client


@pytest.fixture
def shared_pauses(sim):
    """The Prefect server's pause for the simulator, cleared before and after the test."""
    store = PrefectVariablePauses()
    with _worker_token():
        store.clear(pause_key())
    yield store
    with _worker_token():
        store.clear(pause_key())


@contextlib.contextmanager
def _worker_token() -> Iterator[None]:
    """This process with the workers' token (the pause key is per API and token)."""
    saved = os.environ.get("GITHUB_TOKEN")
    os.environ["GITHUB_TOKEN"] = SENTINEL
    try:
        yield
    finally:
        scale_out._apply({"GITHUB_TOKEN": saved})


def run_on(address: str, repos: list[str]):
    """The finished flow on the cluster at `address`: its state."""
    with scale_out.dask_task_runner(address=address) as runner:
        return show_stars.with_options(task_runner=runner)(repos, return_state=True)


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "github_stars", *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=220,
    )


def expected_lines(repos: list[str]) -> list[str]:
    return [f"{repo}: {STARS[repo.lower()]} stars" for repo in repos]


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


# --- correct across processes ---------------------------------------------------------------
def test_a_429_one_worker_sees_pauses_every_worker(
    sim, dask_cluster, dask_client, shared_pauses, monkeypatch
):
    """After a 429 with Retry-After, no request leaves any worker before that time.

    The budget spreads 30 requests over ~4 s, so both workers are sending when one of them
    is refused; the refusal is mid-run.
    """
    monkeypatch.setenv("GITHUB_STARS_RATE_LIMIT", "2")
    monkeypatch.setenv("GITHUB_STARS_RATE_PER_SECOND", "8")
    repos = snapshot_repo_names()[100:130]
    refused = repos[12]  # mid-list: requests before it, and most of the run after its pause
    retry_after = 2
    sim.configure(faults={refused: [429]}, retry_after=retry_after, latency=0.05)
    with get_task_stream(client=dask_client) as stream:
        state = run_on(dask_cluster, repos)
    assert [r.stars for r in state.result()] == [STARS[r.lower()] for r in repos]
    assert len({entry["worker"] for entry in stream.data}) == 2  # both processes ran tasks
    with get_client(sync_client=True) as prefect:  # the task runs are on this server (#19925)
        task_runs = prefect.read_task_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
            )
        )
    assert len([t for t in task_runs if t.name.startswith("fetch_stats")]) == len(repos)
    log = sim.requests()
    (refusal,) = [e for e in log if e["status"] == 429]
    until = refusal["t_end"] + retry_after
    # Requests already past their wait when the refusal came back may still land in its
    # first moments (the refusal takes a round trip to the Prefect server to be shared).
    grace = 0.3
    during = [e for e in log if refusal["t_end"] + grace < e["t_start"] < until - 0.05]
    assert during == [], f"{len(during)} requests during the pause"
    assert any(e["t_start"] < refusal["t_start"] for e in log)  # it came mid-run ...
    after = [e for e in log if e["t_start"] >= until - 0.05]
    assert len(after) >= 5  # ... and the run went on after the pause, on both workers


def test_the_token_stays_in_the_workers_environment(sim, dask_cluster, shared_pauses, monkeypatch):
    from test_secrets import files_to_search, leaks, wait_for_server_writes

    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    sim.configure(faults={"pyca/bcrypt": [503] * ATTEMPTS})
    state = run_on(dask_cluster, ["pyca/cryptography", "pyca/bcrypt"])
    assert [r.ok for r in state.result()] == [True, False]
    assert sim.requests() and all(e["authenticated"] for e in sim.requests())
    with get_client(sync_client=True) as prefect:
        task_runs = prefect.read_task_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
            )
        )
        flow_run = prefect.read_flow_run(state.state_details.flow_run_id)
    assert SENTINEL not in repr(flow_run.parameters) + repr(task_runs)
    wait_for_server_writes()
    assert leaks(files_to_search(), SENTINEL) == []


def test_a_worker_killed_mid_run_loses_nothing(sim, dask_cluster, dask_client, shared_pauses):
    """SIGKILL one worker process while its tasks are in flight: every repository is still
    reported once, with its stars or a clear error."""
    repos = snapshot_repo_names()[200:216]
    sim.configure(latency=1.5)
    pids = dask_client.run(os.getpid)
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["state"] = run_on(dask_cluster, repos)
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


# --- the pieces --------------------------------------------------------------------------
def test_the_run_environment_is_set_on_a_worker_and_restored_after(monkeypatch):
    monkeypatch.setenv("GITHUB_STARS_TIMEOUT", "7")
    monkeypatch.delenv("GITHUB_STARS_MAX_WAIT", raising=False)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    settings = scale_out.run_environment({"GITHUB_API_URL": "http://127.0.0.1:1"})
    assert settings["GITHUB_API_URL"] == "http://127.0.0.1:1"
    assert settings["GITHUB_STARS_TIMEOUT"] is None  # not set for the run: unset on workers
    assert settings["GITHUB_STARS_SHARED_PAUSE"] == "1"
    assert "GITHUB_TOKEN" not in settings
    plugin = scale_out.RunEnvironment(settings | {"GITHUB_STARS_MAX_WAIT": "5"})
    plugin.setup(worker=None)
    assert os.environ["GITHUB_API_URL"] == "http://127.0.0.1:1"
    assert "GITHUB_STARS_TIMEOUT" not in os.environ
    assert os.environ["GITHUB_STARS_MAX_WAIT"] == "5"
    plugin.teardown(worker=None)
    assert os.environ["GITHUB_STARS_TIMEOUT"] == "7"
    assert "GITHUB_STARS_MAX_WAIT" not in os.environ and "GITHUB_API_URL" not in os.environ


def test_either_workers_or_an_address():
    for kwargs in ({}, {"workers": 2, "address": "tcp://127.0.0.1:1"}, {"workers": 0}):
        with pytest.raises(ValueError), scale_out.dask_task_runner(**kwargs):
            pass


def test_the_shared_pause_holds_across_processes_and_is_never_keyed_by_the_token(
    monkeypatch, shared_pauses
):
    from github_stars.retry_after import ApiPause
    from github_stars.shared_pause import variable_name

    monkeypatch.setenv("GITHUB_TOKEN", SENTINEL)
    monkeypatch.setenv("GITHUB_STARS_SHARED_PAUSE", "1")
    one, other = ApiPause(), ApiPause()  # two processes' pauses: nothing shared in memory
    one.pause(pause_key(), 3)
    assert 2 < other.remaining(pause_key()) <= 3
    assert SENTINEL not in variable_name(pause_key())
    other.clear()
    assert other.remaining(pause_key()) == 0 and one.remaining(pause_key()) > 2  # its memory
