"""Error messages quote at most 80 characters of a bad value, on one line."""

from __future__ import annotations

from gitops_promote.errors import QUOTE_LIMIT, clip, quote


def test_a_short_value_is_quoted_whole() -> None:
    """A value up to the limit is quoted as repr does: whole, in quotes."""
    assert quote("mian") == "'mian'"
    assert quote("a" * QUOTE_LIMIT) == repr("a" * QUOTE_LIMIT)


def test_a_long_value_is_cut_and_its_length_said() -> None:
    """A longer value shows its first 80 characters, an ellipsis and its full length."""
    assert QUOTE_LIMIT == 80
    assert quote("x" * 300) == f"{'x' * 80!r}… (300 characters)"


def test_control_characters_stay_escaped_on_one_line() -> None:
    """Newlines and '::' in a value cannot start a new line (or a workflow command)."""
    text = quote("a\n::error::b" + "c" * 200)
    assert "\n" not in text
    assert text.startswith("'a\\n::error::b")


def test_a_value_that_is_not_text_is_shown_as_repr() -> None:
    """Numbers and lists are shown as Python shows them, cut the same way."""
    assert quote(5) == "5"
    assert quote(list(range(100))).endswith("characters)")


def test_clip_cuts_an_unquoted_value() -> None:
    """A value shown without quotes (a template placeholder) is cut the same way."""
    assert clip("app") == "app"
    assert clip("y" * 300) == "y" * 80 + "…"
