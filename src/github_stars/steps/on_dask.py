"""Optional step (lesson "Scale out on Dask"): the finished pipeline on a Dask cluster.

The flow is the finished pipeline's (`daily`); `on_dask` gives it a `DaskTaskRunner`. The rate
limit is on the Prefect server already; with `share_pause=True` in its settings the run keeps
GitHub's pause there too (a Prefect Variable), so that every worker process honours it.
"""

from prefect import Flow

from github_stars.steps.daily import show_stars


def on_dask(address: str) -> Flow:
    """`show_stars` with its tasks on the Dask cluster at `address`.

    Run it with `share_pause=True` in its settings, so that a pause one worker process is
    told holds every worker (the pause is then kept on the Prefect server too).
    """
    from prefect_dask import DaskTaskRunner  # imported here: Dask is slow to import

    return show_stars.with_options(task_runner=DaskTaskRunner(address=address))
