"""The repositories a command names: arguments, then each `--from` list."""

from __future__ import annotations

import argparse

from github_stars.cli.repo_list import RepoList, RepoListError, read_repo_list
from github_stars.settings import DEFAULT_REPOS


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """`OWNER/REPO ...` and `--from PATH` (repeatable)."""
    parser.add_argument(
        "repos",
        nargs="*",
        metavar="OWNER/REPO",
        help=f"repositories (default: {' '.join(DEFAULT_REPOS)})",
    )
    parser.add_argument(
        "--from",
        dest="sources",
        action="append",
        default=[],
        metavar="PATH",
        help="read repositories from a file ('-': stdin); may be repeated",
    )


def read_inputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> RepoList:
    """The names to fetch: arguments, then each `--from` list. Unreadable lists exit 2."""
    inputs = RepoList(names=list(args.repos))
    for source in args.sources:
        try:
            inputs.extend(read_repo_list(source))
        except RepoListError as exc:
            parser.error(f"--from {exc}")
    if args.sources and not inputs.names and not inputs.problems:
        parser.error(f"--from: no repositories in {', '.join(args.sources)}")
    if not args.repos and not args.sources:
        inputs.names = list(DEFAULT_REPOS)
    return inputs
