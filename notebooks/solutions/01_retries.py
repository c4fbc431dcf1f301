"""Lesson 01 · Try it yourself: random failures, and the fewest retries that still complete.

`failure_rate=0.3, seed=7` fails each request with probability 0.3, the same way every time
for the same seed, repository and attempt. The flow completes as long as `retries` is at least
the most attempts any repository needs, minus one.
"""

from prefect import flow

from github_stars.lab.checks import check
from github_stars.lab.logs import one_line_errors
from github_stars.lab.measure import requests_frame
from github_stars.simulator import start_simulator
from github_stars.simulator.snapshot import snapshot_repo_names
from github_stars.steps import retries

sim = start_simulator()
sim.configure(failure_rate=0.3, seed=7)
ten_repos = snapshot_repo_names()[10:20]

# retries=3 (lesson 01's step): how many attempts did each repository need?
sim.reset()
retries.show_stars(ten_repos)
attempts = requests_frame(sim.requests()).groupby("repo", sort=False).size()
print(attempts.rename("attempts").to_string(), "\n")


@flow
def show_stars_retrying(github_repos: list[str], n_retries: int) -> dict[str, int]:
    """Flow: lesson 01's loop, with `n_retries` retries per repository."""
    fetch_stats = retries.fetch_stats.with_options(retries=n_retries)
    return {repo: retries.get_stars(fetch_stats(repo)) for repo in github_repos}


# Lower retries until a repository fails.
for n_retries in range(3, -1, -1):
    sim.reset()
    with one_line_errors():
        state = show_stars_retrying(ten_repos, n_retries, return_state=True)
    print(f"retries={n_retries}: {state.name}")
    if state.is_failed():
        print(
            f"{state.message.splitlines()[0]} (the most attempts any repository needed: "
            f"{attempts.max()})"
        )
        break
check(
    f"the fewest retries that complete: {n_retries + 1}, the most attempts minus one",
    n_retries + 1 == attempts.max() - 1,
    f"most attempts: {attempts.max()}",
)
