"""Lesson 06, Try it yourself: the finished pipeline on three worker processes."""

from distributed import Client, LocalCluster, get_task_stream
from prefect_dask import DaskTaskRunner

from github_stars.lab.checks import check_stars
from github_stars.lab.dask_checks import check_workers
from github_stars.pipeline import show_stars
from github_stars.scale_out import share_run_settings
from github_stars.simulator import start_simulator
from github_stars.simulator.snapshot import snapshot_repo_names

if __name__ == "__main__":  # worker processes import this file: start the cluster only here
    sim = start_simulator()
    sim.configure()
    cluster3 = LocalCluster(
        n_workers=3, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=":0"
    )
    client3 = Client(cluster3)
    share_run_settings(client3)
    on_three = show_stars.with_options(task_runner=DaskTaskRunner(cluster3.scheduler_address))
    with get_task_stream(client3) as stream:
        results = on_three(snapshot_repo_names()[600:609])
    client3.close()
    cluster3.close()
    check_stars({r.repo: r.stars for r in results})
    check_workers(stream.data, processes=3)
