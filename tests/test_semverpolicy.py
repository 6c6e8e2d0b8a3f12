"""Semver tag policies: Masterminds/Flux range semantics, highest tag, downgrades."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitops_promote.errors import InputError
from gitops_promote.plan.semver import highest, is_downgrade, parse_range, tag_version

# (range, version, matches) as Masterminds/semver v3 (and so Flux's ImagePolicy) decides,
# taken from its documented rules and its constraint tests. Versions are written in full
# (1.4.0, not 1.4) because only full semver tags are versions here.
MASTERMINDS = [
    # exact and partial equality: a partial version is a wildcard
    ("=2.0.0", "1.2.3", False),
    ("=2.0.0", "2.0.0", True),
    ("=2.0", "1.2.3", False),
    ("=2.0", "2.0.0", True),
    ("=2.0", "2.0.1", True),
    ("= 2.0", "2.0.0", True),
    ("4.1", "4.1.0", True),
    ("2", "1.0.0", False),
    ("2", "3.4.5", False),
    ("2", "2.1.1", True),
    ("2.1", "2.1.1", True),
    ("2.1", "2.2.1", False),
    ("=0", "1.0.0", False),
    ("0.0.0", "1.2.3", False),
    ("v1.2.3", "1.2.3", True),
    # != (single versions and wildcards)
    ("!=4.1.0", "4.1.0", False),
    ("!=4.1.0", "4.1.1", True),
    ("!=4.1", "4.1.0", False),
    ("!=4.1", "4.1.1", False),
    ("!=4.1", "5.1.0", True),
    ("!=4.1", "5.1.0-alpha.1", False),
    ("!=4.x", "5.1.0", True),
    ("!=4.x", "4.1.0", False),
    ("!=4.1.x", "4.2.0", True),
    ("!=4.2.x", "4.2.3", False),
    # < <= > >= with partial versions
    ("<11", "0.1.0", True),
    ("<11", "11.1.0", False),
    ("<1.1", "0.1.0", True),
    ("<1.1", "1.1.0", False),
    ("<1.1", "1.1.1", False),
    ("<1.x", "1.1.1", False),
    ("<1.x", "0.1.1", True),
    ("<1.x", "2.0.0", False),
    ("<1.1.x", "1.2.1", False),
    ("<1.1.x", "1.1.500", False),
    ("<1.1.x", "1.0.500", True),
    ("<1.2.x", "1.1.1", True),
    ("<=11", "1.2.3", True),
    ("<=11", "12.2.3", False),
    ("<=11", "11.2.3", True),
    ("<=1.1", "1.2.3", False),
    ("<=1.1", "0.1.0", True),
    ("<=1.1", "1.1.0", True),
    ("<=1.1", "1.1.1", True),
    ("<=1.x", "1.1.0", True),
    ("<=2.x", "3.0.0", False),
    ("<=1.1.x", "1.2.500", False),
    ("<=4.5", "3.4.0", True),
    ("<=4.5", "3.7.0", True),
    ("<=4.5", "4.6.3", False),
    (">1.1", "4.1.0", True),
    (">1.1", "1.1.0", False),
    (">0", "0.0.0", False),
    (">0", "1.0.0", True),
    (">11", "11.1.0", False),
    (">11.1", "11.1.0", False),
    (">11.1", "11.1.1", False),
    (">11.1", "11.2.1", True),
    (">=11", "11.1.2", True),
    (">=11.1", "11.1.2", True),
    (">=11.1", "11.0.2", False),
    (">=1.1", "4.1.0", True),
    (">=1.1", "1.1.0", True),
    (">=1.1", "0.0.9", False),
    (">=0", "0.0.0", True),
    # wildcards
    ("*", "1.0.0", True),
    ("*", "4.5.6", True),
    ("2.*", "1.0.0", False),
    ("2.*", "3.4.5", False),
    ("2.*", "2.1.1", True),
    ("2.1.*", "2.1.1", True),
    ("2.1.*", "2.2.1", False),
    ("4.1.x", "4.1.3", True),
    ("1.x", "1.4.0", True),
    ("0.x.x", "1.2.3", False),
    ("0.0.x", "1.2.3", False),
    # tilde: patch-level changes, or minor when the minor is missing
    ("~1.2.3", "1.2.4", True),
    ("~1.2.3", "1.2.5", True),
    ("~1.2.3", "1.2.2", False),
    ("~1.2.3", "1.3.4", False),
    ("~1.2", "1.2.4", True),
    ("~1.2", "1.3.4", False),
    ("~1", "1.2.4", True),
    ("~1", "1.4.0", True),
    ("~1", "2.3.4", False),
    ("~1.x", "1.3.5", True),
    ("~1.x", "2.1.1", False),
    ("~1.1", "1.2.3", False),
    ("~1.3", "2.4.5", False),
    ("~0.2.3", "0.2.5", True),
    ("~0.2.3", "0.3.5", False),
    ("~0.0.0", "1.2.3", True),
    ("~*", "2.1.1", True),
    ("~>1.2", "1.2.9", True),
    ("~>1.2", "1.3.0", False),
    # caret: same major (same minor below 1.0.0, same patch below 0.1.0)
    ("^1.2.3", "1.8.9", True),
    ("^1.2.3", "2.8.9", False),
    ("^1.2.3", "1.2.1", False),
    ("^1.1.0", "2.1.0", False),
    ("^1.2.0", "2.2.1", False),
    ("^1.2", "1.8.9", True),
    ("^1.2", "2.8.9", False),
    ("^1", "1.8.9", True),
    ("^1", "2.8.9", False),
    ("^1.x", "1.1.1", True),
    ("^1.x", "2.1.1", False),
    ("^2.x", "1.1.1", False),
    ("^1.1", "4.3.2", False),
    ("^0.2.3", "0.2.5", True),
    ("^0.2.3", "0.5.6", False),
    ("^0.2", "0.2.5", True),
    ("^0.2", "0.5.6", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^0.0.1", "0.3.1", False),
    ("^0.0", "0.0.3", True),
    ("^0.0", "0.1.4", False),
    ("^0.0", "1.0.4", False),
    ("^0", "0.2.3", True),
    ("^0", "1.1.4", False),
    ("^0.0.0", "1.2.3", False),
    # AND with spaces or commas, OR with ||
    (">1.1, <2", "1.1.1", False),
    (">1.1, <2", "1.2.1", True),
    (">1.1, <3", "4.3.2", False),
    (">1.1 <2", "1.2.1", True),
    (">1.1    <3", "4.3.2", False),
    ("> 1.1, <     2", "1.1.1", False),
    (">=1.1, <2, !=1.2.3", "1.2.3", False),
    (">=1.1    <2    !=1.2.3", "1.2.3", False),
    (">=1.1, <2, !=1.2.3 || > 3", "4.1.2", True),
    (">=1.1, <2, !=1.2.3 || > 3", "3.1.2", False),
    (">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", True),
    (">=1.1, <2, !=1.2.3 || > 3", "3.0.0", False),
    (">= 1.1 <2 != 1.2.3 || >= 3", "3.0.0", True),
    (">=1.1 <2 !=1.2.3 || > 3", "1.2.3", False),
    (">= 1.2, < 3.0.0 || >= 4.2.3", "2.9.9", True),
    (">= 1.2, < 3.0.0 || >= 4.2.3", "4.0.0", False),
    (">= 1.2, < 3.0.0 || >= 4.2.3", "4.2.3", True),
    # hyphen ranges (spaces around '-'); a partial upper end is a wildcard
    ("1.1 - 2", "1.1.1", True),
    ("1.1 - 2", "2.9.0", True),
    ("1.1 - 2", "3.0.0", False),
    ("1.5.0 - 4.5", "3.7.0", True),
    ("1.2 - 1.4.5", "1.4.5", True),
    ("1.2 - 1.4.5", "1.4.6", False),
    ("2.3.4 - 4.5", "4.5.9", True),
    ("2.3.4 - 4.5", "2.3.3", False),
    ("1.0.0 - 2.0.0 <=2.0.0", "1.5.0", True),
    ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", True),
    ("1.1-3", "4.3.2", False),  # no spaces: 1.1 with pre-release "3", not a range
    # pre-releases match only groups that name a pre-release
    ("*", "1.2.3-alpha.1", False),
    ("*-0", "1.2.3-alpha.1", True),
    (">=1.1", "4.1.0-beta", False),
    ("<=1.1", "0.1.0-alpha", False),
    ("<=1.1-a", "0.1.0-alpha", True),
    (">0", "0.0.1-alpha", False),
    (">0.0", "0.0.1-alpha", False),
    (">0-0", "0.0.1-alpha", False),
    (">0.0-0", "0.0.1-alpha", False),
    (">0", "0.0.0-alpha", False),
    (">0-0", "0.0.0-alpha", False),
    (">0.0.0-0", "0.0.0-alpha", True),
    (">=0", "0.0.1-alpha", False),
    (">=0.0", "0.0.1-alpha", False),
    (">=0-0", "0.0.1-alpha", True),
    (">=0.0-0", "0.0.1-alpha", True),
    (">=0", "0.0.0-alpha", False),
    (">=0-0", "0.0.0-alpha", True),
    (">=0.0.0-0", "0.0.0-alpha", True),
    (">=0.0.0-0", "1.2.3", True),
    (">=0.0.0-0", "3.4.5-beta.1", True),
    ("<0", "0.0.0-alpha", False),
    ("<0-z", "0.0.0-alpha", True),
    (">1.2.3-alpha.1", "1.2.3-alpha.2", True),
    (">1.2.3-alpha.1", "1.3.3-alpha.2", True),  # npm would say no: other patch
    ("^1.2.0", "1.2.1-alpha.1", False),
    ("^1.2.0-alpha.0", "1.2.1-alpha.1", True),
    ("^1.2.0-alpha.0", "1.2.1-alpha.0", True),
    ("^1.2.0-alpha.2", "1.2.0-alpha.1", False),
    ("^1.x", "1.1.1-beta1", False),
    ("^1.1.2-alpha", "1.2.1-beta1", True),
    ("^1.1.1-alpha", "1.1.1-beta", True),
    ("^1.1.1-beta", "1.1.1-alpha", False),
    ("^0.2.3-beta.2", "0.2.3-beta.4", True),
    ("^0.2.3-beta.2", "0.2.4-beta.2", True),
    ("^0.2.3-beta.2", "0.3.4-beta.2", False),
    ("^0.2.3-beta.2", "0.2.3-beta.2", True),
    ("~1.2.3-beta.2", "1.2.3-beta.4", True),
    ("~1.2.3-beta.2", "1.2.4-beta.2", True),  # npm would say no: other patch
    ("~1.2.3-beta.2", "1.3.4-beta.2", False),
    ("~1", "1.3.5-beta", False),
    ("~1.x", "1.3.5-beta", False),
    ("~1.1", "1.1.1-alpha", False),
    ("~1.1-alpha", "1.1.1-beta", True),
    ("~1.1.1-beta", "1.1.1-alpha", False),
    ("~1.1.1-beta", "1.1.1", True),
    ("~1.3.6-alpha", "1.3.5-beta", False),
    ("~1.3.5-alpha", "1.3.5-beta", True),
    ("~1.3.5-beta", "1.3.5-alpha", False),
    ("!=4.1.0", "4.1.1-rc.1", False),
    ("!=4.1.0-rc.1", "4.1.0-rc.1", False),
    ("!=4.1.0-rc.1", "4.1.0-rc.2", True),
    # the Flux ImagePolicy shapes people write
    (">=1.0.0 <2.0.0", "1.5.0", True),
    (">=1.0.0 <2.0.0", "2.0.0", False),
    (">=1.0.0 <2.0.0", "2.0.0-rc.1", False),
    (">=1.0.0-0 <2.0.0", "1.5.0-rc.1", True),
    (">=1.0.0-0 <2.0.0", "2.0.0-rc.1", True),  # a plain '<' lets 2.0.0's pre-releases in
    ("^1.0.0-0", "2.0.0-rc.1", False),  # '^' compares the major number
    (">=1.0.0-0 <=1.x", "2.0.0-rc.1", False),
    (">1.x-0", "2.0.0-rc.1", True),
]


@pytest.mark.parametrize(("text", "version", "expected"), MASTERMINDS)
def test_masterminds_semantics(text: str, version: str, expected: bool) -> None:
    """Every range decides every version as Masterminds/semver (and so Flux) decides."""
    assert parse_range(text).matches(version) is expected


def test_table_is_large_enough_to_mean_something() -> None:
    """The semantics table covers well over sixty Masterminds cases."""
    assert len(MASTERMINDS) > 150


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        ("^1.2", "v1.5.0", True),
        ("^v1.2", "v1.5.0", True),
        ("v1.2.x", "1.2.9", True),
        (">=1.0.0", "latest", False),
        (">=1.0.0", "sha-abc1234", False),
        (">=1.0.0", "1.2", False),  # a floating tag, not a version
        (">=1.0.0", "V1.2.3", False),
        (">=1.0.0", "vv1.2.3", False),
        (">=1.0.0", "01.2.3", False),
        (">=1.0.0", "1.2.3.4", False),
        ("*", "1.2.3+build.5", True),
    ],
)
def test_tags_are_versions_only_when_full_semver(text: str, tag: str, expected: bool) -> None:
    """A tag matches only when it is full semver, with at most one leading 'v'."""
    assert parse_range(text).matches(tag) is expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "foo",
        ">= bar",
        "BAR >= 1.2.3",
        "12.3.4.1234",
        "12.3.34~ 1.2.3",
        "1.2.3 ||",
        "|| 1.2.3",
        "1.2 |||| 1.3",
        ">=1.0.0,",
        ">=1.0.0,,<2",
        "01.2.3",
        ">=1.2.3-01",
        ">*",
        "<x",
        "!=*",
        "<=*",
        "!=4.1-alpha",
        "1.2.3 - ",
        ">=1.0.0\n<2.0.0",
        ">=" + "1" * 600,
    ],
)
def test_bad_ranges_are_refused_in_one_line(text: str) -> None:
    """A range that cannot be read raises InputError: one line naming it, with a hint."""
    with pytest.raises(InputError) as caught:
        parse_range(text)
    message = str(caught.value)
    assert "\n" not in message.replace(repr(text), "")
    assert "track range" in message
    assert caught.value.hint


def test_error_names_the_input_and_the_part_that_is_wrong() -> None:
    """The message quotes the range and the word that could not be read."""
    with pytest.raises(InputError, match=r"'>=1\.0\.0 <2\.0\.0 banana'.*'banana'"):
        parse_range(">=1.0.0 <2.0.0 banana")


def test_what_names_the_setting() -> None:
    """Callers name the setting the range came from (e.g. environments[2].track)."""
    with pytest.raises(InputError, match=r"^environments\[2\]\.track "):
        parse_range("nope", what="environments[2].track")


def test_range_keeps_its_text() -> None:
    """str(range) is the text it was parsed from, for messages and reports."""
    assert str(parse_range(">=1.0.0, <2")) == ">=1.0.0, <2"


TAGS = [
    "latest",
    "sha-abc1234",
    "v1.0.0",
    "v1.2.3",
    "1.2",
    "v2.0.0-rc.1",
    "main",
    "v1.10.0",
    "v1.9.9",
    "2.0.0",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (">=1.0.0 <2.0.0", "v1.10.0"),
        ("^1.2", "v1.10.0"),
        ("~1.2", "v1.2.3"),
        ("1.2.3", "v1.2.3"),
        (">=1.0.0-0 <2.0.0", "v2.0.0-rc.1"),
        ("*", "2.0.0"),
        (">=3", None),
        ("<1.0.0", None),
    ],
)
def test_highest_picks_the_highest_eligible_tag(text: str, expected: str | None) -> None:
    """highest() returns the original text of the highest matching tag (numeric order:
    1.10.0 > 1.9.9), ignoring tags that are not semver; None when nothing matches."""
    assert highest(TAGS, parse_range(text)) == expected


def test_highest_is_independent_of_tag_order() -> None:
    """Equal versions written two ways are decided by the tag text, not list order."""
    rng = parse_range("^1")
    assert highest(["1.2.3", "v1.2.3"], rng) == highest(["v1.2.3", "1.2.3"], rng) == "v1.2.3"


@given(st.permutations(TAGS))
def test_highest_property_order_never_matters(tags: list[str]) -> None:
    """For any order of the same tags, highest() gives the same answer."""
    assert highest(tags, parse_range(">=1.0.0-0")) == "2.0.0"


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        ("v1.2.3", "v1.2.2", True),
        ("v1.2.3", "1.2.2", True),
        ("v1.10.0", "v1.9.9", True),
        ("v2.0.0", "v2.0.0-rc.1", True),
        ("v1.2.3", "v1.2.3", False),
        ("v1.2.3", "v1.2.4", False),
        ("v2.0.0-rc.1", "v2.0.0", False),
        ("latest", "v1.0.0", False),
        ("v1.0.0", "sha-abc1234", False),
    ],
)
def test_is_downgrade(current: str, new: str, expected: bool) -> None:
    """A move to a lower semver version is a downgrade; tags that are not semver are not."""
    assert is_downgrade(current, new) is expected


def test_tag_version_parses_v_prefix_and_rejects_the_rest() -> None:
    """tag_version reads 'v1.2.3' and '1.2.3-rc.1' and gives None for other tags."""
    assert str(tag_version("v1.2.3")) == "1.2.3"
    assert str(tag_version("1.2.3-rc.1")) == "1.2.3-rc.1"
    assert tag_version("release-1.2.3") is None
    assert tag_version("v") is None
