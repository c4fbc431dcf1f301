import pytest

from github_stars.core import InvalidRepoName, RepoResult, parse_repo_names, validate_repo_name


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


def test_parse_keeps_valid_in_order_drops_duplicates_and_explains_the_rest():
    parsed = parse_repo_names(["a/b", "foo", "A/B", "c/d", "a/b/c", "c/d"])
    assert parsed.valid == ["a/b", "c/d"]
    assert set(parsed.invalid) == {"foo", "a/b/c"}
    assert parsed.duplicates == ["A/B", "c/d"]


def test_parse_empty_list():
    parsed = parse_repo_names([])
    assert (parsed.valid, parsed.invalid) == ([], {})


def test_results_come_back_in_input_order_once_per_distinct_name():
    parsed = parse_repo_names(["c/d", "bad", "A/B", "a/b", "bad"])
    fetched = [RepoResult("A/B", stars=1), RepoResult("c/d", stars=2)]  # in the order they finished
    assert [(r.repo, r.stars, r.error_kind) for r in parsed.in_input_order(fetched)] == [
        ("c/d", 2, None),
        ("bad", None, "invalid name"),
        ("A/B", 1, None),
    ]
