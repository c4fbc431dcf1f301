"""The finished pipeline: the last step of the lessons (`github_stars.steps.daily`), and the
same flow on a Dask cluster (`on_dask`, the optional lesson's step).

What the command line adds (argument parsing, progress, CSV/JSON, the Dask cluster, serving
on a schedule) lives in `github_stars.cli`, outside the flow and its task.
"""

from github_stars.steps.daily import TASK_THREADS, fetch_stats, get_stars, outcome, show_stars
from github_stars.steps.on_dask import on_dask

__all__ = ["TASK_THREADS", "fetch_stats", "get_stars", "on_dask", "outcome", "show_stars"]
