"""Lesson 03 · Try it yourself: a burst of 4 and 1 slot back per second, predicted and measured.

A token bucket lets the first 4 requests go at once; each later one waits for a slot to come
back, one a second. So the 12th request leaves (12 - 4) / 1 = 8 s after the first at the
earliest. Prefect hands slots back no sooner than that, and often a little later.
"""

from github_stars.core import RateBudget, ensure_rate_limit
from github_stars.lab.checks import check_under_budget
from github_stars.lab.measure import measure_run
from github_stars.simulator import start_simulator
from github_stars.simulator.snapshot import snapshot_repo_names
from github_stars.steps.rate_limited import show_stars

BURST, RATE = 4, 1.0
sim = start_simulator()
sim.configure(latency=0.05, secondary_limit=10, secondary_window=4.0, retry_after=4)
REPOS = snapshot_repo_names()[100:112]

ensure_rate_limit("github-api", RateBudget(limit=BURST, per_second=RATE))
predicted = (len(REPOS) - BURST) / RATE
run = measure_run(sim, show_stars, REPOS)
print(
    f"the 12th request left {run.requests['start'].max():.1f} s after the first "
    f"(predicted: {predicted:.1f} s at the earliest)"
)
check_under_budget(run.requests, BURST, RATE)
