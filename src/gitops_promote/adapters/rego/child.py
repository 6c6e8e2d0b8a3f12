"""The child process that runs the Rego engine, and what it reads in a ``.rego`` text.

Run as a script, ``python -I .../child.py`` (isolated: no environment, no user site, not
even the package: the parent's modules are not imported, start-up time counts).

It reads one JSON request on stdin and writes JSON lines on stdout, one per event, flushed
as they happen, so that the parent knows how far it got when the engine crashes or hangs:

- ``{"begin": UNIT}``: evaluation of a unit starts (a namespace, or one test rule);
- ``{"finding": {...}}``, ``{"test": {...}}``, ``{"error": {...}}``: results;
- ``{"done": UNIT}``: the unit finished.

Request: ``{"op": "eval"|"test", "modules": [[path, text], ...], "data": {...},
"units": [...], "inputs": [...], "max_findings": N}``; for ``eval`` the units are
namespaces, for ``test`` ``[package, rule, file]`` triples. The engine writes its
diagnostics on file descriptor 1, so the protocol goes to a duplicate of it and
descriptor 1 is pointed at stderr. The environment
is emptied before the engine is loaded (``opa.runtime()`` would hand it to the policy),
and what the engine may allocate is bounded (:func:`limit_memory`).
Imports only the standard library and ``regopy``.

What it reads in a text (pure, used by the parent too):

- :func:`package`: the module's package (``package main`` -> ``"main"``), None when it has
  no ``package`` line.
- :func:`upgrade`: the old Conftest head ``deny[msg] { ... }`` (a partial set in Rego v0;
  also ``deny[msg] if { ... }``) rewritten to ``deny contains msg if { ... }``, on the
  same line. ``regopy`` 1.5.2 reads
  the old head as a partial *object* (``{msg: true}``), and a package that defines
  ``deny`` both ways fails to compile ("Invalid rule body for object rule"); rewritten,
  both forms are one partial set. Only the heads of ``deny``, ``violation`` and ``warn``
  (and their ``_*`` forms) that open their body on the same line are rewritten; line
  numbers are kept, so the engine's messages point at the file's own lines.
- :func:`rule_names`: the Conftest rules a module defines (a head at the start of a line).
- :func:`test_names`: the ``test_*`` rules of a module.
- :func:`with_input`: a test module rewritten so that its tests' ``with input as VALUE``
  runs without the engine's ``with`` (which crashes regopy 1.5.2 on rules that call
  builtins); :func:`run_tests` runs those first, then the others the engine's own way.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import IO, Any, Final

# -- what the engine needs to know of a text before it evaluates it ----------------------

_PACKAGE: Final = re.compile(r"^[ \t]*package[ \t]+([A-Za-z_][\w.]*)", re.MULTILINE)
_RULE: Final = r"(?:deny|violation|warn)(?:_\w+)?"
_OLD_HEAD: Final = re.compile(rf"^([ \t]*)({_RULE})\[(.+)\][ \t]*(?:if[ \t]+)?\{{", re.MULTILINE)
# what follows a rule's name in its head (``=`` but not ``==``: a comparison in a body)
_HEAD_FOLLOWS: Final = r"(?=[ \t]*(?:\[|contains\b|if\b|:=|=(?!=)|\{))"
_HEAD: Final = re.compile(rf"^[ \t]*({_RULE})\b{_HEAD_FOLLOWS}", re.MULTILINE)
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


_STRING: Final = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`')
_CALL: Final = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)[ \t]*\(")
_DEFINED: Final = re.compile(r"^[ \t]*([A-Za-z_]\w*)[ \t]*\(", re.MULTILINE)
_IMPORT: Final = re.compile(
    r"^[ \t]*import[ \t]+((?:data|input)(?:\.[\w]+)*)(?:[ \t]+as[ \t]+(\w+))?", re.MULTILINE
)
_KEYWORDS: Final = frozenset(
    {"if", "not", "some", "every", "in", "contains", "else", "with", "as", "default"}
)


def _blank(match: re.Match[str]) -> str:
    """A string literal as spaces, its newlines kept (positions and lines stay)."""
    return "".join(c if c == "\n" else " " for c in match.group(0))


def functions_defined(text: str) -> set[str]:
    """The functions a module defines (a head ``name(args)`` at the start of a line)."""
    return set(_DEFINED.findall(_STRING.sub(_blank, _code(text))))


def unknown_calls(
    text: str, defined: set[str], is_builtin: Callable[[str], bool]
) -> list[tuple[int, str]]:
    """(line, name) of each call of a function that is neither defined by the policies
    (``defined``, or through ``data.`` and an imported package) nor a builtin the engine
    has. The engine would read such a call as undefined and say nothing, so a rule built
    on ``http.send`` or a builtin regopy lacks (``net.cidr_contains``) would never fire."""
    code = _COMMENT.sub(lambda m: " " * len(m.group(0)), _STRING.sub(_blank, text))
    aliases = {"data", "input"}
    for path, alias in _IMPORT.findall(code):
        aliases.add(alias or path.rsplit(".", 1)[-1])
    found = []
    for match in _CALL.finditer(code):
        name = match.group(1)
        first = name.split(".", 1)[0]
        if name in _KEYWORDS or name in defined or ("." in name and first in aliases):
            continue
        if not is_builtin(name):
            found.append((code.count("\n", 0, match.start()) + 1, name))
    return found


# -- `with input as VALUE` in a test, run without the engine's `with` ---------------------------
#
# regopy 1.5.2 crashes compiling a module where `with input as ...` reaches a rule that calls
# a builtin (nearly every rule). A test whose body gives `input` one value, the same in each
# expression that says `with`, is run instead as: VALUE computed by a helper rule added to the
# test's file (``__gp_with_N := VALUE``, queried with no input), then the test without its
# `with` clauses, queried with that VALUE as the input (`with data.a.b as VALUE`: the test
# compiled again with that key of data replaced). The text is read by a small tokenizer
# (strings, raw strings, comments, brackets), clauses are blanked to spaces (line numbers
# stay), helpers are appended after the file's last line.

_TOKEN: Final = re.compile(
    r'(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<raw>`[^`]*`)|(?P<comment>#[^\n]*)|(?P<nl>\n)'
    r"|(?P<open>[{\[(])|(?P<close>[}\])])|(?P<word>[A-Za-z_]\w*)|(?P<semi>;)"
    r"|(?P<ws>[ \t\r]+)|(?P<other>.)",
    re.DOTALL,
)
_QUIET: Final = frozenset({"ws", "comment"})
_CONFTEST: Final = re.compile(rf"^{_RULE}$")
HELPER: Final = "__gp_with_"


class _Tok:
    __slots__ = ("depth", "end", "kind", "start", "text")

    def __init__(self, kind: str, text: str, start: int, end: int, depth: int) -> None:
        self.kind, self.text, self.start, self.end, self.depth = kind, text, start, end, depth


def _tokens(text: str) -> list[_Tok]:
    """Every token but blanks and comments; ``depth``: the brackets around it (an opening
    or closing bracket has the depth outside it)."""
    found, depth = [], 0
    for match in _TOKEN.finditer(text):
        kind = str(match.lastgroup)
        if kind == "close":
            depth = max(depth - 1, 0)
        if kind not in _QUIET:
            found.append(_Tok(kind, match.group(0), match.start(), match.end(), depth))
        if kind == "open":
            depth += 1
    return found


def _statements(tokens: list[_Tok]) -> list[list[_Tok]]:
    """The top-level statements: each starts with the first token of a line outside any
    bracket (a line starting with ``else`` or ``with`` continues the one before)."""
    found: list[list[_Tok]] = []
    line_start = True
    for tok in tokens:
        if tok.kind == "nl":
            if found:
                found[-1].append(tok)
            line_start = tok.depth == 0 or line_start
            continue
        starts = line_start and tok.depth == 0 and tok.text not in ("else", "with")
        if starts or not found:
            found.append([])
        found[-1].append(tok)
        line_start = False
    return found


def _body(statement: list[_Tok]) -> list[list[_Tok]] | None:
    """The expressions of a rule's body (None: no body this reading knows): after ``if``,
    a ``{ ... }`` body or one expression; without ``if``, the old ``name { ... }`` body."""
    top = [i for i, t in enumerate(statement) if t.depth == 0]
    if any(statement[i].text == "else" for i in top):
        return None
    start = next((i for i in top if statement[i].text == "if"), None)
    if start is not None and not (start + 1 < len(statement) and statement[start + 1].text == "{"):
        return [[t for t in statement[start + 1 :] if t.kind != "nl" or t.depth > 0]]
    after = -1 if start is None else start
    brace = next((i for i in top if statement[i].text == "{" and i > after), None)
    if brace is None:
        return None
    close = next((i for i in top if i > brace and statement[i].text == "}"), None)
    if close is None or any(statement[i].kind != "nl" for i in top if i > close):
        return None
    found: list[list[_Tok]] = [[]]
    for tok in statement[brace + 1 : close]:
        if tok.depth == 1 and tok.kind in ("nl", "semi"):
            found.append([])
        else:
            found[-1].append(tok)
    return [e for e in found if e]


_Clause = tuple[int, int, str, tuple[str, ...], int]  # start, end, target, value, value start


def _target(rest: list[_Tok]) -> tuple[str, int] | None:
    """What a ``with`` replaces (``input``, or ``data.a.b``) and the index of its ``as``;
    None for anything else (a part of ``input``, a function, ``data[...]``)."""
    if rest and rest[0].text == "input":
        return ("input", 1) if len(rest) > 1 and rest[1].text == "as" else None
    if not rest or rest[0].text != "data":
        return None
    path, i = ["data"], 1
    while i + 1 < len(rest) and rest[i].text == "." and rest[i + 1].kind == "word":
        path.append(rest[i + 1].text)
        i += 2
    if path == ["data"] or i >= len(rest) or rest[i].text != "as":
        return None
    return ".".join(path), i


def _with_clauses(expression: list[_Tok]) -> list[_Clause] | None:
    """Each ``with input as VALUE`` or ``with data.a.b as VALUE`` of an expression; None
    when a ``with`` is on something else."""
    found = []
    for i, tok in enumerate(expression):
        if tok.kind != "word" or tok.text != "with":
            continue
        rest = expression[i + 1 :]
        target = _target(rest)
        if target is None:
            return None
        value = []
        for later in rest[target[1] + 1 :]:
            if later.depth < tok.depth or (
                later.depth == tok.depth and (later.kind in ("nl", "semi") or later.text == "with")
            ):
                break
            value.append(later)
        while value and value[-1].kind == "nl":
            value.pop()
        if not value:
            return None
        words = tuple(t.text for t in value if t.kind != "nl")
        found.append((tok.start, value[-1].end, target[0], words, value[0].start))
    return found


def _blank_span(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = " "


def with_input(
    text: str, names: Iterable[str], packages: Iterable[str] = ()
) -> tuple[str, dict[str, dict[str, str]]]:
    """The test module ``text`` rewritten for the tests ``names`` that can run without the
    engine's ``with``, and for each of them what its ``with`` clauses replace (``input``,
    ``data.a.b``) -> the helper rule computing the value (empty: the test has no ``with``).
    A test not in ``names`` is blanked from the text, and so is a test that cannot be
    rewritten (a ``with`` on something else, two different values for one target,
    ``data`` under one of ``packages`` (rules), ``else``, an expression without ``with``
    that reads ``input``, ``data`` or a Conftest rule): it runs the engine's own way, in
    the text as it is. When a rule that is not a test says ``with``, no test is rewritten."""
    tokens = _tokens(text)
    by_name: dict[str, list[list[_Tok]]] = {}
    for statement in _statements(tokens):
        head = statement[0]
        says_with = any(t.kind == "word" and t.text == "with" for t in statement)
        if head.kind == "word" and head.text.startswith("test_"):
            by_name.setdefault(head.text, []).append(statement)
        elif says_with:
            return text, {}
    roots = [p.split(".") for p in {*packages, package(text) or ""} if p]
    chars = list(text)
    plan: dict[str, dict[str, str]] = {}
    helpers: list[str] = []
    wanted = set(names)
    for name, statements in by_name.items():
        found = _plan(text, statements, roots) if name in wanted else None
        if found is None:
            for statement in statements:
                _blank_span(chars, statement[0].start, statement[-1].end)
            continue
        values, setup, spans = found
        plan[name] = {}
        for target, value in values.items():
            helper = f"{HELPER}{len(helpers) + 1}"
            plan[name][target] = helper
            body = f" if {{\n{setup}\n}}" if setup else ""
            helpers.append(f"{helper} := ({value}){body}")
        for start, end in spans:
            _blank_span(chars, start, end)
    rewritten = "".join(chars)
    if helpers:
        rewritten = rewritten.rstrip("\n") + "\n\n" + "\n".join(helpers) + "\n"
    return rewritten, plan


def _overlaps(target: str, roots: list[list[str]]) -> bool:
    path = target.split(".")[1:]
    return any(path[: len(r)] == r or r[: len(path)] == path for r in roots)


def _plan(
    text: str, statements: list[list[_Tok]], roots: list[list[str]]
) -> tuple[dict[str, str], str, list[tuple[int, int]]] | None:
    """How a test (its statements) runs without ``with`` (None: it cannot): the value
    text of each target, the expressions before the first ``with`` (which may bind what
    the values use), and the spans of the clauses to blank."""
    withs = [s for s in statements if any(t.text == "with" for t in s if t.kind == "word")]
    if not withs:
        return ({}, "", []) if statements else None
    if len(statements) != 1:
        return None
    body = _body(statements[0])
    if body is None:
        return None
    clauses = [_with_clauses(e) for e in body]
    if any(c is None for c in clauses):
        return None
    found = [clause for c in clauses for clause in c or ()]
    targets: dict[str, set[tuple[str, ...]]] = {}
    for _, _, target, words, _ in found:
        targets.setdefault(target, set()).add(words)
    if any(len(v) != 1 for v in targets.values()):
        return None
    if len({frozenset(t for _, _, t, _, _ in c) for c in clauses if c}) > 1:
        return None  # `with input` in one expression, `with data` in another
    if any(t != "input" and _overlaps(t, roots) for t in targets):
        return None
    watched = {"input"} | ({"data"} if any(t != "input" for t in targets) else set())
    for expression, clause in zip(body, clauses, strict=True):
        reads = any(
            t.kind == "word" and (t.text in watched or _CONFTEST.match(t.text)) for t in expression
        )
        if not clause and reads:
            return None
    values: dict[str, str] = {}
    for _, end, target, _, value_start in found:
        values.setdefault(target, text[value_start:end].strip())
    first = next(i for i, c in enumerate(clauses) if c)
    setup = text[body[0][0].start : body[first][0].start].rstrip() if first else ""
    return values, setup, [(start, end) for start, end, *_ in found]


# -- the engine ------------------------------------------------------------------------------

NOT_JSON: Final = (
    "the engine gave a value that is not JSON (regopy 1.5.2: sprintf's %s of a string "
    "that comes from a literal in the policy keeps its quotes)"
)
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


class _Compiled:
    """A bundle (the modules compiled once, with a plan per rule) and the interpreter
    that runs it: a query costs microseconds, where a plain ``query`` compiles every
    module again (about 25 ms each)."""

    def __init__(self, bundle: Any, runner: Any) -> None:
        self.bundle = bundle
        self.runner = runner

    def set_input(self, value: Any) -> None:
        self.runner.set_input_term(json.dumps(value))

    def value(self, unit: str, rule: str) -> tuple[Any, str | None]:
        """The value of ``data.<unit>.<rule>`` (None: undefined), or the engine's error."""
        try:
            out = self.runner.query_bundle_entrypoint(self.bundle, _entrypoint(unit, rule))
        except ValueError:
            return None, NOT_JSON
        if not out.ok():
            return None, describe(_error_text(out), {})
        text = str(out)
        if text == "undefined":
            return None, None
        expressions = json.loads(text).get("expressions") or [None]
        return expressions[0], None


def _entrypoint(unit: str, rule: str) -> str:
    return "/".join([*unit.split("."), rule])


class _Engine:
    """The modules by package, and the rules to plan for each unit."""

    def __init__(
        self, modules: list[tuple[str, str]], data: Any, rules: dict[str, list[str]]
    ) -> None:
        from regopy import Interpreter  # type: ignore[import-untyped]  # noqa: PLC0415 - loaded after the environment is emptied

        self.interpreter_type = Interpreter
        self.data = json.dumps(data)
        self.texts = dict(modules)
        self.rules = rules
        self.packages: dict[str, list[str]] = {}
        self.refused: list[tuple[str, str]] = []  # (path, why)
        probe = Interpreter()
        defined = set().union(*(functions_defined(t) for _, t in modules))
        for path, text in modules:
            unknown = unknown_calls(text, defined, probe.is_builtin)
            if unknown:
                line, name = unknown[0]
                self.refused.append(
                    (
                        path,
                        f"{path}:{line}: unknown function {name}: not a builtin of the engine "
                        "(regopy 1.5.2; no network or file builtins) nor a function of the "
                        "policies",
                    )
                )
                continue
            self.packages.setdefault(package(text) or "", []).append(path)

    def build(self, paths: Iterable[str], units: Iterable[str]) -> tuple[Any, str | None]:
        rego = self.interpreter_type()
        rego.add_data_json(self.data)
        for path in paths:
            try:
                rego.add_module(path, upgrade(self.texts[path]))
            except Exception as err:  # noqa: BLE001 - regopy raises RegoError on bad text
                return None, describe(str(err), self.texts)
        entrypoints = [_entrypoint(u, r) for u in units for r in self.rules.get(u, ())]
        if not entrypoints:  # nothing to plan (a library): compile it all the same
            out = rego.query("true")
            if not out.ok():
                return None, describe(_error_text(out), self.texts)
            return _Compiled(None, rego), None
        try:
            bundle = rego.build(None, entrypoints)
        except Exception as err:  # noqa: BLE001 - RegoError
            return None, describe(str(err), self.texts)
        if not bundle.ok():
            out = rego.query("true")  # the same compilation, with its errors to read
            return None, describe(_error_text(out) if not out.ok() else "", self.texts) or (
                "does not compile"
            )
        return _Compiled(bundle, self.interpreter_type()), None


def _compiled(engine: _Engine, units: list[str], out: _Out) -> dict[str, _Compiled]:
    """The compiled form of each package in ``units``: all modules together when they
    compile; else, per package, its modules with every other package that compiles alone,
    else its modules alone. A package that does not compile alone is a compile error
    naming its files."""
    for path, why in engine.refused:
        out.emit(error={"kind": "compile", "message": why, "files": [path]})
    units = [u for u in units if u in engine.packages]
    everything = [p for paths in engine.packages.values() for p in paths]
    whole, _ = engine.build(everything, units)
    if whole is not None:
        return dict.fromkeys(units, whole)
    alone: dict[str, _Compiled] = {}
    for name, paths in engine.packages.items():
        compiled, problem = engine.build(paths, [name] if name in units else [])
        if compiled is None:
            out.emit(error={"kind": "compile", "message": problem, "files": paths})
        else:
            alone[name] = compiled
    good = [p for name in alone for p in engine.packages[name]]
    found: dict[str, _Compiled] = {}
    for unit in units:
        if unit not in alone:
            continue
        together = None
        if len(alone) < len(engine.packages):
            together, _ = engine.build(good, [unit])
        found[unit] = together or alone[unit]
    return found


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


MAX_MESSAGE: Final = 2000  # characters of one message kept
MAX_FINDINGS: Final = 10_000  # messages of one evaluation kept


def _clip(message: str) -> str:
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:MAX_MESSAGE]}… ({len(message) - MAX_MESSAGE} more characters)"


def _kind(rule: str) -> str:
    return rule.split("_", 1)[0]


def _referenced(rule: str, texts: Iterable[str]) -> bool:
    """Whether any text names ``rule`` other than in its heads (``count(deny)``,
    ``data.main.deny``, ``default deny := ...``, a word in a string)."""
    word = re.compile(rf"(?<![\w]){re.escape(rule)}(?!\w)")
    head = re.compile(rf"^[ \t]*{re.escape(rule)}{_HEAD_FOLLOWS}", re.MULTILINE)
    return any(len(word.findall(_code(t))) > len(head.findall(_code(t))) for t in texts)


def attribute(
    modules: list[tuple[str, str]], units: list[str]
) -> tuple[list[tuple[str, str]], dict[str, dict[str, tuple[str, list[str]]]]]:
    """The modules to compile, and per unit: queried rule -> (Conftest rule, its files).

    A rule that several files of a package define (``deny`` in latest.rego and in
    limits.rego) is one set to Rego, and its messages would name every one of those files.
    When nothing but its heads names it, each file's heads are renamed apart
    (``deny`` -> ``deny__gp1``, on the same line) and queried one by one, so that each
    message names the file whose rule produced it."""
    texts = [(path, upgrade(text)) for path, text in modules]
    found: dict[str, dict[str, tuple[str, list[str]]]] = {u: {} for u in units}
    files_of: dict[str, dict[str, list[str]]] = {u: {} for u in units}
    for path, text in texts:
        name = package(text) or ""
        if name in files_of:
            for rule in rule_names(text):
                files_of[name].setdefault(rule, []).append(path)
    renames: dict[str, list[tuple[str, str]]] = {}  # path -> [(rule, new name)]
    for unit, rules in files_of.items():
        for rule, files in rules.items():
            if len(files) < 2 or _referenced(rule, (t for _, t in texts)):
                found[unit][rule] = (rule, files)
                continue
            for index, file in enumerate(files, start=1):
                alias = f"{rule}__gp{index}"
                renames.setdefault(file, []).append((rule, alias))
                found[unit][alias] = (rule, [file])
    out = []
    for path, text in texts:
        renamed = text
        for rule, alias in renames.get(path, ()):
            head = re.compile(rf"^([ \t]*){re.escape(rule)}{_HEAD_FOLLOWS}", re.MULTILINE)
            renamed = head.sub(rf"\g<1>{alias}", renamed)
        out.append((path, renamed))
    return out, found


def evaluate(request: dict[str, Any], out: _Out) -> None:
    units: list[str] = request["units"]
    modules, rules = attribute([(str(p), str(t)) for p, t in request["modules"]], units)
    engine = _Engine(modules, request.get("data") or {}, {u: list(r) for u, r in rules.items()})
    compiled = _compiled(engine, units, out)
    inputs: list[Any] = request["inputs"]
    docs: list[tuple[int | None, Any]] = (
        [(None, inputs)] if request.get("combine") else list(enumerate(inputs))
    )
    kept, most = 0, int(request.get("max_findings") or MAX_FINDINGS)
    for unit in units:
        rig = compiled.get(unit)
        if rig is None:
            continue
        out.emit(begin=unit)
        for index, doc in docs:
            rig.set_input(doc)
            for queried, (rule, files) in rules[unit].items():
                value, problem = rig.value(unit, queried)
                if problem is not None:
                    message = f"{unit}.{rule}: {problem}"
                    out.emit(error={"kind": "runtime", "message": message, "files": files})
                    continue
                for message in _messages(value):
                    kept += 1
                    if kept > most:
                        continue
                    out.emit(
                        finding={
                            "kind": _kind(rule),
                            "namespace": unit,
                            "message": _clip(message),
                            "files": files,
                            "document": index,
                        }
                    )
        out.emit(done=unit)
    if kept > most:
        files = [p for u in units for _, fs in rules[u].values() for p in fs]
        out.emit(
            error={
                "kind": "runtime",
                "message": f"the policies gave {kept} messages; the first {most} are kept",
                "files": list(dict.fromkeys(files)),
            }
        )


def _test_result(out: _Out, name: str, file: str, value: Any, problem: str | None) -> None:
    passed = problem is None and value is True
    message = problem or ("" if passed else "undefined" if value is None else "false")
    out.emit(test={"name": name, "file": file, "passed": passed, "message": message})


class _Sink(_Out):
    """Keeps the events instead of writing them (a rewritten module's compile errors)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, **event: Any) -> None:
        self.events.append(event)


def _with_data(data: Any, values: dict[str, Any]) -> Any:
    """``data`` with each ``data.a.b`` of ``values`` replaced by its value."""
    data = json.loads(json.dumps(data))
    for target, value in values.items():
        *path, last = target.split(".")[1:]
        node = data
        for key in path:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[last] = value
    return data


def _run_rewritten(
    request: dict[str, Any], tests: list[tuple[str, str, str]], out: _Out
) -> list[tuple[str, str, str]]:
    """Runs the tests that need no engine ``with`` (see :func:`with_input`); returns the
    others, to be run the engine's own way."""
    modules = [(str(p), str(t)) for p, t in request["modules"]]
    files = {file for _, _, file in tests}
    if not any("with" in text for path, text in modules if path in files):
        return tests  # the common case: nothing to read
    packages = {package(text) or "" for _, text in modules}
    plans: dict[str, dict[str, dict[str, str]]] = {}
    rewritten = []
    for path, text in modules:
        if path in files:
            names = [rule for _, rule, file in tests if file == path]
            text, plans[path] = with_input(text, names, packages)  # noqa: PLW2901 - rewritten
        rewritten.append((path, text))
    chosen = [t for t in tests if t[1] in plans.get(t[2], {})]
    emulated = any(plans[f][r] for _, r, f in chosen)
    if not chosen or (len(chosen) == len(tests) and not emulated):
        return tests  # no `with` to run apart: the engine's own way, as one compilation
    rules: dict[str, list[str]] = {}
    for unit, rule, file in chosen:
        rules.setdefault(unit, []).extend([rule, *plans[file][rule].values()])
    data = request.get("data") or {}
    engine = _Engine(rewritten, data, rules)
    compiled = _compiled(engine, list(rules), _Sink())
    if any(unit not in compiled for unit in rules):
        return tests  # does not compile rewritten: the engine's own way, as it is
    for unit, rule, file in chosen:
        name = f"{unit}.{rule}"
        out.emit(begin=name)
        helpers = plans[file][rule]
        alone = [  # this test alone in its file: compiled again for a `with data`
            (path, with_input(text, [rule], packages)[0] if path == file else text)
            for path, text in modules
            if any(target != "input" for target in helpers)
        ]
        value, problem = _run_one(engine, compiled[unit], (unit, rule), helpers, data, alone)
        _test_result(out, name, file, value, problem)
        out.emit(done=name)
    return [t for t in tests if t not in chosen]


def _run_one(
    engine: _Engine,
    compiled: _Compiled,
    test: tuple[str, str],
    helpers: dict[str, str],
    data: Any,
    alone: list[tuple[str, str]],
) -> tuple[Any, str | None]:
    """One test: the values of its ``with`` clauses (no input), then the test queried
    with them (as the input; in ``data``: the modules ``alone`` compiled again with that
    data)."""
    unit, rule = test
    values = {}
    for target, helper in helpers.items():
        value, problem = _Compiled(compiled.bundle, engine.interpreter_type()).value(unit, helper)
        if problem is None and value is None:
            problem = (
                f"the value after `with {target} as` is undefined (a variable of the test "
                "must be bound on a line before the one that uses it)"
            )
        if problem is not None:
            return None, f"with {target} as: {problem}"
        values[target] = value
    in_data = {t: v for t, v in values.items() if t != "input"}
    if in_data:
        changed = _Engine(alone, _with_data(data, in_data), {unit: [rule]})
        again = _compiled(changed, [unit], _Sink()).get(unit)
        if again is None:
            return None, "does not compile with the `with data` values"
        compiled = again
    rig = _Compiled(compiled.bundle, engine.interpreter_type())
    if "input" in values:
        rig.set_input(values["input"])
    return rig.value(unit, rule)


def run_tests(request: dict[str, Any], out: _Out) -> None:
    modules = [(str(p), str(t)) for p, t in request["modules"]]
    tests = [(str(t[0]), str(t[1]), str(t[2])) for t in request["units"]]
    tests = _run_rewritten(request, tests, out)
    if not tests:
        return
    rules: dict[str, list[str]] = {}
    for unit, rule, _ in tests:
        rules.setdefault(unit, []).append(rule)
    engine = _Engine(modules, request.get("data") or {}, rules)
    compiled = _compiled(engine, list(rules), out)
    for unit, rule, file in tests:
        rig = compiled.get(unit)
        if rig is None:
            continue
        name = f"{unit}.{rule}"
        out.emit(begin=name)
        value, problem = rig.value(unit, rule)
        _test_result(out, name, file, value, problem)
        out.emit(done=name)


MEMORY_LIMIT: Final = 1 << 30  # bytes the engine may allocate beyond its start-up


def limit_memory(extra: int = MEMORY_LIMIT) -> None:
    """Bound what a policy can allocate (``numbers.range(1, 1e9)`` takes gigabytes in
    seconds): the data segment may grow ``extra`` bytes past what the engine holds once
    started. Set after the engine's allocator has reserved its (huge, virtual) arena,
    which a limit set before it would refuse; beyond it, the engine aborts
    (``std::bad_alloc``). Where the system has no such limit, nothing is done."""
    try:
        import resource  # noqa: PLC0415 - POSIX only

        from regopy import Interpreter  # noqa: PLC0415

        Interpreter().query("true")  # the allocator starts
        with open("/proc/self/status", encoding="ascii") as status:  # noqa: PTH123 - no pathlib: start-up time
            data = next(
                int(line.split()[1]) * 1024 for line in status if line.startswith("VmData:")
            )
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        soft = data + extra if hard == resource.RLIM_INFINITY else min(data + extra, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
    except (ImportError, OSError, StopIteration, ValueError):
        return


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the engine's own diagnostics go to stderr
    os.environ.clear()
    limit_memory()
    request = json.load(sys.stdin)
    out = _Out(protocol)
    if request["op"] == "test":
        run_tests(request, out)
    else:
        evaluate(request, out)
    return 0


__all__ = [
    "MAX_FINDINGS",
    "MAX_MESSAGE",
    "MEMORY_LIMIT",
    "attribute",
    "describe",
    "functions_defined",
    "limit_memory",
    "main",
    "package",
    "rule_names",
    "test_names",
    "unknown_calls",
    "upgrade",
    "with_input",
]


if __name__ == "__main__":
    sys.exit(main())
