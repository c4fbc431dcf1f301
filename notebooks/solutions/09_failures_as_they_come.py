"""Lesson 09, Try it yourself: an observer that keeps the failures as the run reports them."""

from github_stars.core import GitHubApi, RepoResult, observing
from github_stars.lab.checks import check
from github_stars.lab.lesson import lesson_settings
from github_stars.lab.results import start_uncached
from github_stars.servers import start_simulator
from github_stars.simulator.snapshot import snapshot_repo_names
from github_stars.steps import at_scale


class Failures:
    """A run observer: each failed repository and its error, as the run reports it."""

    def __init__(self) -> None:
        self.heard = 0
        self.failed: dict[str, str] = {}

    def opened(self, api: GitHubApi) -> None:
        pass

    def finished(self, result: RepoResult) -> None:
        self.heard += 1
        if not result.ok:
            self.failed[result.repo] = result.error


if __name__ == "__main__":
    sim = start_simulator(latency=0.02)
    start_uncached()  # nothing cached: every repository is asked
    missing = [f"nobody/missing-{n}" for n in (1, 2, 3)]
    repos = snapshot_repo_names()[1300:1357]
    for position, name in zip((5, 30, 50), missing, strict=True):
        repos.insert(position, name)

    with observing(Failures()) as failures:
        at_scale.show_stars(repos, lesson_settings(sim))

    print(f"{missing[0]}: {failures.failed.get(missing[0])}")
    check(
        f"the observer heard {failures.heard} outcomes, {len(failures.failed)} of them "
        f"failures: {', '.join(sorted(failures.failed))}",
        failures.heard == len(repos) and set(failures.failed) == set(missing),
    )
