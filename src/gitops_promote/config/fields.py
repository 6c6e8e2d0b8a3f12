"""What each promotion.yaml field is, and how a bad value of it is explained to a person.

The JSON Schema (:mod:`gitops_promote.config.shape`) decides whether a value is valid; this
module turns a refused value into the message with the fix (a suggestion, the placeholder at
fault, the cron field that is wrong). Each field has a *kind*; :func:`explain` gives the
messages of a value of that kind, :func:`semantic` the few checks a schema cannot make
(a cron expression that never fires, an unknown time zone, a timestamp out of range).
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any, Final

from gitops_promote.config.durations import TIME_RANGE, DurationError, in_time_range, parse_duration
from gitops_promote.config.freeze import cron_problem, zone
from gitops_promote.config.templates import (
    BRANCH_PLACEHOLDERS,
    COMMIT_PLACEHOLDERS,
    PATH_PLACEHOLDERS,
    TITLE_PLACEHOLDERS,
    sanitize_ref,
    validate_template,
)
from gitops_promote.errors import UserError, quote
from gitops_promote.images import ImageRef

# patterns end in \Z, not $: `$` also matches before a trailing newline ("@org/team\n")
NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9._-]*\Z")
MAX_NAME_LENGTH: Final = 63
_OWNER_RE: Final = re.compile(
    r"^(@[A-Za-z0-9](?:[A-Za-z0-9-]*)(?:/[A-Za-z0-9._-]+)?|[^@\s]+@[^@\s]+\.[^@\s]+)\Z"
)
_LOGIN_RE: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\Z")
TEAM_RE: Final = re.compile(r"^(?:@?[A-Za-z0-9][A-Za-z0-9-]*/)?([A-Za-z0-9][A-Za-z0-9._-]*)\Z")
_KEY_PATH_RE: Final = re.compile(r"^[^.\s]+(?:\.[^.\s]+)*\Z")
_TIMESTAMP_EXAMPLE: Final = (
    "write e.g. '2026-12-20T00:00:00+01:00' (ISO 8601; without offset: timezone)"
)
FREEZE_EXAMPLE: Final = (
    "either schedule: '0 16 * * FRI' with duration: 64h (recurring), or start: and "
    "end: (two timestamps for a one-off window, or two cron expressions for a "
    "recurring start/end pair)"
)


def type_name(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, datetime | date):
        return "a timestamp"
    return type(value).__name__


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or ``""``: also catches snake_case for kebab-case."""
    options = list(choices)
    kebab = word.replace("_", "-").lower()
    if kebab != word and kebab in options:
        return f" (did you mean {quote(kebab)}?)"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close and len(word) >= 3:  # an abbreviation: prod -> production
        close = [o for o in options if o.startswith(word)][:2]
        close = close if len(close) == 1 else []
    return f" (did you mean {quote(close[0])}?)" if close else ""


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(choices)


def relative_path_problem(path: str) -> str | None:
    """Why ``path`` is not a safe repo-relative path, or None."""
    if not path.strip():
        return "is empty"
    if "\\" in path:
        return "contains '\\'; use '/' between directories"
    if any(ord(c) < 32 for c in path):
        return "contains control characters"
    if path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", path):
        return "is absolute; write it relative to the config repo root (e.g. apps/{app}/...)"
    if ".." in PurePosixPath(path).parts:
        return "contains '..'; paths must stay inside the config repo"
    return None


def name_problem(name: str) -> str | None:
    if not NAME_RE.match(name):
        return (
            "must be lowercase letters, digits, '.', '_' or '-', starting with a letter or "
            "digit (it is used in paths and branch names)"
        )
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if ".." in name or name.endswith((".", ".lock")):
        return "must not contain '..' or end with '.' or '.lock' (not valid in a branch name)"
    return None


def valid_name(value: object) -> bool:
    return isinstance(value, str) and name_problem(value) is None


def _shown(value: object) -> str:
    return f" ({quote(value)})" if isinstance(value, str | int | float) else ""


# -- explainers: (where, key, value) -> messages ----------------------------------------

Explain = Callable[[str, str, Any], list[str]]


def _text(where: str, key: str, value: Any) -> list[str]:
    if not isinstance(value, str):
        return [f"{where}: {key} must be text, not {type_name(value)}{_shown(value)}"]
    if not value.strip():
        return [f"{where}: {key} is empty; give a value"]
    return []


def _then(check: Callable[[str, str, str], list[str]]) -> Explain:
    """Text first; ``check`` only for text that is not blank."""

    def explain(where: str, key: str, value: Any) -> list[str]:
        return _text(where, key, value) or check(where, key, value)

    return explain


def _flag(where: str, key: str, value: Any) -> list[str]:
    if isinstance(value, bool):
        return []
    return [f"{where}: {key} must be true or false, not {type_name(value)}{_shown(value)}"]


def _choice(*choices: str, off: bool = False) -> Explain:
    def explain(where: str, key: str, value: Any) -> list[str]:
        if (isinstance(value, str) and value in choices) or (
            off and (value is False or value is None)
        ):
            return []
        if isinstance(value, bool):
            shown = str(value).lower()
        else:
            shown = quote(value) if isinstance(value, str | int | float) else type_name(value)
        hint = suggest(value, choices) if isinstance(value, str) else ""
        return [f"{where}: {key} {shown} is not valid{hint}; use one of: {one_of(choices)}"]

    return explain


def _template(allowed: Iterable[str], *, branch: bool = False) -> Explain:
    def check(where: str, key: str, value: str) -> list[str]:
        found = [f"{where}: {key} {quote(value)}: {m}" for m in validate_template(value, allowed)]
        if found:
            return found
        if branch and ("{env}" not in value or ("{app}" not in value and "{apps}" not in value)):
            return [
                f"{where}: {key} {quote(value)} must contain {{env}} and {{app}} (or {{apps}}) "
                f"so that each promotion has its own branch and pull request"
            ]
        return []

    return _then(check)


def _path(where: str, key: str, value: str) -> list[str]:
    found = [
        f"{where}: {key} {quote(value)}: {m}" for m in validate_template(value, PATH_PLACEHOLDERS)
    ]
    why = relative_path_problem(value)
    return found + ([f"{where}: {key} {quote(value)} {why}"] if why else [])


def _base_branch(where: str, key: str, value: str) -> list[str]:
    if sanitize_ref(value) != value or value.startswith("refs/"):
        return [
            f"{where}: {key} {quote(value)} is not a valid branch name; write the branch name "
            f"only, e.g. main"
        ]
    return []


def _email(where: str, key: str, value: str) -> list[str]:
    if "@" not in value or any(c.isspace() or c in "<>" for c in value):
        return [
            f"{where}: {key} {quote(value)} is not an email address; write e.g. "
            f"bot@example.com (no name, no <>)"
        ]
    return []


def _state_file(where: str, key: str, value: str) -> list[str]:
    why = relative_path_problem(value)
    return [f"{where}: {key} {why}"] if why else []


def _label(where: str, key: str, value: Any) -> list[str]:
    return [] if value is None or value == "" else _text(where, key, value)


def _env_name(where: str, key: str, value: str) -> list[str]:
    why = name_problem(value)
    return [f"{where}: {key} {quote(value)} {why}"] if why else []


def _image(where: str, _key: str, value: str) -> list[str]:
    try:
        ref = ImageRef.parse(value, what="image")
    except UserError as err:
        return [f"{where}: {err.message}" + (f"; {err.hint}" if err.hint else "")]
    if ref.tag is not None or ref.digest is not None:
        return [
            f"{where}: image {quote(value)} must be the repository only; write image: "
            f"{ref.name} (each promotion picks the tag or digest)"
        ]
    return []


def _key_path(where: str, _key: str, value: str) -> list[str]:
    if _KEY_PATH_RE.match(value):
        return []
    return [f"{where}: key {quote(value)} is not a dotted key path; write e.g. image or api.image"]


def _no_spaces(where: str, key: str, value: str) -> list[str]:
    return [f"{where}: {key} {quote(value)} has spaces"] if any(c.isspace() for c in value) else []


def _duration(where: str, key: str, value: Any) -> list[str]:
    try:
        parse_duration(value)
    except DurationError as err:
        return [f"{where}: {key}: {err}"]
    return []


def _cron(where: str, key: str, value: str) -> list[str]:
    why = cron_problem(value)
    return [f"{where}: {key}: {why}"] if why else []


def bound_kind(value: Any) -> str:
    """A freeze window's start/end: ``cron`` or ``time``."""
    if isinstance(value, datetime | date):
        return "time"
    if isinstance(value, str) and (value.strip().startswith("@") or len(value.split()) >= 3):
        return "cron"
    return "time"


def timestamp(value: Any) -> datetime | str:
    """The datetime a start/end value denotes (naive when written without offset), or why not."""
    if isinstance(value, datetime):
        stamp = datetime.fromisoformat(value.isoformat())  # plain datetime, offset kept
    elif isinstance(value, date):
        stamp = datetime(value.year, value.month, value.day)
    elif not isinstance(value, str):
        return f"must be a timestamp, not {type_name(value)}; {_TIMESTAMP_EXAMPLE}"
    else:
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError:
            return f"{quote(value)} is not a timestamp; {_TIMESTAMP_EXAMPLE}"
    if not in_time_range(stamp):
        return f"{stamp.isoformat()} is out of range ({TIME_RANGE})"
    return stamp


def _bound(where: str, key: str, value: Any) -> list[str]:
    if bound_kind(value) == "cron":
        return _cron(where, key, value)
    stamp = timestamp(value)
    return [f"{where}: {key} {stamp}"] if isinstance(stamp, str) else []


def zone_problem(where: str, name: str) -> str | None:
    try:
        zone(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        hint = suggest(name, sorted(zoneinfo.available_timezones()))
        return (
            f"{where}: timezone {quote(name)} is not an IANA time zone{hint}; write e.g. "
            f"Europe/Berlin, America/New_York or UTC"
        )
    return None


def _timezone(where: str, _key: str, value: str) -> list[str]:
    why = zone_problem(where, value)
    return [why] if why else []


# -- lists ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Items:
    """A list of non-empty texts; ``check`` says why one item is wrong (or None)."""

    check: Callable[[str], str | None] | None = None

    def __call__(self, where: str, key: str, value: Any) -> list[str]:
        if not isinstance(value, list):
            example = f"[{value}]" if isinstance(value, str) else "[a, b]"
            return [f"{where}: {key} must be a list, e.g. {key}: {example}; not {type_name(value)}"]
        return []

    def item(self, where: str, key: str, index: int, item: Any) -> str | None:
        if not isinstance(item, str) or not item.strip():
            return f"{where}: {key}[{index}] must be non-empty text"
        why = self.check(item) if self.check else None
        return f"{where}: {key}[{index}] {quote(item)} {why}" if why else None


def _label_length(value: str) -> str | None:
    return "is longer than GitHub's 50-character label limit" if len(value) > 50 else None


def _login(value: str) -> str | None:
    if _LOGIN_RE.match(value.removeprefix("@")):
        return None
    return "is not a GitHub login (for a team use team-reviewers)"


def _team(value: str) -> str | None:
    return None if TEAM_RE.match(value) else "is not a team; write its slug, e.g. oncall"


def _owner(value: str) -> str | None:
    if _OWNER_RE.match(value):
        return None
    return "is not an owner; write @org/team, @user or an email address"


# -- policies (Rego directories and options) ------------------------------------------

_REGO_PACKAGE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
MAX_POLICY_TIMEOUT_S: Final = 600
POLICIES_EXAMPLE: Final = (
    "policies: [policy/], or policies: {dirs: [policy/], namespaces: [main], combine: false, "
    "timeout: 10s}"
)


def policy_dir_problem(value: str) -> str | None:
    """Why ``value`` is not a policy directory of the config repo, or None."""
    if "://" in value or value.startswith("git@"):
        return (
            "is a URL; policies are read from the config repo's base branch: give a "
            "directory in it, e.g. policy/"
        )
    return relative_path_problem(value)


def _namespace(value: str) -> str | None:
    if _REGO_PACKAGE.match(value):
        return None
    return "is not a Rego package name; write e.g. main or kubernetes.admission"


class PolicyDirs(Items):
    """The top-level ``policies:``: a list of directories, or a mapping of options."""

    def __call__(self, _where: str, key: str, value: Any) -> list[str]:
        if isinstance(value, list | Mapping):
            return []
        return [
            f"{key} must be a list of directories or a mapping: {POLICIES_EXAMPLE}; not "
            f"{type_name(value)}"
        ]


def _policy_timeout(where: str, key: str, value: Any) -> list[str]:
    found = _duration(where, key, value)
    if found:
        return found
    seconds = parse_duration(value).total_seconds()
    if not 1 <= seconds <= MAX_POLICY_TIMEOUT_S:
        return [f"{where}: {key} must be between 1s and 10m, not {quote(value)}"]
    return []


@dataclass(frozen=True)
class Field:
    """One key of a mapping: how a bad value is explained; what a schema cannot check."""

    explain: Explain
    semantic: Explain | None = None  # run on values the schema accepted


def _checked(check: Callable[[str, str, str], list[str]]) -> Field:
    """A text field whose check is also semantic (the schema is looser, or cannot say it)."""
    return Field(_then(check), _then(check))


TEXT: Final = Field(_text, _text)  # blank text is refused where the schema lets it through
NAME: Final = Field(_then(_env_name))
PATH: Final = _checked(_path)
ITEMS: Final = Field(Items())
# live: blocks are explained by gitops_promote.config.liverules (the schema leaves them be)
LIVE: Final = Field(lambda _where, _key, _value: [])

# The fields of each level; a level's allowed keys are its schema's properties.
FIELDS: Final[dict[str, dict[str, Field]]] = {
    "settings": {
        "base-branch": _checked(_base_branch),
        "commit-message": Field(_template(COMMIT_PLACEHOLDERS), _template(COMMIT_PLACEHOLDERS)),
        "pr-title": Field(_template(TITLE_PLACEHOLDERS), _template(TITLE_PLACEHOLDERS)),
        "branch": Field(
            _template(BRANCH_PLACEHOLDERS, branch=True), _template(BRANCH_PLACEHOLDERS, branch=True)
        ),
        "freeze-exception-label": Field(_label, _label),
        "state-file": _checked(_state_file),
        "timezone": _checked(_timezone),
    },
    "author": {"name": TEXT, "email": _checked(_email)},
    "environment": {
        "name": NAME,
        "path": PATH,
        "mode": Field(_choice("push", "pull-request")),
        "from": TEXT,
        "soak": Field(_duration),
        "auto": Field(_flag),
        "require-digest": Field(_flag),
        "allow-rollback": Field(_flag),
        "require-limits": Field(_flag),
        "owners": Field(Items(_owner)),
        "track": TEXT,
        "external": ITEMS,
        "render": Field(_choice("warn", "fail")),
        "soak-from": Field(_choice("merge", "sync")),
        "live": LIVE,
        "policies": Field(Items(policy_dir_problem)),
    },
    "freeze": {
        "name": TEXT,
        "reason": TEXT,
        "timezone": _checked(_timezone),
        "schedule": _checked(_cron),
        "duration": Field(_duration),
        "start": Field(_bound, _bound),
        "end": Field(_bound, _bound),
    },
    "pull-request": {
        "labels": Field(Items(_label_length)),
        "reviewers": Field(Items(_login)),
        "team-reviewers": Field(Items(_team)),
        "draft": Field(_flag),
        "auto-merge": Field(_choice("merge", "squash", "rebase", off=True)),
        "title": Field(_template(TITLE_PLACEHOLDERS), _template(TITLE_PLACEHOLDERS)),
        "branch": Field(
            _template(BRANCH_PLACEHOLDERS, branch=True), _template(BRANCH_PLACEHOLDERS, branch=True)
        ),
    },
    "drift": {"severity": Field(_choice("warn", "fail")), "ignore": ITEMS},
    "app": {
        "image": Field(_then(_image)),
        "depends-on": ITEMS,
        "environments": ITEMS,
        "editor": Field(_choice("auto", "kustomize", "helm", "setter")),
        "key": Field(_then(_key_path)),
        "path": PATH,
        "match": _checked(_no_spaces),
        "setter": _checked(_no_spaces),
        "track": TEXT,
        "live": LIVE,
        "policies": Field(Items(policy_dir_problem)),
    },
    "top": {"policies": Field(PolicyDirs(policy_dir_problem))},
    "policies": {
        "dirs": Field(Items(policy_dir_problem)),
        "namespaces": Field(Items(_namespace)),
        "all-namespaces": Field(_flag),
        "combine": Field(_flag),
        "timeout": Field(_policy_timeout, _policy_timeout),
    },
}

# Keys that belong one level elsewhere: a hint better than "did you mean".
_KEYS: Final = {level: tuple(fields) for level, fields in FIELDS.items()}
_ENV_KEYS: Final = (*_KEYS["environment"], "freeze", "pull-request", "drift")
MISPLACED: Final[dict[str, dict[str, str]]] = {
    "app": {k: "an environment" for k in _ENV_KEYS if k not in _KEYS["app"] and k != "name"},
    "environment": {
        **{k: "an app (under apps:)" for k in _KEYS["app"] if k not in _ENV_KEYS},
        **{k: "pull-request:" for k in _KEYS["pull-request"] if k not in _ENV_KEYS},
        **{k: "a freeze window (under freeze:)" for k in _KEYS["freeze"] if k not in _ENV_KEYS},
    },
    "top": {
        **dict.fromkeys((*_KEYS["settings"], "author"), "settings:"),
        "version": "the top level",
    },
}
