"""Lesson 02 · Try it yourself: the concurrent flow with 1, 2 and 5 worker threads.

`ThreadPoolTaskRunner(max_workers=N)` runs at most N task runs at a time, so at most N
requests are in flight: with answers of 1 s, as in the lesson, ten repositories take about
10 / N waves of 1 s.
"""

from prefect.task_runners import ThreadPoolTaskRunner

from github_stars.lab.charts import plot_bars
from github_stars.lab.checks import check
from github_stars.lab.measure import connect_to_prefect, max_concurrent, measure_run
from github_stars.simulator import start_simulator
from github_stars.simulator.snapshot import snapshot_repo_names
from github_stars.steps import concurrent

sim = start_simulator()
sim.configure(latency=1.0)
repos = snapshot_repo_names()[:10]
connect_to_prefect()

runs = {}
for workers in (1, 2, 5):
    bounded = concurrent.show_stars.with_options(
        task_runner=ThreadPoolTaskRunner(max_workers=workers)
    )
    runs[workers] = measure_run(sim, bounded, repos)
    print(
        f"max_workers={workers}: {runs[workers].seconds:.1f} s, "
        f"most requests at once: {max_concurrent(runs[workers].requests)}"
    )

figure = plot_bars(
    {f"{workers} workers": run.seconds for workers, run in runs.items()},
    ylabel="seconds",
    title=f"Wall time for {len(repos)} repositories",
)
seconds = [run.seconds for run in runs.values()]
check(
    "more workers, less wall time, never more requests at once than workers: "
    + ", ".join(f"{workers} → {run.seconds:.1f} s" for workers, run in runs.items()),
    seconds == sorted(seconds, reverse=True)
    and all(max_concurrent(run.requests) <= workers for workers, run in runs.items()),
)
