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


def run_tests(request: dict[str, Any], out: _Out) -> None:
    modules = [(str(p), str(t)) for p, t in request["modules"]]
    tests = [(str(t[0]), str(t[1]), str(t[2])) for t in request["units"]]
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
        passed = problem is None and value is True
        message = problem or ("" if passed else "undefined" if value is None else "false")
        out.emit(test={"name": name, "file": file, "passed": passed, "message": message})
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
]


if __name__ == "__main__":
    sys.exit(main())
