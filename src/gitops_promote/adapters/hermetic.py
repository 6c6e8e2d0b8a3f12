"""What a kustomize overlay would read, checked before kustomize runs: the repository only.

kustomize fetches URLs (``resources: [https://...]``, a generator's ``files:``), clones
git remotes (``github.com/org/repo//dir?ref=v1``), follows ``../`` into any directory
that holds a kustomization, and reads through symlinks; its load restrictor stops only
part of that. :func:`refusal` walks the whole kustomization closure of an overlay in a
tree on disk (every field that names a file or directory: resources, bases, components,
crds, configurations, patches of every kind, replacements, generators' ``files`` /
``envs`` / ``env``, ``openapi``, generator / transformer / validator configs and the
paths inside builtin ones) and returns the first entry that is a URL or git remote, an
absolute path, a path that leaves the repository (as written, or through a symlink), or
that names nothing in it, with its file and line. It refuses, the same way, what would
run code: Helm, plugins, KRM functions.

Keys are matched as kustomize matches them: case-insensitively (Go's ``encoding/json``
takes ``RESOURCES:``, and ``resources`` spelt with a long s, for ``resources:``), in every
document of a file, through merge keys. A kustomization this module cannot read is
refused, not left to kustomize: nothing is rendered that was not checked first.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from gitops_promote.adapters import kustnodes as nodes
from gitops_promote.adapters import yamlsafe
from gitops_promote.adapters.files import KUSTOMIZATION_NAMES
from gitops_promote.errors import OverlayError, quote

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

MAX_DIRECTORIES: Final = 10_000
_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_GIT_QUERY: Final = re.compile(r"\?(?:.*&)?(?:ref|version|submodules|timeout)=")
_FUNCTION_ANNOTATIONS: Final = ("config.kubernetes.io/function", "config.k8s.io/function")

# Kustomization fields, casefolded (kustomize matches them case-insensitively).
_HELM: Final = {
    "helmcharts": "helmCharts",
    "helmchartinflationgenerator": "helmChartInflationGenerator",
    "helmglobals": "helmGlobals",
}
_PLUGINS: Final = {"generators": "generators", "transformers": "transformers"}
_PLUGINS_VALIDATORS: Final = {"validators": "validators"}
_DIRS_OR_FILES: Final = {"resources": "resources", "bases": "bases"}
_DIRS: Final = {"components": "components"}
_FILES: Final = {"crds": "crds", "configurations": "configurations"}
_PATH_ITEMS: Final = {
    "patches": "patches",
    "patchesjson6902": "patchesJson6902",
    "replacements": "replacements",
}
_GENERATORS: Final = {
    "configmapgenerator": "configMapGenerator",
    "secretgenerator": "secretGenerator",
}
# Builtin plugin configs (apiVersion: builtin) that read files, and their path fields.
_BUILTIN_FILES: Final = {
    "configmapgenerator": ("files", "envs", "env"),
    "secretgenerator": ("files", "envs", "env"),
    "patchtransformer": ("path",),
    "patchjson6902transformer": ("path",),
    "patchstrategicmergetransformer": ("paths",),
}


@dataclass(frozen=True)
class Refusal:
    """Why an overlay is not rendered: one line (starting ``file:line:`` when known)."""

    reason: str
    file: str | None = None
    line: int | None = None
    broken: bool = False  # names nothing in the repository: a broken overlay, not a threat


class _RefusedError(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


class _Walk:
    """One overlay's closure in the tree at ``root``; ``links``: repo paths that are symlinks
    not written into the tree, and why (they lead out of the repository)."""

    def __init__(self, root: Path, links: Mapping[str, str]) -> None:
        self.root = root
        self.real_root = Path(os.path.realpath(root))
        self.links = links
        self.seen: set[str] = set()

    def refuse(
        self, file: str | None, line: int | None, message: str, *, broken: bool = False
    ) -> _RefusedError:
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        return _RefusedError(Refusal(where + message, file, line, broken))

    # -- paths ---------------------------------------------------------------------------

    def _inside(self, rel: str) -> bool:
        real = Path(os.path.realpath(self.root / rel)) if rel else self.real_root
        return real == self.real_root or self.real_root in real.parents

    def _link_problem(self, rel: str) -> str | None:
        """Why ``rel`` (or a directory above it) is a symlink that was not followed."""
        parts = rel.split("/")
        for end in range(1, len(parts) + 1):
            link = "/".join(parts[:end])
            why = self.links.get(link)
            if why is not None:
                return why if link == rel else f"{link} {why}"
        return None

    def local(self, base: str, value: str, *, file: str, line: int, field: str, want: str) -> str:
        """``value`` (as written in ``file``, whose directory is ``base``) as a repo path
        that exists in the tree; ``want``: ``file``, ``dir`` or ``any``."""
        shown = f"{field} entry {quote(value)}"
        text = value.strip()
        if not text or "\0" in text:
            raise self.refuse(file, line, f"{shown} is not a path")
        if "://" in text or _SCHEME.match(text) or text.startswith("git@"):
            raise self.refuse(
                file,
                line,
                f"{shown} is a URL or git remote; the check renders only the repository's own "
                "files and never fetches anything: vendor it into the repository",
            )
        if _GIT_QUERY.search(text):
            raise self.refuse(
                file,
                line,
                f"{shown} is a git remote (?ref=); the check renders only the repository's "
                "own files and never fetches anything: vendor it into the repository",
            )
        if text.startswith(("/", "\\", "~")):
            raise self.refuse(
                file,
                line,
                f"{shown} is an absolute path; the check reads only files of the repository: "
                "use a path relative to the kustomization",
            )
        joined = posixpath.normpath(posixpath.join(base, value))
        if joined == ".." or joined.startswith("../"):
            raise self.refuse(
                file,
                line,
                f"{shown} leaves the repository; the check reads only files of the repository",
            )
        rel = "" if joined == "." else joined
        why = self._link_problem(rel)
        if why is not None:
            raise self.refuse(file, line, f"{shown} {why}")
        if not self._inside(rel):
            raise self.refuse(
                file,
                line,
                f"{shown} leads outside the repository through a symlink; symlinks are "
                "followed only while they stay inside it",
            )
        path = self.root / rel
        is_dir, is_file = path.is_dir(), path.is_file()
        if want == "file" and not is_file:
            raise self.refuse(
                file,
                line,
                f"{shown} is not a file of the repository; add it or fix the path",
                broken=True,
            )
        if not (is_dir or is_file):
            raise self.refuse(
                file,
                line,
                f"{shown} is not a file or directory of the repository (kustomize would try "
                "to fetch it from the network); add it to the repository or fix the path",
                broken=True,
            )
        if want == "dir" and not is_dir:
            raise self.refuse(
                file, line, f"{shown} is not a directory of the repository", broken=True
            )
        return rel

    # -- reading -------------------------------------------------------------------------

    def documents(self, rel: str, what: str) -> list[Node]:
        try:
            raw = (self.root / rel).read_bytes()
            return yamlsafe.compose(yamlsafe.decode(raw, rel), rel)
        except OverlayError as err:
            raise self.refuse(
                rel,
                getattr(err, "line", None),
                f"{what} cannot be read safely, so it is not rendered ({err})",
            ) from None
        except OSError as err:
            raise self.refuse(rel, None, f"{what} cannot be read: {err.strerror}") from None

    def kustomization_files(self, directory: str) -> list[str]:
        found: list[str] = []
        for name in KUSTOMIZATION_NAMES:
            rel = f"{directory}/{name}" if directory else name
            why = self._link_problem(rel)
            if why is not None:
                raise self.refuse(rel, None, f"the kustomization file {why}")
            if not os.path.lexists(self.root / rel):
                continue
            if not self._inside(rel):
                raise self.refuse(
                    rel,
                    None,
                    "the kustomization file is a symlink that leads outside the repository; "
                    "symlinks are followed only while they stay inside it",
                )
            if (self.root / rel).is_file():
                found.append(rel)
        return found

    # -- the walk ------------------------------------------------------------------------

    def run(self, overlay: str) -> None:
        start = overlay.strip("/")
        if not self._inside(start):
            raise self.refuse(
                start, None, "the overlay directory leads outside the repository (a symlink)"
            )
        queue = [start]
        while queue:
            directory = queue.pop()
            if directory in self.seen:
                continue
            if len(self.seen) >= MAX_DIRECTORIES:
                raise self.refuse(
                    overlay, None, f"reaches more than {MAX_DIRECTORIES} kustomizations"
                )
            self.seen.add(directory)
            for kfile in self.kustomization_files(directory):
                for doc in self.documents(kfile, "the kustomization"):
                    queue += self.kustomization(directory, kfile, doc)

    def kustomization(self, base: str, kfile: str, doc: Node) -> list[str]:
        """Check one kustomization document; return the directories it builds on."""
        from ruamel.yaml.nodes import MappingNode  # noqa: PLC0415

        if not isinstance(doc, MappingNode):
            return []
        for folded, key, _value in nodes.pairs(doc):
            if folded in _HELM:
                raise self.refuse(
                    kfile,
                    nodes.line(key),
                    f"uses {_HELM[folded]}:, which the check does not render (it never runs "
                    "Helm or other code from a pull request); render it into plain manifests",
                )
        dirs: list[str] = []
        for field, value in nodes.fields(doc, {**_DIRS_OR_FILES, **_DIRS}):
            for item, line in self.strings(value, kfile, field):
                want = "dir" if field in _DIRS.values() else "any"
                rel = self.local(base, item, line=line, field=field, want=want, file=kfile)
                if (self.root / rel).is_dir():
                    dirs.append(rel)
        for field, value in nodes.fields(doc, _FILES):
            for item, line in self.strings(value, kfile, field):
                self.local(base, item, line=line, field=field, want="file", file=kfile)
        for field, value in nodes.fields(doc, {"patchesstrategicmerge": "patchesStrategicMerge"}):
            for item, line in self.strings(value, kfile, field):
                if "\n" in item or item.lstrip().startswith("{"):
                    continue  # an inline patch
                self.local(base, item, line=line, field=field, want="file", file=kfile)
        for field, value in nodes.fields(doc, _PATH_ITEMS):
            for entry in nodes.items(value):
                for sub, path in nodes.fields(entry, {"path": "path"}):
                    for text, line in self.strings(path, kfile, f"{field} {sub}"):
                        self.local(
                            base, text, line=line, field=f"{field} path", want="file", file=kfile
                        )
        for field, value in nodes.fields(doc, _GENERATORS):
            for entry in nodes.items(value):
                self.generator_inputs(base, kfile, field, entry)
        for _field, value in nodes.fields(doc, {"openapi": "openapi"}):
            for _sub, path in nodes.fields(value, {"path": "path"}):
                for text, line in self.strings(path, kfile, "openapi path"):
                    self.local(base, text, line=line, field="openapi path", want="file", file=kfile)
        for field, value in nodes.fields(doc, {**_PLUGINS, **_PLUGINS_VALIDATORS}):
            for item, line in self.strings(value, kfile, field):
                self.plugin_config(base, kfile, field, item, line)
        return dirs

    def strings(self, node: Node, file: str, field: str) -> Iterator[tuple[str, int]]:
        """The plain strings of a list field, with their lines; a value kustomize would
        read differently (a tag such as ``!!binary``, a number) is refused."""
        from ruamel.yaml.nodes import ScalarNode  # noqa: PLC0415

        for item in nodes.items(node):
            if not isinstance(item, ScalarNode):
                continue  # kustomize refuses a mapping where a path belongs
            tag = nodes.tag(item)
            if tag == nodes.NULL:
                continue
            if tag != nodes.STR:
                raise self.refuse(
                    file,
                    nodes.line(item),
                    f"{field} entry {quote(item.value)} is not a plain string ({tag}); write the "
                    "path as a plain or quoted string",
                )
            yield str(item.value), nodes.line(item)

    def generator_inputs(self, base: str, kfile: str, field: str, item: Node) -> None:
        for sub, value in nodes.fields(item, {"files": "files", "envs": "envs", "env": "env"}):
            for text, line in self.strings(value, kfile, f"{field} {sub}"):
                path = text.split("=", 1)[1] if sub == "files" and "=" in text else text
                self.local(base, path, file=kfile, line=line, field=f"{field} {sub}", want="file")

    def plugin_config(self, base: str, kfile: str, field: str, item: str, line: int) -> None:
        """A generator / transformer / validator config (a file, or inline YAML): refused
        when it is a plugin or KRM function; a builtin one's file paths are checked."""
        from ruamel.yaml.nodes import MappingNode  # noqa: PLC0415

        if "\n" in item:
            where = "inline"
            try:
                docs = yamlsafe.compose(item, f"{kfile} {field}")
            except OverlayError as err:
                raise self.refuse(
                    kfile, line, f"the inline {field} config cannot be read safely ({err})"
                ) from None
        else:
            rel = self.local(base, item, file=kfile, line=line, field=field, want="any")
            if (self.root / rel).is_dir():
                raise self.refuse(
                    kfile,
                    line,
                    f"{field} entry {quote(item)} is a directory; the check renders generator and "
                    "transformer configs given as files or inline only",
                )
            where = rel
            docs = self.documents(rel, f"the {field} config")
        for doc in docs:
            if not isinstance(doc, MappingNode):
                continue
            try:
                data = nodes.construct(doc)
            except Exception as err:  # noqa: BLE001 - any constructor failure is a refusal
                raise self.refuse(
                    kfile, line, f"the {field} config in {where} cannot be read safely ({err})"
                ) from None
            if not isinstance(data, Mapping):
                continue
            api = str(nodes.folded(data, "apiversion") or "")
            kind = str(nodes.folded(data, "kind") or "?")
            metadata = nodes.folded(data, "metadata")
            annotations = (
                nodes.folded(metadata, "annotations") if isinstance(metadata, Mapping) else None
            )
            function = isinstance(annotations, Mapping) and any(
                a in annotations for a in _FUNCTION_ANNOTATIONS
            )
            if function or (api and not api.startswith("builtin")):
                raise self.refuse(
                    kfile,
                    line,
                    f"{field}: {kind} ({api or 'no apiVersion'}, in {where}) is a plugin or KRM "
                    "function; the check renders with plugins and exec disabled and does not "
                    "run code from a pull request",
                )
            if kind.casefold() == "helmchartinflationgenerator":
                raise self.refuse(
                    kfile,
                    line,
                    f"{field}: uses HelmChartInflationGenerator (in {where}), which the check "
                    "does not render (it never runs Helm or other code from a pull request)",
                )
            for key in _BUILTIN_FILES.get(kind.casefold(), ()):
                self.config_paths(
                    base, kfile, line, f"{field} {kind} {key}", doc, key, split=key == "files"
                )
            if kind.casefold() == "replacementtransformer":
                for _f, value in nodes.fields(doc, {"replacements": "replacements"}):
                    for entry in nodes.items(value):
                        self.config_paths(
                            base, kfile, line, f"{field} {kind} replacements path", entry, "path"
                        )

    def config_paths(
        self,
        base: str,
        kfile: str,
        line: int,
        field: str,
        doc: Node,
        key: str,
        *,
        split: bool = False,
    ) -> None:
        for _f, value in nodes.fields(doc, {key: key}):
            for text, _inner in self.strings(value, kfile, field):
                path = text.split("=", 1)[1] if split and "=" in text else text
                self.local(base, path, file=kfile, line=line, field=field, want="file")


def refusal(root: Path, overlay: str, links: Mapping[str, str] | None = None) -> Refusal | None:
    """Why the overlay directory ``overlay`` of the tree at ``root`` must not be rendered:
    the first entry of its kustomization closure that would read outside the repository
    or run code, with its file and line; None when every entry stays inside.

    ``links``: repo paths that are symlinks not written into the tree, and why (a phrase
    such as "is a symlink to '/etc', which ...")."""
    try:
        _Walk(root, links or {}).run(overlay)
    except _RefusedError as refused:
        return refused.refusal
    return None


__all__ = ["MAX_DIRECTORIES", "Refusal", "refusal"]
