"""Read repository lists for `--from`: one name per line, a CSV, or GitHub URLs.

Formats (each line or CSV cell normalised to `owner/repo`):

- one `owner/repo` per line; blank lines and `#` comments (whole-line or trailing) ignored;
- a CSV whose header has a `repo` or `full_name` column (our own `--csv` output, the snapshot);
- GitHub URLs: `https://github.com/owner/repo`, also `http://`, `www.`, no scheme, `.git`, a
  trailing slash, `?query` or `#fragment`.

A bad line becomes a `LineProblem` (`repos.txt:7: invalid name: ...`); the good ones still run.
A list that cannot be read at all (missing file, no usable CSV column) raises `RepoListError`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO
from urllib.parse import urlsplit

from github_stars.core.names import name_problem

NAME_COLUMNS = ("repo", "full_name")
STDIN = "<stdin>"
_GITHUB_HOSTS = {"github.com", "www.github.com"}
_URL_START = re.compile(r"^(?:https?://)?(?:www\.)?github\.com/", re.IGNORECASE)


class RepoListError(ValueError):
    """The list as a whole cannot be used (a usage error: the CLI exits 2)."""


@dataclass(frozen=True)
class LineProblem:
    """One unusable line: where it is, what it said, and why it is not a repository."""

    source: str
    line: int
    text: str
    problem: str

    def __str__(self) -> str:
        shown = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"{self.source}:{self.line}: {self.problem}" + (f" (got {shown!r})" if shown else "")


@dataclass
class RepoList:
    """The names read (file order, duplicates kept: the pipeline fetches each once) and the
    lines that could not be used."""

    names: list[str] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)

    def extend(self, other: RepoList) -> None:
        self.names += other.names
        self.problems += other.problems


def normalise(text: str) -> str:
    """`owner/repo` from a name or a GitHub repository URL (unchanged if neither)."""
    text = text.strip()
    if not _URL_START.match(text):
        return text
    parts = urlsplit(text if "://" in text else f"https://{text}")
    if (parts.hostname or "").lower() not in _GITHUB_HOSTS:
        return text
    path = parts.path.strip("/")
    return path.removesuffix(".git") if path.count("/") == 1 else text


def _entry(source: str, line: int, text: str, out: RepoList) -> None:
    name = normalise(text)
    problem = name_problem(name)
    if problem:
        if "://" in text or _URL_START.match(text):
            problem = "invalid name: not a GitHub repository URL like https://github.com/owner/repo"
        out.problems.append(LineProblem(source, line, text.strip(), problem))
    else:
        out.names.append(name)


def _strip_comment(line: str) -> str:
    return line.split("#", 1)[0].strip()  # '#' is never part of a name (nor of a URL we read)


def _looks_like_csv(first_line: str) -> bool:
    header = first_line.strip().lower()
    return "," in header or header in NAME_COLUMNS


def parse_lines(text: str, source: str) -> RepoList:
    """Names from plain lines (comments and blank lines ignored)."""
    out = RepoList()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = _strip_comment(line)
        if entry:
            _entry(source, number, entry, out)
    return out


def parse_csv(text: str, source: str) -> RepoList:
    """Names from the `repo` (or `full_name`) column of a CSV with a header line."""
    reader = csv.DictReader(io.StringIO(text))
    columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    column = next((columns[c] for c in NAME_COLUMNS if c in columns), None)
    if column is None:
        found = ", ".join(repr(name) for name in reader.fieldnames or []) or "none"
        raise RepoListError(
            f"{source}: no 'repo' or 'full_name' column in its CSV header (columns: {found})"
        )
    out = RepoList()
    for row in reader:
        value = (row.get(column) or "").strip()
        if value and not value.startswith("#"):
            _entry(source, reader.line_num, value, out)
        elif not value and any((v or "").strip() for v in row.values() if isinstance(v, str)):
            out.problems.append(
                LineProblem(
                    source, reader.line_num, "", f"empty name: no value in column {column!r}"
                )
            )
    return out


def parse_text(text: str, source: str) -> RepoList:
    """Names from a list's text: a CSV if its first used line (not blank, not a comment) is a
    header, else plain lines. The header is found by its position, so a comment that repeats
    it (`# repo,stars`) is still a comment."""
    lines = text.splitlines(keepends=True)
    start = next((n for n, line in enumerate(lines) if _strip_comment(line)), None)
    if start is None or not _looks_like_csv(lines[start]):
        return parse_lines(text, source)
    parsed = parse_csv("".join(lines[start:]), source)
    parsed.problems = [
        LineProblem(p.source, p.line + start, p.text, p.problem) for p in parsed.problems
    ]
    return parsed


def decode_list(data: bytes, source: str) -> str:
    """`data` as UTF-8 text without a byte-order mark; `RepoListError` names the line and
    column of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RepoListError(
            f"{source}:{line}: not a UTF-8 text file (byte 0x{data[exc.start]:02x} in "
            f"column {column})"
        ) from None


def read_stdin(stdin: TextIO | BinaryIO) -> str:
    """Standard input as text, decoded here (not by the locale), without a byte-order mark."""
    stream = getattr(stdin, "buffer", stdin)
    data = stream.read()
    if isinstance(data, bytes):
        return decode_list(data, STDIN)
    return data.removeprefix("\ufeff")


def read_repo_list(path: str, stdin: TextIO | BinaryIO | None = None) -> RepoList:
    """Read the list at `path` (`-`: standard input). Raises `RepoListError` if unreadable."""
    if path == "-":
        import sys

        return parse_text(read_stdin(stdin or sys.stdin), STDIN)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise RepoListError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RepoListError(f"{path}: is a directory, not a list of repositories") from None
    except OSError as exc:
        raise RepoListError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return parse_text(decode_list(data, path), path)
