"""A sharded check's verdicts: one shard's JSON (``check --shard K/N --json``) and the fan-in
that merges the N of them (``check --combine``) into the JSON an unsharded check gives.

A shard's JSON is the unsharded ``--json`` document of its part of the pull request plus a
``shard`` object: its index and count, every (app, env) the whole pull request touches in
the order an unsharded check lists them, and how many results each of its targets has (so
the fan-in knows which results are whose). The files come from other jobs' artifacts:
every field is checked before it is used (:func:`parse`), and anything else is refused
with the file named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gitops_promote.errors import InputError, UserError, quote
from gitops_promote.facts.changes import Key
from gitops_promote.facts.check import unchanged_note
from gitops_promote.facts.statesince import refused_note
from gitops_promote.images import ImageRef
from gitops_promote.plan import shard as sharding
from gitops_promote.plan.gates import GateResult
from gitops_promote.plan.gates.evaluate import CheckResult, TargetPlan
from gitops_promote.report.check.markdown import plan_cells
from gitops_promote.report.check.text import text as check_text
from gitops_promote.report.check.text import to_json

MAX_TEXT = 1_000_000  # one string of a verdict (a drift diff is the largest)
MAX_ITEMS = 1_000_000  # one list of a verdict

_TOP = (
    "passed",
    "base",
    "head",
    "base-ref",
    "now",
    "results",
    "targets",
    "unmapped",
    "changed-files",
    "notes",
    "shard",
)
_GATE: dict[str, type | tuple[type, ...]] = {
    "gate": str,
    "app": (str, type(None)),
    "env": (str, type(None)),
    "passed": bool,
    "severity": str,
    "overridden": bool,
    "message": str,
    "file": (str, type(None)),
    "line": (int, type(None)),
}
_TARGET = (
    "app",
    "env",
    "file",
    "line",
    "from",
    "to",
    "pin-changed",
    "passed",
    "edits",
    "soak",
    "frozen-until",
    "next-freeze",
    "ready-at",
    "drift",
)
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_CONFLICT = "the pull request conflicts with "


def shard_json(
    result: CheckResult, shard: sharding.Shard, touched: Sequence[Key]
) -> dict[str, Any]:
    """``check --shard K/N --json``: the shard's verdict and what the fan-in merges by."""
    return {
        **to_json(result),
        "shard": {
            "index": shard.index,
            "count": shard.count,
            "touched": [[app, env] for app, env in touched],
            "target-results": [len(t.results) for t in result.targets],
            "plan": [list(plan_cells(t)) for t in result.targets],
        },
    }


def _bad(name: str, what: str) -> InputError:
    return InputError(
        f"{quote(name)} is not a check shard verdict: {what}",
        hint="pass the files 'gitops-promote check --shard K/N --json' wrote, one per shard",
    )


def _check_json(name: str, value: object, where: str, depth: int = 0) -> None:
    """Plain JSON of bounded size: strings, numbers, booleans, null, lists, objects."""
    if depth > 8:
        raise _bad(name, f"{where} nests too deep")
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise _bad(name, f"{where} is longer than {MAX_TEXT} characters")
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise _bad(name, f"{where} has more than {MAX_ITEMS} items")
        for item in value:
            _check_json(name, item, where, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(name, key, where, depth + 1)
            _check_json(name, item, where, depth + 1)
    elif not (value is None or isinstance(value, (bool, int, float))):
        raise _bad(name, f"{where} holds a {type(value).__name__}")


def _string_list(name: str, value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(name, f"{where} is not a list of strings")
    return value


def _key(name: str, value: object, where: str) -> Key:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, str) and v for v in value)
    ):
        raise _bad(name, f"{where} is not an [app, env] pair")
    return (value[0], value[1])


def _moment(value: object) -> datetime | None:
    """An aware time from its ISO 8601 text (None: not one)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def parse(name: str, doc: object) -> dict[str, Any]:
    """``doc`` (the JSON of file ``name``) checked to be one shard's verdict, else
    :class:`InputError` naming the file and what is wrong."""
    if not isinstance(doc, dict):
        raise _bad(name, "not a JSON object")
    _check_json(name, doc, "the document")
    if tuple(doc) != _TOP:
        if "shard" not in doc:
            raise _bad(name, "no 'shard' field (was it written with --shard K/N?)")
        raise _bad(name, f"its fields are not {', '.join(_TOP)}")
    for field in ("base", "head"):
        if not isinstance(doc[field], str) or _SHA.fullmatch(doc[field]) is None:
            raise _bad(name, f"'{field}' is not a commit id")
    if not isinstance(doc["base-ref"], str) or not isinstance(doc["passed"], bool):
        raise _bad(name, "'base-ref' or 'passed' has the wrong type")
    if _moment(doc["now"]) is None:
        raise _bad(name, "'now' is not an ISO 8601 time with its offset")
    for field in ("unmapped", "changed-files", "notes"):
        _string_list(name, doc[field], f"'{field}'")
    results = doc["results"]
    if not isinstance(results, list):
        raise _bad(name, "'results' is not a list")
    for i, gate in enumerate(results):
        if not isinstance(gate, dict) or tuple(gate) != tuple(_GATE):
            raise _bad(name, f"results[{i}] is not a gate result")
        for field, kind in _GATE.items():
            if not isinstance(gate[field], kind) or (
                field == "line" and isinstance(gate[field], bool)
            ):
                raise _bad(name, f"results[{i}].{field} has the wrong type")
        if gate["severity"] not in ("error", "warning"):
            raise _bad(name, f"results[{i}].severity is not error or warning")
    blocking = any(not g["passed"] and g["severity"] == "error" for g in results)
    if doc["passed"] == blocking:
        raise _bad(name, "'passed' contradicts its results")
    targets = doc["targets"]
    if not isinstance(targets, list):
        raise _bad(name, "'targets' is not a list")
    for i, target in enumerate(targets):
        if not isinstance(target, dict) or tuple(target) != _TARGET:
            raise _bad(name, f"targets[{i}] is not a target")
        _key(name, [target["app"], target["env"]], f"targets[{i}]")
    shard = doc["shard"]
    if not isinstance(shard, dict) or tuple(shard) != (
        "index",
        "count",
        "touched",
        "target-results",
        "plan",
    ):
        raise _bad(name, "'shard' is not index, count, touched, target-results, plan")
    index, count = shard["index"], shard["count"]
    if not (
        type(index) is int
        and type(count) is int
        and 1 <= count <= sharding.MAX_SHARDS
        and 1 <= index <= count
    ):
        raise _bad(name, "'shard' index/count is not K/N")
    if not isinstance(shard["touched"], list):
        raise _bad(name, "'shard.touched' is not a list")
    touched = [_key(name, k, "'shard.touched'") for k in shard["touched"]]
    counts = shard["target-results"]
    if (
        not isinstance(counts, list)
        or len(counts) != len(targets)
        or not all(type(n) is int and n >= 0 for n in counts)
        or sum(counts) > len(results)
    ):
        raise _bad(name, "'shard.target-results' does not match its targets and results")
    plan = shard["plan"]
    if (
        not isinstance(plan, list)
        or len(plan) != len(targets)
        or not all(
            isinstance(row, list) and len(row) == 3 and all(isinstance(c, str) for c in row)
            for row in plan
        )
    ):
        raise _bad(name, "'shard.plan' is not three texts per target")
    keys = [(t["app"], t["env"]) for t in targets]
    if len(set(keys)) != len(keys) or not set(keys) <= set(touched):
        raise _bad(name, "its targets are not among the pull request's")
    if index != 1 and sum(counts) != len(results):
        raise _bad(name, "a shard other than 1 has results of the whole pull request")
    return doc


def combine(
    docs: Mapping[str, dict[str, Any]],
) -> tuple[dict[str, Any], list[int], list[tuple[str, str, str]]]:
    """The N shards' verdicts (file name -> :func:`parse`\\ d document) merged into the JSON
    an unsharded check gives: its targets in the pull request's order, each with its
    results, then shard 1's results of the whole pull request; the notes in the order the
    check writes them. Refuses (:class:`InputError`) a missing or duplicate shard, mixed
    counts and verdicts on different commits or pull requests."""
    if not docs:
        raise InputError("check --combine needs the shards' verdict files")
    by_index: dict[int, tuple[str, dict[str, Any]]] = {}
    first_name, first = next(iter(docs.items()))
    count = first["shard"]["count"]
    for name, doc in docs.items():
        shard = doc["shard"]
        if shard["count"] != count:
            raise InputError(
                f"{quote(name)} is shard {shard['index']}/{shard['count']}, "
                f"{quote(first_name)} one of {count}",
                hint="combine the verdicts of one matrix run: every shard of the same N",
            )
        for field in ("base", "head", "base-ref", "unmapped", "changed-files"):
            if doc[field] != first[field]:
                raise InputError(
                    f"{quote(name)} judged another {field} than {quote(first_name)}",
                    hint="combine the verdicts of one matrix run, on one pull request commit",
                )
        if shard["touched"] != first["shard"]["touched"]:
            raise InputError(
                f"{quote(name)} saw other targets than {quote(first_name)}",
                hint="combine the verdicts of one matrix run, on one pull request commit",
            )
        if shard["index"] in by_index:
            raise InputError(
                f"{quote(name)} is shard {shard['index']}/{count} again "
                f"(also {quote(by_index[shard['index']][0])})",
                hint="pass each shard's verdict once",
            )
        by_index[shard["index"]] = (name, doc)
    missing = [str(i) for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise InputError(
            f"shard(s) {', '.join(missing)} of {count} missing from the verdicts",
            hint="download every matrix job's verdict (a failed job still uploads with "
            "if: always())",
        )
    order = {tuple(k): i for i, k in enumerate(first["shard"]["touched"])}
    judged: list[tuple[int, dict[str, Any], list[Any], tuple[str, str, str]]] = []
    seen: dict[tuple[str, str], str] = {}
    for name, doc in by_index.values():
        at = 0
        shard = doc["shard"]
        for target, n, cells in zip(
            doc["targets"], shard["target-results"], shard["plan"], strict=True
        ):
            key = (target["app"], target["env"])
            if key in seen:
                raise InputError(
                    f"{quote(name)} and {quote(seen[key])} both judged "
                    f"{quote(key[0])} in {quote(key[1])}",
                    hint="combine the verdicts of one matrix run (the same N everywhere)",
                )
            seen[key] = name
            judged.append((order[key], target, doc["results"][at : at + n], tuple(cells)))
            at += n
    judged.sort(key=lambda item: item[0])
    whole = by_index[1][1]
    rest = whole["results"][sum(whole["shard"]["target-results"]) :]
    results = [r for _, _, rs, _ in judged for r in rs] + rest
    merged = {
        "passed": not any(not r["passed"] and r["severity"] == "error" for r in results),
        "base": first["base"],
        "head": first["head"],
        "base-ref": first["base-ref"],
        # each matrix job judges at its own clock: the report says the latest
        "now": max((doc["now"] for doc in docs.values()), key=datetime.fromisoformat),
        "results": results,
        "targets": [t for _, t, _, _ in judged],
        "unmapped": first["unmapped"],
        "changed-files": first["changed-files"],
        "notes": _notes([by_index[i][1]["notes"] for i in sorted(by_index)], list(order)),
    }
    return merged, [len(rs) for _, _, rs, _ in judged], [c for _, _, _, c in judged]


def _ref(value: object) -> ImageRef | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError("a shard verdict's image reference is not a string")
    try:
        return ImageRef.parse(value)
    except UserError as err:
        raise InputError(f"a shard verdict holds a bad image reference: {err}") from None


def _gate(doc: Mapping[str, Any]) -> GateResult:
    return GateResult(
        doc["gate"],
        doc["app"],
        doc["env"],
        doc["passed"],
        doc["message"],
        doc["file"],
        doc["line"],
        severity=doc["severity"],
        overridden=doc["overridden"],
    )


def to_result(merged: Mapping[str, Any], counts: Sequence[int]) -> CheckResult:
    r"""The :func:`combine`\ d verdict as the record the terminal text is made of
    (``counts``: how many results each target has): what a check prints of its targets
    (pins, results, rendered differences), not their soak and freeze details."""
    results = tuple(_gate(r) for r in merged["results"])
    targets: list[TargetPlan] = []
    at = 0
    for target, n in zip(merged["targets"], counts, strict=True):
        drift = target["drift"]
        line = target["line"]
        targets.append(
            TargetPlan(
                app=target["app"],
                env=target["env"],
                file=target["file"] if isinstance(target["file"], str) else None,
                line=line if type(line) is int else None,
                old=_ref(target["from"]),
                new=_ref(target["to"]),
                pin_changed=target["pin-changed"] is True,
                edits=(),
                results=results[at : at + n],
                drift=drift if isinstance(drift, str) else "",
            )
        )
        at += n
    try:
        now = datetime.fromisoformat(merged["now"])
    except (TypeError, ValueError):
        raise InputError("the shards' verdicts hold no time they were judged at") from None
    return CheckResult(
        base=merged["base"],
        head=merged["head"],
        base_ref=merged["base-ref"],
        now=now,
        targets=tuple(targets),
        results=results,
        unmapped=tuple(merged["unmapped"]),
        changed_files=tuple(merged["changed-files"]),
        notes=tuple(merged["notes"]),
    )


def text(merged: Mapping[str, Any], counts: Sequence[int]) -> str:
    r"""The terminal text an unsharded check prints, from the :func:`combine`\ d verdict."""
    return check_text(to_result(merged, counts))


def _notes(per_shard: Sequence[Sequence[str]], touched: Sequence[Key]) -> list[str]:
    """The shards' notes in the check's order: shard 1's on the whole pull request that
    come first (a conflict), every shard's on one target of ``touched`` (renders
    unchanged, then state file entries refused, each sorted by app and env; known by the
    text the facts give them: :func:`~gitops_promote.facts.check.unchanged_note`,
    :func:`~gitops_promote.facts.statesince.refused_note`), shard 1's last ones
    (policies)."""
    unchanged_of = {unchanged_note(key): key for key in touched}
    refused_of = {refused_note(key): key for key in touched}
    head: list[str] = []
    tail: list[str] = []
    unchanged: list[tuple[Key, str]] = []
    refused: list[tuple[Key, str]] = []
    for i, notes in enumerate(per_shard):
        for note in notes:
            if note in unchanged_of:
                unchanged.append((unchanged_of[note], note))
            elif note in refused_of:
                refused.append((refused_of[note], note))
            elif i == 0 and note.startswith(_CONFLICT):
                head.append(note)
            else:
                tail.append(note)
    return [
        *head,
        *(n for _, n in sorted(unchanged)),
        *(n for _, n in sorted(refused)),
        *tail,
    ]


__all__ = ["MAX_ITEMS", "MAX_TEXT", "combine", "parse", "shard_json", "text", "to_result"]
