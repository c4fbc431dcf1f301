"""`--from` lists: plain lines, CSV, GitHub URLs; bad lines carry their line numbers."""

import io

import pytest

from github_stars.cli.repo_list import (
    RepoListError,
    normalise,
    parse_text,
    read_repo_list,
)
from github_stars.simulator.snapshot import SNAPSHOT_FILE, snapshot_repo_names


@pytest.mark.parametrize(
    "text",
    [
        "https://github.com/psf/requests",
        "http://github.com/psf/requests",
        "https://www.github.com/psf/requests",
        "https://github.com/psf/requests.git",
        "https://github.com/psf/requests/",
        "github.com/psf/requests",
        "HTTPS://GitHub.com/psf/requests",
        "https://github.com/psf/requests?tab=readme",
        "  psf/requests  ",
    ],
)
def test_names_and_github_urls_become_owner_repo(text):
    assert normalise(text) == "psf/requests"


def test_plain_lines_skip_blanks_and_comments_and_report_bad_lines():
    text = (
        "# my list\n"
        "psf/requests\n"
        "\n"
        "https://github.com/pallets/flask.git   # trailing comment\n"
        "foo\n"
        "https://gitlab.com/a/b\n"
        "https://github.com/a/b/tree/main\n"
        "   PrefectHQ/prefect\n"
    )
    parsed = parse_text(text, "repos.txt")
    assert parsed.names == ["psf/requests", "pallets/flask", "PrefectHQ/prefect"]
    assert [str(p) for p in parsed.problems] == [
        "repos.txt:5: invalid name: expected exactly one '/' as in 'owner/repo' (got 'foo')",
        "repos.txt:6: invalid name: not a GitHub repository URL like "
        "https://github.com/owner/repo (got 'https://gitlab.com/a/b')",
        "repos.txt:7: invalid name: not a GitHub repository URL like "
        "https://github.com/owner/repo (got 'https://github.com/a/b/tree/main')",
    ]


def test_csv_with_a_repo_column_like_our_own_csv_output():
    text = "# exported\nrepo,stars\npsf/requests,1\n,2\nbad,3\nhttps://github.com/x/y,4\n"
    parsed = parse_text(text, "stars.csv")
    assert parsed.names == ["psf/requests", "x/y"]
    assert [(p.line, p.problem.split(":")[0]) for p in parsed.problems] == [
        (4, "empty name"),
        (5, "invalid name"),
    ]


def test_single_column_csv_and_full_name_column():
    assert parse_text("repo\npsf/requests\n", "a.csv").names == ["psf/requests"]
    assert parse_text("id,Full_Name\n1,psf/requests\n", "b.csv").names == ["psf/requests"]


def test_csv_without_a_usable_column_is_a_usage_error():
    with pytest.raises(RepoListError, match=r"x\.csv: no 'repo' or 'full_name' column .*'a', 'b'"):
        parse_text("a,b\n1,2\n", "x.csv")


def test_the_bundled_snapshot_reads_as_a_list():
    from importlib import resources

    path = resources.files("github_stars.data").joinpath(SNAPSHOT_FILE)
    parsed = read_repo_list(str(path))
    # Every name is valid, 'petarv-/GAT' (an older login that ends with a hyphen) included.
    assert parsed.names == snapshot_repo_names() and len(parsed.names) == 2787
    assert parsed.problems == []


def test_missing_unreadable_and_stdin(tmp_path):
    with pytest.raises(RepoListError, match="nope.txt: no such file"):
        read_repo_list(str(tmp_path / "nope.txt"))
    with pytest.raises(RepoListError, match="is a directory"):
        read_repo_list(str(tmp_path))
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RepoListError, match="bin.txt:1: not a UTF-8 text file"):
        read_repo_list(str(binary))
    parsed = read_repo_list("-", stdin=io.StringIO("psf/requests\nbad name\n"))
    assert parsed.names == ["psf/requests"]
    assert str(parsed.problems[0]).startswith("<stdin>:2: invalid name")


def test_a_byte_that_is_not_utf8_is_named_by_line_and_column_on_stdin_too(tmp_path):
    data = "psf/requests\npallets/flask\nbad-\xe9\n".encode("latin-1")
    (tmp_path / "latin1.txt").write_bytes(data)
    with pytest.raises(RepoListError, match=r"latin1.txt:3: .*byte 0xe9 in column 5"):
        read_repo_list(str(tmp_path / "latin1.txt"))
    with pytest.raises(RepoListError, match=r"<stdin>:3: not a UTF-8 text file"):
        read_repo_list("-", stdin=io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_a_byte_order_mark_is_stripped_from_a_file_and_stdin(tmp_path):
    data = "\ufeffrepo,stars\npsf/requests,1\n".encode()
    (tmp_path / "bom.csv").write_bytes(data)
    assert read_repo_list(str(tmp_path / "bom.csv")).names == ["psf/requests"]
    from_bytes = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    assert read_repo_list("-", stdin=from_bytes).names == ["psf/requests"]
    assert read_repo_list("-", stdin=io.StringIO("\ufeffpsf/requests\n")).names == ["psf/requests"]


def test_a_comment_that_repeats_the_header_is_a_comment():
    text = "# repo,stars\n\nrepo,stars\npsf/requests,1\nbad,2\n"
    parsed = parse_text(text, "stars.csv")
    assert parsed.names == ["psf/requests"]
    assert [(p.line, p.text) for p in parsed.problems] == [(5, "bad")]
