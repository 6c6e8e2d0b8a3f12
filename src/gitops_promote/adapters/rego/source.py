"""What the engine needs to know of a ``.rego`` text before it evaluates it (pure, no engine).

- :func:`package`: the module's package (``package main`` -> ``"main"``), None when it has
  no ``package`` line.
- :func:`upgrade`: the old Conftest head ``deny[msg] { ... }`` (a partial set in Rego v0)
  rewritten to ``deny contains msg if { ... }``, on the same line. ``regopy`` 1.5.2 reads
  the old head as a partial *object* (``{msg: true}``), and a package that defines
  ``deny`` both ways fails to compile ("Invalid rule body for object rule"); rewritten,
  both forms are one partial set. Only the heads of ``deny``, ``violation`` and ``warn``
  (and their ``_*`` forms) that open their body on the same line are rewritten; line
  numbers are kept, so the engine's messages point at the file's own lines.
- :func:`rule_names`: the Conftest rules a module defines (a head at the start of a line).
- :func:`test_names`: the ``test_*`` rules of a module.

Imported by the child process: the standard library only.
"""

from __future__ import annotations

import re
from typing import Final

_PACKAGE: Final = re.compile(r"^[ \t]*package[ \t]+([A-Za-z_][\w.]*)", re.MULTILINE)
_RULE: Final = r"(?:deny|violation|warn)(?:_\w+)?"
_OLD_HEAD: Final = re.compile(rf"^([ \t]*)({_RULE})\[(.+)\][ \t]*\{{", re.MULTILINE)
_HEAD: Final = re.compile(
    rf"^[ \t]*({_RULE})\b(?=\s*(?:\[|contains\b|if\b|:=|=|\{{))", re.MULTILINE
)
_TEST: Final = re.compile(r"^[ \t]*(test_\w+)\b", re.MULTILINE)
_COMMENT: Final = re.compile(r"#[^\n]*")


def _code(text: str) -> str:
    """``text`` without comments (a ``#`` inside a string is rare in heads; kept simple)."""
    return _COMMENT.sub("", text)


def package(text: str) -> str | None:
    found = _PACKAGE.search(_code(text))
    return found.group(1) if found else None


def upgrade(text: str) -> str:
    return _OLD_HEAD.sub(r"\1\2 contains \3 if {", text)


def rule_names(text: str) -> list[str]:
    return list(dict.fromkeys(_HEAD.findall(_code(text))))


def test_names(text: str) -> list[str]:
    return list(dict.fromkeys(_TEST.findall(_code(text))))


__all__ = ["package", "rule_names", "test_names", "upgrade"]
