"""Lesson 00 · Try it yourself: five repositories of your choice, then one that does not exist.

The flow run fails at the missing repository: the API answers `404 Not Found`, which
`raise_for_status()` turns into `httpx.HTTPStatusError`, and the repositories after it are
never asked.
"""

import httpx

from github_stars.lab.checks import check_requests, check_stars, expect_failure
from github_stars.lab.logs import one_line_errors
from github_stars.simulator import start_simulator
from github_stars.steps.plain import show_stars

sim = start_simulator()
sim.configure(latency=0.2)

my_repos = ["psf/requests", "pallets/flask", "django/django", "tiangolo/fastapi", "numpy/numpy"]
sim.reset()
check_stars(show_stars(my_repos))

# A repository that does not exist, in the middle: the flow run fails there.
sim.reset()
with one_line_errors(), expect_failure(httpx.HTTPStatusError):
    show_stars(my_repos[:2] + ["octocat/no-such-repository"] + my_repos[2:])
check_requests(sim, {200: 2, 404: 1})  # the three after it were never asked
