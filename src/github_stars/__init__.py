"""Resilient Pipelines: GitHub star counts with Prefect 3, online or against a local simulator.

    from github_stars import Settings
    from github_stars.pipeline import show_stars      # the finished pipeline (imports Prefect)

    show_stars(["PrefectHQ/prefect"], Settings(api_url="https://api.github.com"))

The package's parts: `pipeline` (the finished flow), `steps` (the flow as each lesson leaves
it), `core` (what the steps and the command line share), `cli` (`python -m github_stars`),
`simulator` (the local GitHub API), `servers`, `reports` and `lab` (the lessons' helpers).
This module imports none of them, so that `python -m github_stars --help` stays quick.
"""

from github_stars.settings import DEFAULT_REPOS, RateBudget, Settings

__version__ = "0.1.0"

__all__ = ["DEFAULT_REPOS", "RateBudget", "Settings", "__version__"]
