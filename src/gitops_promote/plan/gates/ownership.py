"""Ownership: CODEOWNERS enforces each env's ``owners:`` of promotion.yaml.

``gitops-promote codeowners`` writes one marked block into CODEOWNERS (GitHub reads
``.github/CODEOWNERS``, then ``CODEOWNERS``, then ``docs/CODEOWNERS``), one rule per
overlay path pattern of every env that has owners::

    # BEGIN gitops-promote (generated from promotion.yaml by `gitops-promote codeowners`)
    /apps/*/overlays/production/ @myorg/oncall-approvers
    /promotion.yaml @myorg/oncall-approvers
    /.github/CODEOWNERS @myorg/oncall-approvers
    /CODEOWNERS @myorg/oncall-approvers
    /docs/CODEOWNERS @myorg/oncall-approvers
    # END gitops-promote

The block also covers the control files, the ones that decide what the gates do:
promotion.yaml, CODEOWNERS itself (all three places GitHub looks) and the state file when
one is configured, owned by the owners of the most protected environment (the last gated
one in the pipeline with owners).

Lines outside the block are the repository's own. CODEOWNERS is evaluated as GitHub does
(:func:`parse`, :func:`owner_rule`): gitignore-style patterns matched by ``pathspec``, the
last matching rule wins, a rule without owners removes ownership, and GitHub's documented
exceptions (``!`` negation, ``[ ]`` ranges and ``\\#`` escapes do not work: such a line is
skipped; ``docs/*`` matches the files directly in ``docs/`` only). The check fails when the
block is missing, differs from what promotion.yaml says, or a later rule gives one of the
files the block covers (every file of the tree that it matches, the overlays of every app,
the control files) to anyone else, or to no one. All pure: text in, text or a GateResult out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import pathspec

from gitops_promote.config.model import Config, Environment
from gitops_promote.errors import quote
from gitops_promote.facts.changes import CODEOWNERS_PATHS
from gitops_promote.plan.gates import GateResult

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
_SPLIT: Final = re.compile(r"(?<!\\)\s+")


class BlockError(ValueError):
    """The marked block is broken (a BEGIN without END, two blocks...): one line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Rule:
    """One rule of the generated block: ``env``'s owners for ``pattern`` (``control``: a
    control file, owned by the most protected environment ``env``)."""

    pattern: str
    owners: tuple[str, ...]
    env: str
    control: bool = False

    def text(self) -> str:
        return f"{self.pattern} {' '.join(self.owners)}"


@dataclass(frozen=True)
class OwnerRule:
    """One rule line of a CODEOWNERS text as GitHub reads it (``line``: 1-based;
    ``valid`` False: a line GitHub skips, so it owns nothing)."""

    line: int
    pattern: str
    owners: tuple[str, ...]
    valid: bool = True


def parse(text: str | None) -> list[OwnerRule]:
    """The rule lines of a CODEOWNERS text, in order: a pattern, then owners up to an
    inline ``#`` comment. Lines using what GitHub documents as unsupported (``!``
    negation, ``[ ]`` ranges, a ``\\#`` escape) are kept as not ``valid``."""
    out: list[OwnerRule] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, *rest = _SPLIT.split(line)
        owners: list[str] = []
        for word in rest:
            if word.startswith("#"):
                break
            owners.append(word)
        valid = not (pattern.startswith(("!", "\\#")) or "[" in pattern or "]" in pattern)
        out.append(OwnerRule(number, pattern, tuple(owners), valid and _compiles(pattern)))
    return out


def _compiles(pattern: str) -> bool:
    """Whether ``pattern`` is a gitignore pattern at all (a lone trailing ``\\`` is not):
    GitHub skips a line it cannot read."""
    try:
        _spec(pattern)
    except pathspec.patterns.gitignore.GitIgnorePatternError:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _spec(pattern: str) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines([pattern])


def _ancestors(path: str) -> Iterable[str]:
    parts = path.split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])


def matches(pattern: str, path: str) -> bool:
    """Whether a CODEOWNERS ``pattern`` matches the repo file ``path`` (no leading
    ``/``): gitignore rules (pathspec), except that a pattern ending in ``/*`` matches
    only the files directly in its directory, as GitHub documents for ``docs/*``."""
    spec = _spec(pattern)
    if not spec.match_file(path):
        return False
    if pattern.endswith("/*") and not pattern.endswith("**/*"):
        return not any(spec.match_file(parent) for parent in _ancestors(path))
    return True


def owner_rule(rules: Sequence[OwnerRule], path: str) -> OwnerRule | None:
    """The rule that decides ``path``'s owners: the last valid one that matches (None:
    no rule matches, the file has no code owners)."""
    for rule in reversed(rules):
        if rule.valid and matches(rule.pattern, path):
            return rule
    return None


def same_owners(a: Iterable[str], b: Iterable[str]) -> bool:
    """Owner lists name the same people (GitHub handles and emails ignore case)."""
    return {o.casefold() for o in a} == {o.casefold() for o in b}


def most_protected(config: Config) -> Environment | None:
    """The environment whose owners own the control files: the last gated one with
    owners in pipeline order (else the last with owners; None: no env has owners)."""
    with_owners = [e for e in config.environments if e.owners]
    gated = [e for e in with_owners if e.gated]
    found = gated or with_owners
    return found[-1] if found else None


def control_files(config: Config) -> list[str]:
    """The files that decide what the gates do: promotion.yaml, the CODEOWNERS files
    GitHub reads, and the state file when one is configured."""
    out = [config.file.strip("/"), *CODEOWNERS_PATHS]
    if config.settings.state_file:
        out.append(config.settings.state_file.strip("/"))
    return list(dict.fromkeys(out))


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
    top = most_protected(config)
    if top is not None:
        for path in control_files(config):
            pattern = "/" + _escape(path)
            if pattern not in seen:
                seen.add(pattern)
                out.append(Rule(pattern, top.owners, top.name, control=True))
    return out


def probe_paths(config: Config) -> list[str]:
    """Files the block must cover even when the tree has none there yet: each app's
    overlay (its kustomization, or the file itself) in every env with owners, and the
    control files."""
    out: list[str] = []
    for env in config.environments:
        if not env.owners:
            continue
        for app in config.apps:
            if env not in config.envs_of(app):
                continue
            path = config.overlay_path(app, env).strip("/")
            is_file = path.endswith(_FILE_SUFFIXES) or path.rsplit("/", 1)[-1] == "Kustomization"
            out.append(path if is_file else f"{path}/kustomization.yaml")
    if most_protected(config) is not None:
        out += control_files(config)
    return list(dict.fromkeys(out))


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


def _owners_text(owners: Sequence[str]) -> str:
    return " ".join(owners) if owners else "no one (a rule without owners)"


def ownership_gate(
    config: Config,
    text: str | None,
    file: str = DEFAULT_FILE,
    paths: Iterable[str] = (),
) -> GateResult:
    """Pass when ``text`` (CODEOWNERS at ``file``; None: absent) carries exactly the block
    promotion.yaml asks for, and every file the block covers (of ``paths``, the files of
    the tree, and :func:`probe_paths`) keeps the block's owners once the whole file is
    evaluated as GitHub does."""

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
    parsed = parse(text)
    in_block = [r for r in parsed if block.begin < r.line - 1 < block.end]
    later = [r for r in parsed if r.line - 1 > block.end and r.valid]
    by_pattern = {r.pattern: r for r in rules(config)}
    taken: list[tuple[str, OwnerRule, OwnerRule]] = []
    # GitHub reads the first CODEOWNERS of .github/, the root, docs/: the ones after this
    # file are not read, so whoever owns them changes nothing.
    unread = (
        CODEOWNERS_PATHS[CODEOWNERS_PATHS.index(file) + 1 :] if file in CODEOWNERS_PATHS else ()
    )
    for path in dict.fromkeys([*probe_paths(config), *sorted(paths)]):
        if path in unread:
            continue
        mine = owner_rule(in_block, path) if later else None
        if mine is None:
            continue
        theirs = owner_rule(later, path)
        if theirs is not None and not same_owners(theirs.owners, mine.owners):
            taken.append((path, mine, theirs))
    if taken:
        path, mine, theirs = taken[0]
        generated = by_pattern.get(mine.pattern)
        shown = quote(path)  # a file name of the pull request's tree: kept on one line
        what = (
            f"control file {shown}"
            if generated is not None and generated.control
            else f"{shown} ({generated.env if generated else mine.pattern})"
        )
        more = f" (and {len(taken) - 1} more file(s))" if len(taken) > 1 else ""
        return result(
            False,
            f"{file}:{theirs.line} '{theirs.pattern}' comes after the gitops-promote block and "
            f"takes {what} from {' '.join(mine.owners)}, giving it to "
            f"{_owners_text(theirs.owners)}{more} (the last matching rule wins); "
            f"move the block below it, or narrow the rule",
            theirs.line,
        )
    return result(True, f"{file} enforces the owners of {envs}", block.begin + 1)


__all__ = [
    "BEGIN",
    "DEFAULT_FILE",
    "END",
    "GATE",
    "Block",
    "BlockError",
    "OwnerRule",
    "Rule",
    "control_files",
    "find_block",
    "matches",
    "most_protected",
    "owner_rule",
    "ownership_gate",
    "parse",
    "path_pattern",
    "probe_paths",
    "render_block",
    "rules",
    "same_owners",
    "update",
]
