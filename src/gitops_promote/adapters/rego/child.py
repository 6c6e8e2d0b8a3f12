"""The child process that runs the Rego engine, and what it reads in a ``.rego`` text.

Run as a script, ``python -I .../child.py`` (isolated: no environment, no user site, not
even the package: the parent's modules are not imported, start-up time counts).

It reads one JSON request on stdin and writes JSON lines on stdout, one per event, flushed
as they happen, so that the parent knows how far it got when the engine crashes or hangs:

- ``{"begin": UNIT}``: evaluation of a unit starts (a namespace, or one test rule);
- ``{"finding": {...}}``, ``{"test": {...}}``, ``{"error": {...}}``: results;
- ``{"done": UNIT}``: the unit finished.

Request: ``{"op": "eval"|"test", "modules": [[path, text], ...], "data": {...},
"units": [...], "inputs": [...]}``; for ``eval`` the units are namespaces, for ``test``
``[package, rule]`` pairs. The engine writes its diagnostics on file descriptor 1, so the
protocol goes to a duplicate of it and descriptor 1 is pointed at stderr. The environment
is emptied before the engine is loaded (``opa.runtime()`` would hand it to the policy).
Imports only the standard library and ``regopy``.

What it reads in a text (pure, used by the parent too):

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
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from typing import IO, Any, Final

# -- what the engine needs to know of a text before it evaluates it ----------------------

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


# -- the engine ------------------------------------------------------------------------------

_ERRORMSG = re.compile(r"\(errormsg (\d+):")
_ERRORAT = re.compile(r"\(error (\d+):")


class _Out:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def emit(self, **event: Any) -> None:
        self.stream.write(json.dumps(event) + "\n")
        self.stream.flush()


def _prefixed(text: str, pattern: re.Pattern[str]) -> list[tuple[int, str]]:
    """The length-prefixed values after ``pattern`` in an engine error (``N:<N chars>``)."""
    found = []
    for match in pattern.finditer(text):
        size = int(match.group(1))
        found.append((match.end(), text[match.end() : match.end() + size]))
    return found


def _line(texts: dict[str, str], file: str, offset: int) -> int:
    return texts.get(file, "")[:offset].count("\n") + 1


def describe(raw: str, texts: dict[str, str]) -> str:
    """One line from the engine's error tree: ``file:line: message`` where it says."""
    messages = [m for _, m in _prefixed(raw, _ERRORMSG)]
    where = ""
    for end, file in _prefixed(raw, _ERRORAT):
        rest = raw[end + len(file) :]
        pos = re.match(r"\|(\d+)\|", rest)
        if file in texts and pos:
            where = f"{file}:{_line(texts, file, int(pos.group(1)))}: "
            break
    text = "; ".join(dict.fromkeys(messages)) or raw
    return where + " ".join(text.split())


def _error_text(out: Any) -> str:
    """The text of an error output's tree (its root prints only as a pointer)."""
    node = out.node()
    return "\n".join(node.at(i).json() for i in range(len(node))) or node.json()


class _Engine:
    """One interpreter per namespace unit (see :func:`_interpreters`)."""

    def __init__(self, modules: list[tuple[str, str]], data: Any) -> None:
        from regopy import Interpreter  # type: ignore[import-untyped]  # noqa: PLC0415 - loaded after the environment is emptied

        self.interpreter_type = Interpreter
        self.data = json.dumps(data)
        self.texts = dict(modules)
        self.packages: dict[str, list[str]] = {}
        for path, text in modules:
            self.packages.setdefault(package(text) or "", []).append(path)

    def build(self, paths: Iterable[str]) -> tuple[Any, str | None]:
        rego = self.interpreter_type()
        rego.add_data_json(self.data)
        for path in paths:
            try:
                rego.add_module(path, upgrade(self.texts[path]))
            except Exception as err:  # noqa: BLE001 - regopy raises RegoError on bad text
                return None, describe(str(err), self.texts)
        out = rego.query("true")  # compiles every module
        if not out.ok():
            return None, describe(_error_text(out), self.texts)
        return rego, None


def _interpreters(engine: _Engine, units: list[str], out: _Out) -> dict[str, Any]:
    """An interpreter for each package in ``units``: all modules together when they
    compile; else, per package, its modules with every other package that compiles alone,
    else its modules alone. A package that does not compile alone is a compile error
    naming its files."""
    everything = [p for paths in engine.packages.values() for p in paths]
    whole, _ = engine.build(everything)
    if whole is not None:
        return {u: whole for u in units if u in engine.packages}
    alone: dict[str, Any] = {}
    for name, paths in engine.packages.items():
        rego, problem = engine.build(paths)
        if rego is None:
            out.emit(error={"kind": "compile", "message": problem, "files": paths})
        else:
            alone[name] = rego
    good = [p for name in alone for p in engine.packages[name]]
    together, _ = engine.build(good) if len(alone) < len(engine.packages) else (None, None)
    return {u: together or alone[u] for u in units if u in alone}


def _value(rego: Any, query: str) -> tuple[Any, str | None]:
    """The value of ``query`` (None: undefined), or the engine's error."""
    out = rego.query(query)
    if not out.ok():
        return None, describe(_error_text(out), {})
    text = str(out)
    if text == "undefined":
        return None, None
    expressions = json.loads(text).get("expressions") or [None]
    return expressions[0], None


def _messages(value: Any) -> list[str]:
    """Conftest's reading of a rule's value: a set (list) of strings or ``{"msg": ...}``
    objects; an object (the old head, ``{msg: true}``) gives its keys; ``true`` gives
    an empty message."""
    if value is None or value is False:
        return []
    if value is True:
        return [""]
    if isinstance(value, dict):
        items: list[Any] = []
        for key in value:
            try:
                items.append(json.loads(key))
            except ValueError:
                items.append(key)
        value = items
    if not isinstance(value, list):
        value = [value]
    found = []
    for item in value:
        message = item["msg"] if isinstance(item, dict) and "msg" in item else item
        found.append(message if isinstance(message, str) else json.dumps(message, sort_keys=True))
    return found


def _kind(rule: str) -> str:
    return rule.split("_", 1)[0]


def evaluate(request: dict[str, Any], out: _Out) -> None:
    engine = _Engine([(p, t) for p, t in request["modules"]], request.get("data") or {})
    units: list[str] = request["units"]
    rigs = _interpreters(engine, units, out)
    inputs: list[Any] = request["inputs"]
    combine = bool(request.get("combine"))
    for unit in units:
        rego = rigs.get(unit)
        if rego is None:
            continue
        out.emit(begin=unit)
        paths = engine.packages[unit]
        rules: dict[str, list[str]] = {}
        for path in paths:
            for rule in rule_names(engine.texts[path]):
                rules.setdefault(rule, []).append(path)
        docs: list[tuple[int | None, Any]] = (
            [(None, inputs)] if combine else list(enumerate(inputs))
        )
        for index, doc in docs:
            rego.set_input_term(json.dumps(doc))
            for rule, files in rules.items():
                value, problem = _value(rego, f"data.{unit}.{rule}")
                if problem is not None:
                    message = f"{unit}.{rule}: {problem}"
                    out.emit(error={"kind": "runtime", "message": message, "files": files})
                    continue
                for message in _messages(value):
                    out.emit(
                        finding={
                            "kind": _kind(rule),
                            "namespace": unit,
                            "message": message,
                            "files": files,
                            "document": index,
                        }
                    )
        out.emit(done=unit)


def run_tests(request: dict[str, Any], out: _Out) -> None:
    engine = _Engine([(p, t) for p, t in request["modules"]], request.get("data") or {})
    tests: list[tuple[str, str, str]] = [
        (str(t[0]), str(t[1]), str(t[2])) for t in request["units"]
    ]
    rigs = _interpreters(engine, list(dict.fromkeys(t[0] for t in tests)), out)
    for package, rule, file in tests:
        rego = rigs.get(package)
        if rego is None:
            continue
        unit = f"{package}.{rule}"
        out.emit(begin=unit)
        value, problem = _value(rego, f"data.{unit}")
        passed = problem is None and value is True
        message = problem or ("" if passed else "undefined" if value is None else "false")
        out.emit(test={"name": unit, "file": file, "passed": passed, "message": message})
        out.emit(done=unit)


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the engine's own diagnostics go to stderr
    os.environ.clear()
    request = json.load(sys.stdin)
    out = _Out(protocol)
    if request["op"] == "test":
        run_tests(request, out)
    else:
        evaluate(request, out)
    return 0


__all__ = ["describe", "main", "package", "rule_names", "test_names", "upgrade"]


if __name__ == "__main__":
    sys.exit(main())
