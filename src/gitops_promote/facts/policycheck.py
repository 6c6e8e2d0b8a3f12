"""The base branch's Rego policies evaluated on the renders ``check`` already made.

For every target the pull request touches that promotion.yaml gives policy directories
(global + environment + app), each document its kustomize overlay renders once merged is
one input (``combine``: the list of them all is one). The policies and their ``data``
are read from the **base branch** tip (:mod:`gitops_promote.facts.policies`, through a
commit view): a pull request cannot loosen the rules it is judged by, and one that
changes a policy file gets a note saying so. The targets that share policy directories
are evaluated together, in one child process of the engine
(:func:`gitops_promote.adapters.rego.evaluate`), with the time limit of promotion.yaml.

Each document is traced back to the file and line of the overlay that declares it
(:func:`gitops_promote.facts.policyfacts.source`), from the texts of the files its
overlay is built from (one more blob batch). Not evaluated, and said so (a warning on
the target): an overlay that did not render, a target that is not a kustomize overlay,
``check --no-render``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from gitops_promote.adapters.git import Repo
from gitops_promote.adapters.rego.model import PolicyError, PolicyOutcome
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.facts import changes
from gitops_promote.facts import rendered as rendered_images
from gitops_promote.facts.changes import ChangeSet, Key, Tree
from gitops_promote.facts.judged import RenderFact
from gitops_promote.facts.merged import ls_tree, with_texts
from gitops_promote.facts.policyfacts import (
    PolicyDocument,
    PolicyFacts,
    PolicyRun,
    label,
    narrow,
    source,
)
from gitops_promote.facts.renders import render_inputs
from gitops_promote.facts.tree import TREE, GitTree, Kind

if TYPE_CHECKING:
    from gitops_promote.facts.policies import PolicyFiles, PolicySet


@dataclass(frozen=True)
class Merged:
    """The merged tree as ``check`` read it: entries, the tree with its texts, the overlay
    directory of each kustomize target and the renders by directory."""

    entries: Mapping[str, tuple[str, str]]
    tree: Tree
    overlays: Mapping[Key, str]
    renders: Mapping[str, RenderFact]


def all_dirs(config: Config) -> tuple[str, ...]:
    """Every policy directory promotion.yaml names (top level, environments, apps)."""
    named = (
        *config.policies.dirs,
        *(d for env in config.environments for d in env.policies),
        *(d for app in config.apps for d in app.policies),
    )
    return tuple(dict.fromkeys(posixpath.normpath(d) for d in named))


def _under(path: str, directory: str) -> bool:
    return directory in (".", path) or path.startswith(directory.rstrip("/") + "/")


def hidden_dirs(config: Config, app: App, env: Environment) -> tuple[str, ...]:
    """The policy directories promotion.yaml names for other environments or apps that
    lie inside one of ``app`` in ``env``'s own: ``policies: [policy/]`` with production's
    ``[policy/production/]`` judges production by both and the other environments by
    ``policy/`` without ``policy/production/``."""
    own = config.policy_dirs(app, env)
    return tuple(
        d for d in all_dirs(config) if d not in own and any(o != d and _under(d, o) for o in own)
    )


@dataclass(frozen=True)
class Without:
    """A policy tree (:class:`gitops_promote.facts.policies.PolicyFiles`) without what
    lies in ``hidden`` directories."""

    view: PolicyFiles
    hidden: tuple[str, ...]

    def kind(self, path: str) -> Kind | None:
        return self.view.kind(path)

    def below(self, path: str) -> list[tuple[str, Kind]]:
        return [
            (entry, kind)
            for entry, kind in self.view.below(path)
            if not any(_under(entry, d) for d in self.hidden)
        ]

    def read(self, paths: Sequence[str]) -> dict[str, bytes]:
        return self.view.read(paths)


def changed_policy_files(config: Config, files: Iterable[str]) -> tuple[str, ...]:
    """The changed ``files`` that lie in a policy directory of promotion.yaml."""
    dirs = all_dirs(config)
    return tuple(f for f in files if any(_under(f, d) for d in dirs))


def notes(config: Config, change_set: ChangeSet, *, rendered: bool) -> tuple[str, ...]:
    """What the report says about the policies as a whole: the pull request changes some
    (judged by the base branch's), or none were evaluated (``--no-render``)."""
    out: list[str] = []
    touched = [k for k in change_set.touched if _has_policies(config, k)]
    if not rendered and touched:
        out.append("the policies were not evaluated: the overlays were not rendered (--no-render)")
    changed = changed_policy_files(config, change_set.files)
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        out.append(
            f"this pull request changes policy files ({shown}); the check used the base "
            "branch's policies (a pull request cannot loosen the rules it is judged by), "
            "the new ones apply once it is merged"
        )
    return tuple(out)


def _has_policies(config: Config, key: Key) -> bool:
    if not (config.has_app(key[0]) and config.has_env(key[1])):
        return False
    app, env = config.app(key[0]), config.env(key[1])
    return env in config.envs_of(app) and bool(config.policy_dirs(app, env))


def _documents(
    key: Key,
    objects: Sequence[Mapping[str, Any]],
    texts: Sequence[tuple[str, str]],
    changed: Mapping[str, Sequence[int]],
) -> tuple[PolicyDocument, ...]:
    out = []
    for doc in objects:
        kind = doc.get("kind")
        meta = doc.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        where = (
            source(kind, name, texts, changed)
            if isinstance(kind, str) and isinstance(name, str)
            else None
        )
        images = rendered_images.image_strings(rendered_images.workload_images(doc))
        file, line = where if where is not None else (None, None)
        out.append(PolicyDocument(key, label(doc), file, line, images))
    return tuple(out)


def _ordered(files: Collection[str], overlay: str, changed: Collection[str]) -> list[str]:
    """The files an overlay is built from, most specific first: those the pull request
    changes, then the overlay's own, then the rest (its bases), each in path order."""
    return sorted(files, key=lambda f: (f not in changed, not _under(f, overlay), f))


def _loaded(
    repo: Repo,
    base: GitTree,
    which: tuple[tuple[str, ...], tuple[str, ...]],
    cache: dict[tuple[tuple[str, ...], tuple[str, ...]], PolicySet],
) -> PolicySet:
    """The policies of ``which`` (directories, and the hidden ones inside them)."""
    from gitops_promote.facts import policies as loader  # noqa: PLC0415 - only with policies

    if which not in cache:
        dirs, hidden = which
        view: PolicyFiles = loader.CommitFiles(base, repo.read_objects)
        cache[which] = loader.load(Without(view, hidden) if hidden else view, dirs)
    return cache[which]


def gather(
    repo: Repo,
    config: Config,
    change_set: ChangeSet,
    keys: Sequence[Key],
    *,
    base: tuple[str, Mapping[str, tuple[str, str]]],
    merged: Merged,
) -> PolicyFacts | None:
    """The policies' verdicts on ``keys`` (the targets judged), read from ``base`` (the
    base branch tip: its commit and tree entries) and evaluated on the ``merged`` renders.
    None when no target has policies."""
    wanted = [k for k in keys if _has_policies(config, k)]
    if not wanted:
        return None
    skipped: dict[Key, str] = {}
    objects: dict[Key, tuple[Mapping[str, Any], ...]] = {}
    for key in wanted:
        app, env = config.app(key[0]), config.env(key[1])
        directory = merged.overlays.get(key)
        fact = merged.renders.get(directory) if directory is not None else None
        if directory is None:
            root = changes.overlay_root(config, app, env)
            if root in merged.tree.files:
                skipped[key] = (
                    f"{root} is not a kustomize overlay; policies judge rendered manifests"
                )
            continue  # no overlay once merged: nothing is deployed, nothing to judge
        if fact is None:
            skipped[key] = f"{directory} was not rendered"
        elif fact.error is not None:
            skipped[key] = f"{directory} did not render, so its manifests cannot be judged"
        else:
            objects[key] = fact.objects
    runs = _evaluate(repo, config, change_set, objects, base=base, merged=merged)
    return PolicyFacts(tuple(runs), skipped)


def _evaluate(
    repo: Repo,
    config: Config,
    change_set: ChangeSet,
    objects: Mapping[Key, tuple[Mapping[str, Any], ...]],
    *,
    base: tuple[str, Mapping[str, tuple[str, str]]],
    merged: Merged,
) -> list[PolicyRun]:
    if not objects:
        return []
    from gitops_promote.adapters import rego  # noqa: PLC0415 - only with policies

    # the texts of the files each overlay is built from, in one batch
    inputs = {
        key: render_inputs(repo, merged.entries, merged.tree, [merged.overlays[key]])
        for key in objects
    }
    unread = {f for files in inputs.values() for f in files if f not in merged.tree.texts}
    (tree,) = with_texts(repo, (merged.tree, merged.entries, unread))
    changed = set(change_set.files)
    lines: dict[str, list[int]] = {}
    for edit in change_set.edits:
        if edit.line is not None:
            lines.setdefault(edit.file, []).append(edit.line)
    for pin in change_set.pins:
        if pin.line is not None:
            lines.setdefault(pin.file, []).append(pin.line)
    documents: dict[Key, tuple[PolicyDocument, ...]] = {}
    for key, docs in objects.items():
        ordered = _ordered(inputs[key], merged.overlays[key], changed)
        texts = [(f, t) for f in ordered if (t := tree.text(f)) is not None]
        documents[key] = _documents(key, docs, texts, lines)

    every = {d for k in objects for d in config.policy_dirs(config.app(k[0]), config.env(k[1]))}
    base_view = GitTree(base[0], with_dirs(base[1], every))
    options = config.policies
    cache: dict[tuple[tuple[str, ...], tuple[str, ...]], PolicySet] = {}
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Key]] = {}
    for key in objects:
        app, env = config.app(key[0]), config.env(key[1])
        groups.setdefault((config.policy_dirs(app, env), hidden_dirs(config, app, env)), []).append(
            key
        )
    runs: list[PolicyRun] = []
    for (dirs, hidden), group in groups.items():
        policy_set = _loaded(repo, base_view, (dirs, hidden), cache)
        problems = tuple(
            PolicyError("compile", f"{problem} (in the base branch)")
            for problem in policy_set.problems
        )
        rego_texts = {m.path: m.text for m in policy_set.modules}
        batches = [[k] for k in group] if options.combine else [group]
        for batch in batches:
            given = tuple(d for k in batch for d in documents[k])
            outcome = rego.evaluate(
                policy_set.modules,
                policy_set.data,
                [o for k in batch for o in objects[k]],
                namespaces=options.namespaces,
                all_namespaces=options.all_namespaces,
                combine=options.combine,
                timeout=options.timeout.total_seconds(),
            )
            runs.append(
                PolicyRun(
                    dirs,
                    tuple(batch),
                    given,
                    PolicyOutcome(
                        tuple(
                            replace(f, files=narrow(f.files, f.message, rego_texts))
                            for f in outcome.findings
                        ),
                        problems + outcome.errors,
                    ),
                    combine=options.combine,
                )
            )
    return runs


def base_entries(
    repo: Repo, base: str, before: str, before_entries: Mapping[str, tuple[str, str]]
) -> Mapping[str, tuple[str, str]]:
    """The base branch tip's tree entries (``before`` is the tip unless the pull request
    conflicts: then it is the merge base, and the tip is listed)."""
    return before_entries if before == base else ls_tree(repo, base)


def with_dirs(
    entries: Mapping[str, tuple[str, str]], dirs: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """``entries`` (files only, as ``ls-tree -r`` lists them) with the directories above
    the files under ``dirs``, as ``ls-tree -r -t`` would list them (the loader asks what
    a policy path is)."""
    out = dict(entries)
    prefixes = tuple("" if d == "." else d.rstrip("/") + "/" for d in dirs)
    for path in entries:
        if not path.startswith(prefixes):
            continue
        parent = posixpath.dirname(path)
        while parent and parent not in out:
            out[parent] = (TREE, "")
            parent = posixpath.dirname(parent)
    return out


__all__ = [
    "Merged",
    "Without",
    "all_dirs",
    "base_entries",
    "changed_policy_files",
    "gather",
    "hidden_dirs",
    "notes",
    "with_dirs",
]
