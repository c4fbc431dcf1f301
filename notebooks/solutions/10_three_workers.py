"""Lesson 10, Try it yourself: the finished pipeline on three worker processes."""

from distributed import Client, LocalCluster, get_task_stream

from github_stars.lab.checks import check_stars
from github_stars.lab.dask_checks import check_workers
from github_stars.lab.lesson import lesson_settings
from github_stars.pipeline import on_dask
from github_stars.servers import start_simulator
from github_stars.settings import prefect_api_url
from github_stars.simulator.snapshot import snapshot_repo_names

if __name__ == "__main__":  # worker processes import this file: start the cluster only here
    if not prefect_api_url():
        raise SystemExit(
            "PREFECT_API_URL is not set: the workers and this process need one Prefect server "
            "(`make lab`, or `make server` and PREFECT_API_URL=...)"
        )
    sim = start_simulator(latency=0.05)
    settings = lesson_settings(sim, share_pause=True)
    cluster3 = LocalCluster(
        n_workers=3, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=":0"
    )
    client3 = Client(cluster3)
    with get_task_stream(client3) as stream:
        results = on_dask(cluster3.scheduler_address)(snapshot_repo_names()[600:609], settings)
    client3.close()
    cluster3.close()
    check_stars({result.repo: result.stars for result in results})
    check_workers(stream.data, processes=3)
