"""A small GitHub Actions runner for composite actions, to run action.yml as GitHub does.

What it does the way the real runner does (actions/runner, Runner.Worker):

- inputs: the ``with:`` map, action.yml defaults for missing inputs (defaults may hold
  expressions), an error for inputs action.yml does not declare; like the real runner, it
  does NOT export ``INPUT_*`` to composite ``run:`` steps (actions/runner#665): the action
  has to map them through ``env:`` itself;
- expressions ``${{ ... }}`` in ``env:``, ``with:``, ``run:``, ``if:`` and the action's
  ``outputs:``: the contexts ``inputs``, ``github`` (``action_path``, ``workspace``,
  ``event``...), ``runner`` (``temp``, ``os``, ``arch``), ``steps.<id>.outputs/outcome``,
  ``env``; GitHub's rules for literals, loose equality (case-insensitive strings, number
  coercion), ``&&``/``||`` returning operands, the status functions and a few others;
- step ``if:`` conditions, with the implicit ``success() &&``;
- ``run:`` steps for real, with ``bash --noprofile --norc -eo pipefail {0}`` in the
  workspace, each step with fresh ``GITHUB_OUTPUT``, ``GITHUB_ENV``, ``GITHUB_PATH``,
  ``GITHUB_STATE`` and ``GITHUB_STEP_SUMMARY`` files, parsed afterwards (``name=value``
  and heredoc ``name<<DELIMITER``); the step summaries add up to the job summary;
- workflow commands on stdout/stderr: ``::add-mask::`` (later log lines are masked),
  ``::error``/``::warning``/``::notice`` annotations, ``::group::``;
- ``uses:`` steps are simulated by a small table (:data:`SIMULATED`): they must be pinned
  by a full commit SHA; ``actions/setup-python`` answers with this interpreter,
  ``actions/cache`` with an on-disk cache store shared by every test of a run.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ruamel.yaml import YAML

# -- expressions ------------------------------------------------------------------------------


class ExpressionError(Exception):
    """An expression the real runner would refuse (or this small evaluator cannot do)."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>-?(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
      | (?P<str>'(?:[^']|'')*')
      | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\].,*])
      | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)

CONTEXTS = frozenset(
    {"github", "env", "inputs", "steps", "runner", "job", "matrix", "strategy", "vars", "secrets"}
)
STATUS_FUNCTIONS = frozenset({"success", "always", "failure", "cancelled"})


@dataclass(frozen=True)
class _Tok:
    kind: str  # num | str | op | name | end
    text: str


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExpressionError(f"unexpected character at {pos} in {text!r}")
        kind = match.lastgroup or ""
        out.append(_Tok(kind, match.group(kind)))
        pos = match.end()
    out.append(_Tok("end", ""))
    return out


def _to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def truthy(value: Any) -> bool:
    """GitHub's truthiness: null, false, 0, NaN and '' are false; objects are true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def loose_equal(a: Any, b: Any) -> bool:
    """``==``: same kinds compare directly (strings ignoring case), else both as numbers."""
    ka, kb = _kind(a), _kind(b)
    if ka == kb:
        if ka == "string":
            return bool(a.casefold() == b.casefold())
        if ka == "number":
            return float(a) == float(b)
        if ka == "object":
            return a is b
        return bool(a == b)
    return _to_number(a) == _to_number(b)


def _compare(op: str, a: Any, b: Any) -> bool:
    if _kind(a) == "string" and _kind(b) == "string":
        x: Any = a.casefold()
        y: Any = b.casefold()
    else:
        x, y = _to_number(a), _to_number(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return bool({"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op])


def to_text(value: Any) -> str:
    """How a value is written into a string: null as '', booleans lowercase, JSON objects."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2)


def _member(obj: Any, key: Any) -> Any:
    if isinstance(obj, Mapping) and isinstance(key, str):
        if key in obj:
            return obj[key]
        folded = key.casefold()
        return next((v for k, v in obj.items() if str(k).casefold() == folded), None)
    if isinstance(obj, list) and not isinstance(key, str):
        index = _to_number(key)
        if not math.isnan(index) and 0 <= int(index) < len(obj):
            return obj[int(index)]
    return None


def _format(template: str, *args: Any) -> str:
    def sub(match: re.Match[str]) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        index = int(match.group(1))
        if index >= len(args):
            raise ExpressionError(f"format: no argument {index}")
        return to_text(args[index])

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", sub, template)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": lambda s, item: (
        any(loose_equal(x, item) for x in s)
        if isinstance(s, list)
        else to_text(item).casefold() in to_text(s).casefold()
    ),
    "startswith": lambda s, p: to_text(s).casefold().startswith(to_text(p).casefold()),
    "endswith": lambda s, p: to_text(s).casefold().endswith(to_text(p).casefold()),
    "format": _format,
    "join": lambda a, sep=",": (
        to_text(sep).join(to_text(x) for x in a) if isinstance(a, list) else to_text(a)
    ),
    "tojson": lambda v: json.dumps(v, indent=2),
    "fromjson": lambda v: json.loads(to_text(v)),
}


class _Parser:
    """Recursive descent over GitHub's grammar: || < && < == != < < <= > >= < ! < member."""

    def __init__(self, text: str, contexts: Mapping[str, Any], status: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.pos = 0
        self.contexts = contexts
        self.status = status

    def parse(self) -> Any:
        value = self.or_()
        if self.peek().kind != "end":
            raise ExpressionError(f"unexpected {self.peek().text!r} in {self.text!r}")
        return value

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def take(self, text: str | None = None) -> _Tok:
        tok = self.toks[self.pos]
        if text is not None and tok.text != text:
            raise ExpressionError(f"expected {text!r}, got {tok.text!r} in {self.text!r}")
        self.pos += 1
        return tok

    def or_(self) -> Any:
        left = self.and_()
        while self.peek().text == "||":
            self.take()
            right = self.and_()
            left = left if truthy(left) else right
        return left

    def and_(self) -> Any:
        left = self.equality()
        while self.peek().text == "&&":
            self.take()
            right = self.equality()
            left = right if truthy(left) else left
        return left

    def equality(self) -> Any:
        left = self.comparison()
        while self.peek().text in ("==", "!="):
            op = self.take().text
            right = self.comparison()
            same = loose_equal(left, right)
            left = same if op == "==" else not same
        return left

    def comparison(self) -> Any:
        left = self.unary()
        while self.peek().text in ("<", "<=", ">", ">="):
            op = self.take().text
            left = _compare(op, left, self.unary())
        return left

    def unary(self) -> Any:
        if self.peek().text == "!":
            self.take()
            return not truthy(self.unary())
        return self.member()

    def member(self) -> Any:
        value = self.primary()
        while self.peek().text in (".", "["):
            if self.take().text == ".":
                tok = self.take()
                if tok.text == "*":
                    value = list(value.values()) if isinstance(value, Mapping) else []
                elif tok.kind == "name":
                    value = _member(value, tok.text)
                else:
                    raise ExpressionError(f"bad property {tok.text!r} in {self.text!r}")
            else:
                key = self.or_()
                self.take("]")
                value = _member(value, key)
        return value

    def primary(self) -> Any:
        tok = self.take()
        if tok.kind == "num":
            text = tok.text.lower()
            if "0x" in text:
                return float(int(text, 16))
            return float(text)
        if tok.kind == "str":
            return tok.text[1:-1].replace("''", "'")
        if tok.text == "(":
            value = self.or_()
            self.take(")")
            return value
        if tok.kind != "name":
            raise ExpressionError(f"unexpected {tok.text!r} in {self.text!r}")
        word = tok.text
        if self.peek().text == "(":
            return self.call(word)
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return None
        context = word.lower()
        if context not in CONTEXTS:
            raise ExpressionError(f"unrecognized named-value {word!r} in {self.text!r}")
        if context not in self.contexts:
            raise ExpressionError(f"context {word!r} is not available here ({self.text!r})")
        return self.contexts[context]

    def call(self, name: str) -> Any:
        self.take("(")
        args: list[Any] = []
        while self.peek().text != ")":
            args.append(self.or_())
            if self.peek().text == ",":
                self.take()
        self.take(")")
        lower = name.lower()
        if lower in STATUS_FUNCTIONS:
            if args:
                raise ExpressionError(f"{name}() takes no arguments")
            return {
                "success": self.status == "success",
                "always": True,
                "failure": self.status == "failure",
                "cancelled": self.status == "cancelled",
            }[lower]
        if lower not in FUNCTIONS:
            raise ExpressionError(f"function {name}() is not supported by this runner")
        return FUNCTIONS[lower](*args)


def evaluate(expression: str, contexts: Mapping[str, Any], *, status: str = "success") -> Any:
    """The value of one expression (without the ``${{ }}``)."""
    return _Parser(expression, contexts, status).parse()


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def interpolate(text: str, contexts: Mapping[str, Any]) -> str:
    """Replace every ``${{ expr }}`` in ``text`` with its value as text."""
    return _TEMPLATE.sub(lambda m: to_text(evaluate(m.group(1), contexts)), text)


def condition(text: str | bool | None, contexts: Mapping[str, Any], status: str) -> bool:
    """A step's ``if:``; without a status function it means ``success() && (...)``."""
    if text is None:
        return status == "success"
    if isinstance(text, bool):
        return status == "success" and text
    expr = text.strip()
    whole = _TEMPLATE.fullmatch(expr)
    if whole:
        expr = whole.group(1)
    calls = {m.lower() for m in re.findall(r"([A-Za-z]+)\s*\(", expr)}
    if not calls & STATUS_FUNCTIONS:
        expr = f"success() && ({expr})"
    return truthy(evaluate(expr, contexts, status=status))


# -- file and workflow commands ---------------------------------------------------------------


class FileCommandError(Exception):
    """A malformed GITHUB_OUTPUT / GITHUB_ENV file (the real runner fails the step)."""


def parse_file_command(text: str) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIMITER`` heredocs, as the runner reads them."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if heredoc > 0 and (eq < 0 or heredoc < eq):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            body: list[str] = []
            while i < len(lines) and lines[i].rstrip("\r") != delimiter:
                body.append(lines[i].rstrip("\r"))
                i += 1
            if i >= len(lines):
                raise FileCommandError(f"{name}: no closing delimiter {delimiter!r}")
            i += 1
            values[name] = "\n".join(body)
        elif eq > 0:
            values[line[:eq]] = line[eq + 1 :]
        else:
            raise FileCommandError(f"invalid line {line!r}")
    return values


@dataclass(frozen=True)
class Annotation:
    level: str  # error | warning | notice
    message: str
    properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str | None:
        return self.properties.get("title")


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return _unescape_data(text.replace("%3A", ":").replace("%2C", ","))


_COMMAND = re.compile(r"^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$")


@dataclass
class Log:
    """What the runner makes of a step's output: masks, annotations, the visible log."""

    masks: list[str] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # as shown in the UI: masked, no commands

    def mask(self, text: str) -> str:
        for secret in sorted(self.masks, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def feed(self, output: str) -> None:
        for raw in output.splitlines():
            match = _COMMAND.match(raw)
            if not match:
                self.lines.append(self.mask(raw))
                continue
            name, props_text, data = match.group(1), match.group(2) or "", match.group(3)
            props: dict[str, str] = {}
            for part in filter(None, props_text.split(",")):
                key, _, value = part.partition("=")
                props[key.strip()] = _unescape_property(value)
            message = _unescape_data(data)
            if name == "add-mask":
                if message.strip():
                    self.masks.append(message.strip())
            elif name in ("error", "warning", "notice"):
                self.annotations.append(Annotation(name, message, props))
                self.lines.append(self.mask(f"{name.capitalize()}: {message}"))
            elif name == "group":
                self.lines.append(self.mask(f"▸ {message}"))
            elif name in ("endgroup", "debug"):
                continue
            else:
                self.lines.append(self.mask(raw))


# -- simulated `uses:` actions ----------------------------------------------------------------


class CacheStore:
    """actions/cache, simulated on disk: a key is a hit once a job saved it and the path is
    there. A miss holds a lock until the job ends (so parallel test workers build a cached
    directory once), when the path is saved if the job succeeded (``post-if: success()``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _marker(self, key: str) -> Path:
        return self.root / (re.sub(r"[^A-Za-z0-9._-]", "_", key) + ".saved")

    def saved(self, key: str) -> Path | None:
        marker = self._marker(key)
        return Path(marker.read_text()) if marker.is_file() else None

    def restore(self, key: str, path: Path, job: Job) -> bool:
        handle = (self.root / "lock").open("w")
        fcntl.flock(handle, fcntl.LOCK_EX)
        saved = self.saved(key)
        if saved is not None and saved == path and path.exists():
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
            return True
        job.post.append(lambda ok: self._save(key, path, handle, ok))
        return False

    def _save(self, key: str, path: Path, handle: IO[str], ok: bool) -> None:
        try:
            if ok and path.exists():
                self._marker(key).write_text(str(path))
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _setup_python(with_: Mapping[str, str], job: Job) -> dict[str, str]:
    wanted = with_.get("python-version", "").strip()
    have = platform.python_version()
    if wanted and not (have == wanted or have.startswith(wanted + ".")):
        raise ExpressionError(
            f"setup-python (simulated) was asked for {wanted}; this machine runs {have}"
        )
    if with_.get("update-environment", "true").strip().lower() != "false":
        job.path.insert(0, str(Path(sys.executable).parent))
    return {"python-version": have, "python-path": sys.executable, "cache-hit": "false"}


def _cache(with_: Mapping[str, str], job: Job) -> dict[str, str]:
    key, path = with_.get("key", "").strip(), with_.get("path", "").strip()
    if not key or not path or "\n" in path:
        raise ExpressionError("actions/cache (simulated) needs one path and a key")
    hit = job.cache.restore(key, Path(path), job)
    return {"cache-hit": "true" if hit else "false", "cache-primary-key": key}


SIMULATED: dict[str, Callable[[Mapping[str, str], Job], dict[str, str]]] = {
    "actions/setup-python": _setup_python,
    "actions/cache": _cache,
}


# -- the runner -------------------------------------------------------------------------------


@dataclass
class Job:
    """Per-run state the steps share."""

    cache: CacheStore
    path: list[str] = field(default_factory=list)  # GITHUB_PATH additions, newest first
    env: dict[str, str] = field(default_factory=dict)  # GITHUB_ENV additions
    post: list[Callable[[bool], None]] = field(default_factory=list)


@dataclass
class StepRun:
    id: str
    name: str
    outcome: str  # success | failure | skipped
    outputs: dict[str, str] = field(default_factory=dict)
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    summary: str = ""
    env: dict[str, str] = field(default_factory=dict)  # the environment a run step had


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]
    log: Log
    exit_code: int  # of the failed step, else 0
    summary: str  # the job summary: every step's summary, in order

    @property
    def outcome(self) -> str:
        return "success" if self.exit_code == 0 else "failure"

    def step(self, step_id: str) -> StepRun:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)

    @property
    def stderr(self) -> str:
        return "".join(s.stderr for s in self.steps)

    @property
    def annotations(self) -> list[Annotation]:
        return self.log.annotations


_SHA = re.compile(r"^[0-9a-f]{40}$")
_yaml = YAML(typ="safe", pure=True)


def load_action(action_dir: Path) -> dict[str, Any]:
    data = _yaml.load((action_dir / "action.yml").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("runs", {}).get("using") != "composite":
        raise ExpressionError(f"{action_dir}/action.yml is not a composite action")
    return data


class CompositeRunner:
    """Runs one composite action (its action.yml) the way a GitHub runner does."""

    def __init__(
        self,
        action_dir: Path,
        *,
        runner_temp: Path,
        cache: CacheStore,
        base_env: Mapping[str, str],
    ) -> None:
        self.action_dir = action_dir
        self.action = load_action(action_dir)
        self.runner_temp = runner_temp
        self.cache = cache
        self.base_env = dict(base_env)

    def inputs(self, with_: Mapping[str, str], contexts: Mapping[str, Any]) -> dict[str, str]:
        declared: dict[str, Any] = self.action.get("inputs") or {}
        unknown = sorted(set(with_) - set(declared))
        if unknown:
            raise ExpressionError(f"unexpected input(s) {unknown}; valid: {sorted(declared)}")
        values: dict[str, str] = {}
        for name, spec in declared.items():
            if name in with_:
                values[name] = str(with_[name])
            else:
                default = (spec or {}).get("default", "")
                values[name] = interpolate(to_text(default), contexts)
        return values

    def run(
        self,
        with_: Mapping[str, str],
        *,
        workspace: Path,
        job_dir: Path,
        event: Mapping[str, Any],
        event_name: str = "push",
        env: Mapping[str, str] | None = None,
        until: str | None = None,
    ) -> ActionRun:
        """Run every step (or those up to the step with id ``until``); ``job_dir`` receives
        the event payload and the file commands."""
        job_dir.mkdir(parents=True, exist_ok=True)
        event_path = job_dir / "event.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        job = Job(self.cache)
        job_env = {
            **self.base_env,
            **(env or {}),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_EVENT_NAME": event_name,
            "RUNNER_TEMP": str(self.runner_temp),
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": {"x86_64": "X64", "aarch64": "ARM64"}.get(platform.machine(), "X64"),
        }
        github = {
            "action_path": str(self.action_dir),
            "workspace": str(workspace),
            "event": dict(event),
            "event_name": event_name,
            "event_path": str(event_path),
            **{
                k.removeprefix("GITHUB_").lower(): v
                for k, v in job_env.items()
                if k.startswith("GITHUB_") and k not in ("GITHUB_EVENT_PATH", "GITHUB_WORKSPACE")
            },
        }
        runner = {
            "temp": str(self.runner_temp),
            "os": job_env["RUNNER_OS"],
            "arch": job_env["RUNNER_ARCH"],
            "name": "gitops-promote contract runner",
            "debug": "",
        }
        steps_ctx: dict[str, Any] = {}
        contexts: dict[str, Any] = {"github": github, "runner": runner, "steps": steps_ctx}
        contexts["env"] = {}
        contexts["inputs"] = self.inputs(with_, contexts)
        log = Log()
        runs: list[StepRun] = []
        status = "success"
        exit_code = 0
        for index, step in enumerate(self.action["runs"]["steps"]):
            step_id = str(step.get("id") or f"__step{index}")
            contexts["env"] = {
                **job.env,
                **{str(k): str(v) for k, v in (step.get("env") or {}).items()},
            }
            name = interpolate(str(step.get("name") or step.get("uses") or step_id), contexts)
            if not condition(step.get("if"), contexts, status):
                run = StepRun(step_id, name, "skipped")
            elif "uses" in step:
                run = self._uses(step, step_id, name, contexts, job)
            else:
                run = self._run(step, step_id, name, index, contexts, job, job_env, job_dir)
            log.feed(run.stdout)
            log.feed(run.stderr)
            runs.append(run)
            steps_ctx[step_id] = {
                "outputs": dict(run.outputs),
                "outcome": run.outcome,
                "conclusion": run.outcome,
            }
            if run.outcome == "failure" and status == "success":
                status = "failure"
                exit_code = run.exit_code or 1
            if step_id == until:
                break
        for post in reversed(job.post):
            post(status == "success")
        outputs = {
            name: interpolate(to_text((spec or {}).get("value", "")), contexts)
            for name, spec in (self.action.get("outputs") or {}).items()
        }
        summary = "".join(r.summary for r in runs)
        return ActionRun(runs, outputs, log, exit_code, summary)

    def _uses(
        self,
        step: Mapping[str, Any],
        step_id: str,
        name: str,
        contexts: Mapping[str, Any],
        job: Job,
    ) -> StepRun:
        action, _, ref = str(step["uses"]).partition("@")
        if not _SHA.match(ref):
            raise ExpressionError(f"{step['uses']}: third-party actions must be pinned by SHA")
        if action not in SIMULATED:
            raise ExpressionError(f"{action} is not simulated by this runner")
        with_ = {
            str(k): interpolate(to_text(v), contexts) for k, v in (step.get("with") or {}).items()
        }
        outputs = SIMULATED[action](with_, job)
        return StepRun(step_id, name, "success", outputs)

    def _run(
        self,
        step: Mapping[str, Any],
        step_id: str,
        name: str,
        index: int,
        contexts: Mapping[str, Any],
        job: Job,
        job_env: Mapping[str, str],
        job_dir: Path,
    ) -> StepRun:
        if step.get("shell") != "bash":
            raise ExpressionError(f"step {step_id}: composite run steps need `shell: bash` here")
        files = job_dir / f"step{index:02d}-{step_id}"
        files.mkdir()
        paths = {
            name: files / name.lower()
            for name in (
                "GITHUB_OUTPUT",
                "GITHUB_ENV",
                "GITHUB_PATH",
                "GITHUB_STATE",
                "GITHUB_STEP_SUMMARY",
            )
        }
        for path in paths.values():
            path.touch()
        script = files / "script.sh"
        script.write_text(interpolate(str(step["run"]), contexts), encoding="utf-8")
        env = {
            **job_env,
            **job.env,
            **{k: str(v) for k, v in paths.items()},
            "GITHUB_ACTION_PATH": str(self.action_dir),
        }
        env["PATH"] = os.pathsep.join([*job.path, job_env.get("PATH", os.defpath)])
        for key, value in (step.get("env") or {}).items():
            env[str(key)] = interpolate(to_text(value), contexts)
        workdir = Path(job_env["GITHUB_WORKSPACE"])
        if step.get("working-directory"):
            workdir = workdir / interpolate(str(step["working-directory"]), contexts)
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        outputs = parse_file_command(paths["GITHUB_OUTPUT"].read_text(encoding="utf-8"))
        job.env.update(parse_file_command(paths["GITHUB_ENV"].read_text(encoding="utf-8")))
        added = paths["GITHUB_PATH"].read_text(encoding="utf-8").splitlines()
        job.path[:0] = [p for p in reversed(added) if p.strip()]
        return StepRun(
            step_id,
            name,
            "success" if proc.returncode == 0 else "failure",
            outputs,
            proc.returncode,
            proc.stdout,
            proc.stderr,
            paths["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8"),
            env,
        )


# -- fixtures helpers -------------------------------------------------------------------------


def runner_env(home: Path) -> dict[str, str]:
    """The environment of a fresh runner job: this machine's, minus anything that would
    leak from the developer's shell into the action (GitHub, git, input variables)."""
    drop = ("GITHUB_", "INPUT_", "GITOPS_PROMOTE_", "GIT_", "RUNNER_", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    cache = Path(os.environ.get("PIP_CACHE_DIR") or Path.home() / ".cache" / "pip")
    env.update(
        {
            "HOME": str(home),
            "PIP_CACHE_DIR": str(cache),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }
    )
    return env


__all__: Sequence[str] = (
    "ActionRun",
    "Annotation",
    "CacheStore",
    "CompositeRunner",
    "ExpressionError",
    "Log",
    "StepRun",
    "condition",
    "evaluate",
    "interpolate",
    "loose_equal",
    "parse_file_command",
    "runner_env",
    "to_text",
    "truthy",
)
