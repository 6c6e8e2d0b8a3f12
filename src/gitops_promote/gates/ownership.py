"""Ownership: CODEOWNERS enforces each env's ``owners:`` of promotion.yaml.

``gitops-promote codeowners`` writes one marked block into CODEOWNERS (GitHub reads
``.github/CODEOWNERS``, then ``CODEOWNERS``, then ``docs/CODEOWNERS``), one rule per
overlay path pattern of every env that has owners::

    # BEGIN gitops-promote (generated from promotion.yaml by `gitops-promote codeowners`)
    /apps/*/overlays/production/ @myorg/oncall-approvers
    # END gitops-promote

Lines outside the block are the repository's own. The check fails when the block is
missing, differs from what promotion.yaml says, or a later rule (CODEOWNERS: the last
matching rule wins) takes the env's paths back, such as a catch-all ``*`` after it.
All pure: text in, text or a GateResult out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from gitops_promote.config import Config
from gitops_promote.gates import GateResult

GATE: Final = "ownership"
DEFAULT_FILE: Final = ".github/CODEOWNERS"
BEGIN: Final = (
    "# BEGIN gitops-promote (generated from promotion.yaml by `gitops-promote codeowners`; "
    "edit owners: there, not here)"
)
END: Final = "# END gitops-promote"
_BEGIN_RE: Final = re.compile(r"^#\s*BEGIN gitops-promote\b")
_END_RE: Final = re.compile(r"^#\s*END gitops-promote\b")
_FILE_SUFFIXES: Final = (".yaml", ".yml", ".json")
_CATCH_ALL: Final = frozenset({"*", "**", "/*", "/**", "/"})


class BlockError(ValueError):
    """The marked block is broken (a BEGIN without END, two blocks...): one line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]
    env: str

    def text(self) -> str:
        return f"{self.pattern} {' '.join(self.owners)}"


@dataclass(frozen=True)
class Block:
    """Where the block is in a CODEOWNERS text: 0-based line indexes of BEGIN and END."""

    begin: int
    end: int
    lines: tuple[str, ...]  # the rule lines between the markers


def _escape(path: str) -> str:
    return path.replace("\\", "\\\\").replace(" ", "\\ ").replace("#", "\\#")


def path_pattern(path: str) -> str:
    """A CODEOWNERS pattern for an overlay path: anchored at the root; a directory ends in
    ``/`` (everything under it); ``{app}`` matches any app (``*``)."""
    clean = path.strip("/").replace("{app}", "*")
    pattern = "/" + _escape(clean)
    is_file = clean.endswith(_FILE_SUFFIXES) or clean.rsplit("/", 1)[-1] in {"Kustomization"}
    return pattern if is_file else pattern + "/"


def rules(config: Config) -> list[Rule]:
    """One rule per overlay path pattern of each env with owners, in pipeline order."""
    out: list[Rule] = []
    seen: set[str] = set()
    for env in config.environments:
        if not env.owners:
            continue
        paths = [env.path.replace("{env}", env.name)]
        for app in config.apps:
            if app.path and env in config.envs_of(app):
                paths.append(app.path.replace("{app}", app.name).replace("{env}", env.name))
        for path in paths:
            pattern = path_pattern(path)
            if pattern in seen:
                continue
            seen.add(pattern)
            out.append(Rule(pattern, env.owners, env.name))
    return out


def render_block(config: Config) -> list[str]:
    """The block's lines, markers included (empty when no env has owners)."""
    found = rules(config)
    if not found:
        return []
    return [BEGIN, *(r.text() for r in found), END]


def find_block(text: str) -> Block | None:
    """The marked block of a CODEOWNERS text (None: there is none); BlockError when the
    markers are broken."""
    lines = text.splitlines()
    begin: int | None = None
    found: Block | None = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _BEGIN_RE.match(stripped):
            if begin is not None or found is not None:
                raise BlockError("has a second '# BEGIN gitops-promote' marker", index + 1)
            begin = index
        elif _END_RE.match(stripped):
            if begin is None:
                raise BlockError("has '# END gitops-promote' without a BEGIN above it", index + 1)
            found = Block(begin, index, tuple(lines[begin + 1 : index]))
            begin = None
    if begin is not None:
        raise BlockError("has '# BEGIN gitops-promote' without an END below it", begin + 1)
    return found


def update(text: str | None, config: Config) -> str:
    """CODEOWNERS text with the block written or replaced (removed when no env has
    owners); everything else unchanged. A new block goes at the end, so that it wins."""
    wanted = render_block(config)
    original = text or ""
    newline = "\r\n" if "\r\n" in original else "\n"
    lines = original.splitlines()
    block = find_block(original) if original else None
    if block is not None:
        lines[block.begin : block.end + 1] = wanted
        separated = block.begin > 0 and not lines[block.begin - 1].strip()
        last = block.begin >= len(lines) or not lines[block.begin].strip()
        if not wanted and separated and last:
            del lines[block.begin - 1]  # the blank line that separated the block
    elif wanted:
        if lines and lines[-1].strip():
            lines.append("")
        lines += wanted
    return newline.join(lines) + newline if lines else ""


def _later_override(pattern: str, ours: list[Rule]) -> Rule | None:
    """The rule of ours that a later CODEOWNERS ``pattern`` would take over, if any."""
    if pattern in _CATCH_ALL:
        return ours[0] if ours else None
    anchored = pattern if pattern.startswith("/") else None
    for rule in ours:
        if anchored and anchored.endswith("/") and rule.pattern.startswith(anchored):
            return rule
        if pattern == rule.pattern:
            return rule
    return None


def ownership_gate(config: Config, text: str | None, file: str = DEFAULT_FILE) -> GateResult:
    """Pass when ``text`` (CODEOWNERS at ``file``; None: absent) carries exactly the block
    promotion.yaml asks for, and no later rule overrides it."""

    def result(passed: bool, message: str, line: int | None = None) -> GateResult:
        return GateResult(GATE, None, None, passed, message, file=file, line=line)

    fix = f"run 'gitops-promote codeowners' and commit {file}"
    wanted = render_block(config)
    ours = rules(config)
    try:
        block = find_block(text) if text else None
    except BlockError as err:
        return result(False, f"{file} {err}; fix the markers, then {fix}", err.line)
    if not wanted:
        if block is None:
            return result(True, "no environment has owners: in promotion.yaml")
        return result(
            False,
            f"{file} has a gitops-promote block but no environment has owners: any more; {fix}",
            block.begin + 1,
        )
    envs = ", ".join(dict.fromkeys(f"{r.env} ({' '.join(r.owners)})" for r in ours))
    if block is None:
        where = f"{file} has no gitops-promote block" if text else f"{file} does not exist"
        return result(False, f"{where}, so the owners of {envs} are not enforced; {fix}")
    expected = wanted[1:-1]
    got = [line.strip() for line in block.lines]
    if got != expected:
        index = next(
            (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
            min(len(got), len(expected)),
        )
        want = expected[index] if index < len(expected) else "(nothing: the block ends here)"
        return result(
            False,
            f"the gitops-promote block of {file} is out of date with promotion.yaml: line "
            f"{block.begin + index + 2} should read '{want}'; {fix}",
            block.begin + index + 2,
        )
    lines = (text or "").splitlines()
    for offset, raw in enumerate(lines[block.end + 1 :], start=block.end + 2):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern = line.split()[0]
        taken = _later_override(pattern, ours)
        if taken is not None:
            return result(
                False,
                f"{file}:{offset} '{pattern}' comes after the gitops-promote block and takes "
                f"{taken.pattern} from {' '.join(taken.owners)} (the last matching rule wins); "
                f"move the block below it",
                offset,
            )
    return result(True, f"{file} enforces the owners of {envs}", block.begin + 1)


__all__ = [
    "BEGIN",
    "DEFAULT_FILE",
    "END",
    "GATE",
    "Block",
    "BlockError",
    "Rule",
    "find_block",
    "ownership_gate",
    "path_pattern",
    "render_block",
    "rules",
    "update",
]
