"""The contract runner's expression evaluator and file-command parser follow GitHub's
documented rules (so the contract test evaluates action.yml as GitHub would)."""

from __future__ import annotations

from typing import Any

import pytest

from support.runner import (
    ExpressionError,
    Log,
    condition,
    evaluate,
    interpolate,
    parse_file_command,
)

CTX: dict[str, Any] = {
    "inputs": {"dry-run": "false", "app": "api-service", "empty": ""},
    "steps": {"cache": {"outputs": {"cache-hit": "true"}}, "miss": {"outputs": {}}},
    "github": {"action_path": "/a/b", "event": {"pull_request": {"number": 7}}},
    "runner": {"temp": "/t"},
}


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("inputs.app", "api-service"),
        ("inputs['dry-run']", "false"),
        ("INPUTS.App", "api-service"),  # contexts and properties ignore case
        ("steps.cache.outputs.cache-hit", "true"),
        ("steps.miss.outputs.cache-hit", None),  # missing properties are null
        ("steps.nope.outputs.x", None),
        ("github.event.pull_request.number", 7),
        ("'it''s'", "it's"),
        ("1 == 1.0", True),
        ("'TRUE' == 'true'", True),  # strings compare ignoring case
        ("'1' == 1", True),  # different kinds compare as numbers
        ("null == 0", True),
        ("'' == false", True),
        ("'abc' == 0", False),  # NaN equals nothing
        ("steps.miss.outputs.cache-hit != 'true'", True),
        ("inputs.empty || 'default'", "default"),  # || and && return an operand
        ("inputs.app && 'yes'", "yes"),
        ("!inputs.empty", True),
        ("(1 < 2) && ('b' > 'A')", True),
        ("contains('Hello', 'ell')", True),
        ("startsWith(inputs.app, 'API')", True),
        ("format('{0}-{1}', 'a', 1)", "a-1"),
        ("fromJSON('[1,2]')[1]", 2),
        ("0x10 == 16", True),
    ],
)
def test_expressions_evaluate_like_github(expression: str, value: object) -> None:
    """Literals, contexts, loose equality, operand-returning && and ||, functions."""
    assert evaluate(expression, CTX) == value


@pytest.mark.parametrize("expression", ["secretz.x", "hashFiles('x')", "inputs.app ==", "1 +"])
def test_unknown_or_malformed_expressions_are_errors(expression: str) -> None:
    """What the evaluator cannot do is an error, never a silent empty string."""
    with pytest.raises(ExpressionError):
        evaluate(expression, CTX)


def test_interpolation_writes_values_as_text() -> None:
    """${{ }} in a string: null is empty, booleans lowercase, numbers without .0."""
    text = "${{ runner.temp }}/v ${{ steps.miss.outputs.x }}|${{ 1 == 1 }}|${{ 3 }}"
    assert interpolate(text, CTX) == "/t/v |true|3"


def test_if_conditions_imply_success() -> None:
    """A step's if: without a status function only runs while the job succeeds."""
    assert condition("steps.cache.outputs.cache-hit != 'true'", CTX, "success") is False
    assert condition("${{ steps.miss.outputs.cache-hit != 'true' }}", CTX, "success") is True
    assert condition("steps.miss.outputs.cache-hit != 'true'", CTX, "failure") is False
    assert condition("always() && inputs.app", CTX, "failure") is True
    assert condition("failure()", CTX, "failure") is True
    assert condition(None, CTX, "failure") is False


def test_file_commands_read_plain_and_heredoc_values() -> None:
    """GITHUB_OUTPUT/GITHUB_ENV: name=value lines and name<<DELIMITER blocks, CRLF too."""
    text = "a=1\nb<<EOF_x\nline 1\r\nline=2\nEOF_x\nc=x=y\n\nd<<D\nD\n"
    assert parse_file_command(text) == {"a": "1", "b": "line 1\nline=2", "c": "x=y", "d": ""}


def test_unterminated_heredoc_is_an_error() -> None:
    """A heredoc without its closing delimiter fails, as the runner fails the step."""
    with pytest.raises(Exception, match="closing delimiter"):
        parse_file_command("a<<EOF\nvalue\n")


def test_log_masks_after_add_mask_and_collects_annotations() -> None:
    """::add-mask:: hides the value from later lines; ::error:: carries unescaped
    properties and message; command lines themselves are not shown."""
    log = Log()
    log.feed("before s3cret\n::add-mask::s3cret\nafter s3cret\n")
    log.feed("::error file=a%2Cb.yaml,line=3,title=t%3Ax::one%0Atwo 100%25\n")
    assert log.lines[:2] == ["before s3cret", "after ***"]
    [note] = log.annotations
    assert note.properties == {"file": "a,b.yaml", "line": "3", "title": "t:x"}
    assert note.message == "one\ntwo 100%"
