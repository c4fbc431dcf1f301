import pytest

from github_stars.core import InvalidRepoName, RepoResult, distinct_names, validate_repo_name


@pytest.mark.parametrize(
    "name", ["PrefectHQ/prefect", "a/b", "psf/requests", "x-1/y.z_w", "  pydantic/pydantic  "]
)
def test_valid_names_pass_stripped(name):
    assert validate_repo_name(name) == name.strip()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("foo", "exactly one '/'"),
        ("a/b/c", "exactly one '/'"),
        ("../x", "owner must be"),
        ("", "empty name"),
        ("   ", "empty name"),
        ("prefecthq/préfect", "only ASCII"),
        ("a/" + "r" * 101, "repository must be"),
        ("o" * 40 + "/r", "owner must be"),
        ("-bad/repo", "owner must be"),
        ("owner/..", "repository must be"),
        ("owner/a b", "repository must be"),
    ],
)
def test_invalid_names_get_a_specific_reason(name, reason):
    with pytest.raises(InvalidRepoName, match=reason):
        validate_repo_name(name)


def test_distinct_names_keep_the_first_spelling_of_each_repository_and_every_bad_entry_once():
    names = [" a/b", "foo", "A/B", "c/d", "a/b/c", "c/d", "foo"]
    assert distinct_names(names) == ["a/b", "foo", "c/d", "a/b/c"]
    assert distinct_names([]) == []


def test_a_bad_name_fails_with_a_message_that_starts_with_the_name_as_given():
    with pytest.raises(InvalidRepoName) as raised:
        validate_repo_name("not a repository")
    result = RepoResult.failed("not a repository", raised.value)
    assert result.line() == (
        "not a repository: error: invalid name: expected exactly one '/' as in 'owner/repo'"
    )
    assert result.error_kind == "invalid name"
