"""Lesson 05, try it yourself: the finished pipeline and the step on a flaky API."""

from github_stars.config import RateBudget
from github_stars.lab.checks import check
from github_stars.lab.results import start_uncached
from github_stars.pipeline import show_stars
from github_stars.rate_limiting import ensure_rate_limit
from github_stars.simulator import start_simulator
from github_stars.simulator.snapshot import snapshot_repo_names
from github_stars.steps import cached

sim = start_simulator()
sim.configure(failure_rate=0.3, seed=3)
start_uncached()
ensure_rate_limit("github-api", RateBudget(limit=50, per_second=50.0))
REPOS = snapshot_repo_names()[300:320]

sim.reset()
results = show_stars(REPOS)
succeeded = sum(result.ok for result in results)
print(f"finished pipeline: {succeeded} of {len(REPOS)} succeeded, {sim.request_count()} requests")

sim.reset()
state = cached.show_stars(REPOS, return_state=True)
print(f"the step: {state.name}, {sim.request_count()} requests")

# With 3 retries, a repository fails only after 4 failed attempts in a row (0.3**4 < 1%).
check(
    f"the finished pipeline reported all {len(results)} repositories",
    len(results) == len(REPOS) and succeeded >= len(REPOS) - 2,
)
