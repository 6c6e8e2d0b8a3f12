"""Facts from git: what each (app, env) pins at a ref, and every pin change before it.

- :func:`current_pins`: what every target pins now, from the work tree or, in a fresh
  clone, straight from the commit's tree (one ``ls-tree``, one blob batch: no checkout
  of thousands of overlay directories);
- :func:`timelines`: one ``git log`` over every overlay file, then one batch read of the
  blob versions: the cost does not grow with one process per app and env.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from gitops_promote import files as repofiles
from gitops_promote import history, overlays, pins, yamlsafe
from gitops_promote.config import App, Config, Environment
from gitops_promote.errors import OverlayError, UserError
from gitops_promote.gitrepo import Repo
from gitops_promote.images import ImageRef

Key = tuple[str, str]  # (app, env)


@dataclass(frozen=True)
class Timeline:
    app: str
    env: str
    file: str
    events: tuple[history.PinEvent, ...]

    @property
    def current(self) -> ImageRef | None:
        return self.events[-1].new if self.events else None

    def held_since(self, ref: ImageRef | None = None) -> history.PinEvent | None:
        return history.held_since(self.events, self.current if ref is None else ref)


@dataclass(frozen=True)
class Current:
    """What one target's overlay pins now: ``file`` (repo-relative, None when it cannot be
    located), ``pin`` (None: the file does not pin the app), or ``error``: why the overlay
    cannot be read (exactly what :func:`gitops_promote.pins.read_state` raises)."""

    file: str | None
    pin: overlays.Pin | None
    error: UserError | None = None

    @property
    def ref(self) -> ImageRef | None:
        return self.pin.ref if self.pin else None


def current_pins(
    repo: Repo,
    config: Config,
    targets: Sequence[tuple[App, Environment]],
    *,
    rev: str | None = None,
) -> dict[Key, Current]:
    """What every target pins: read from the work tree (``rev`` None: what the checkout
    holds, uncommitted edits included), or from the tree of ``rev`` (a fresh clone, whose
    work tree is that commit: the same answers and the same errors as the work tree would
    give, without checking out the overlays). Symlinks and submodules on an overlay's path
    are followed in the work tree, as :func:`gitops_promote.files.overlay_file` does."""
    out: dict[Key, Current] = {}
    if rev is None:
        repo.add_sparse([config.overlay_path(a, e) for a, e in targets])
        for app, env in targets:
            out[(app.name, env.name)] = _from_work_tree(repo, config, app, env)
        return out
    entries = _tree(repo, rev)
    located: dict[Key, tuple[App, str, str]] = {}  # key -> (app, file, blob)
    checkout: list[tuple[App, Environment]] = []
    for app, env in targets:
        key = (app.name, env.name)
        try:
            found = _locate(entries, config.overlay_path(app, env), app, env)
        except UserError as err:
            out[key] = Current(None, None, err)
            continue
        if found is None:
            checkout.append((app, env))
        else:
            located[key] = (app, *found)
    blobs = repo.read_objects({oid for _, _, oid in located.values()})
    texts: dict[tuple[str, str], str | UserError] = {}  # messages name the file
    for key, (app, file, oid) in located.items():
        text = texts.get((oid, file))
        if text is None:
            text = texts[(oid, file)] = _text(blobs.get(oid), file)
        if isinstance(text, UserError):
            out[key] = Current(file, None, text)
            continue
        try:
            out[key] = Current(file, pins.read_pin_text(file, text, app))
        except UserError as err:
            out[key] = Current(file, None, err)
    if checkout:
        repo.add_sparse([config.overlay_path(a, e) for a, e in checkout])
        for app, env in checkout:
            out[(app.name, env.name)] = _from_work_tree(repo, config, app, env)
    return {(a.name, e.name): out[(a.name, e.name)] for a, e in targets}


def _from_work_tree(repo: Repo, config: Config, app: App, env: Environment) -> Current:
    try:
        state = pins.read_state(repo.root, config, app, env)
    except UserError as err:
        try:
            _, file = pins.locate(repo.root, config, app, env)
        except UserError:
            return Current(None, None, err)
        return Current(file, None, err)
    return Current(state.file, state.pin)


_REGULAR = frozenset({"100644", "100755"})
_LINKS = frozenset({"120000", "160000"})  # symlink, submodule: followed in the work tree


def _tree(repo: Repo, rev: str) -> dict[str, tuple[str, str]]:
    """path -> (mode, object id) of every entry of ``rev``'s tree, directories included."""
    out = repo.git.run("ls-tree", "-r", "-t", "-z", "--full-tree", rev).stdout
    entries: dict[str, tuple[str, str]] = {}
    for record in out.split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            mode, _kind, oid = meta.decode().split(" ")
            entries[path.decode("utf-8", "surrogateescape")] = (mode, oid)
    return entries


def _locate(
    entries: Mapping[str, tuple[str, str]], rel: str, app: App, env: Environment
) -> tuple[str, str] | None:
    """The pin-carrying file of the overlay path ``rel`` and its blob, as
    :func:`gitops_promote.files.overlay_file` finds it in a checkout of this tree (same
    errors); None when a symlink or submodule is in the way (read the work tree)."""
    what = f"overlay of {app.name} in {env.name}"
    repofiles.check_relative(rel, what=what)
    path = str(PurePosixPath(rel))
    if path == ".":
        return None  # the repository root itself: the work tree knows
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        entry = entries.get("/".join(parts[:depth]))
        if entry is not None and entry[0] in _LINKS:
            return None
    entry = entries.get(path)
    if entry is not None and entry[0] == "040000":
        for name in repofiles.KUSTOMIZATION_NAMES:
            found = entries.get(f"{path}/{name}")
            if found is None or found[0] == "040000":
                continue
            if found[0] not in _REGULAR:
                return None
            return f"{rel.rstrip('/')}/{name}", found[1]
        raise OverlayError(
            f"{what} {rel!r} has no kustomization.yaml",
            hint="create it, or point the path at a values file or manifest",
        )
    if entry is None:
        raise OverlayError(
            f"{what} {rel!r} does not exist",
            hint="create the overlay, or fix the path template in promotion.yaml",
        )
    if entry[0] not in _REGULAR:
        return None
    return rel, entry[1]


def _text(data: bytes | None, file: str) -> str | UserError:
    """A blob's text as :func:`gitops_promote.pins.read_state` reads the file (same
    limits and errors)."""
    if data is None:
        return OverlayError(f"{file} could not be read from git")
    if len(data) > repofiles.MAX_FILE_BYTES:
        limit = repofiles.MAX_FILE_BYTES // 1024 // 1024
        return OverlayError(
            f"{file} is {len(data) // 1024 // 1024} MiB, over the {limit} MiB limit for YAML files",
            hint="an overlay this large is almost certainly not one",
        )
    try:
        return yamlsafe.decode(data, file)
    except UserError as err:
        return err


def overlay_files(
    repo: Repo, config: Config, targets: Iterable[tuple[App, Environment]]
) -> dict[Key, str]:
    """Repo-relative file of each target that exists in the working tree."""
    out: dict[Key, str] = {}
    for app, env in targets:
        try:
            _, rel = pins.locate(repo.root, config, app, env)
        except UserError:
            continue
        out[(app.name, env.name)] = rel
    return out


def timelines(
    repo: Repo,
    config: Config,
    targets: Iterable[tuple[App, Environment]],
    ref: str | None = None,
    *,
    files: Mapping[Key, str] | None = None,
) -> dict[Key, Timeline]:
    """Pin timelines of every target on ``ref``'s first-parent history, oldest first.

    ``files``: the pin-carrying file of each target, when the caller knows it from ``ref``'s
    tree (default: located in the working tree)."""
    targets = list(targets)
    if files is None:
        files = overlay_files(repo, config, targets)
    else:
        wanted = {(a.name, e.name) for a, e in targets}
        files = {key: rel for key, rel in files.items() if key in wanted}
    if not files:
        return {}
    by_file: dict[str, list[Key]] = {}
    for key, rel in files.items():
        by_file.setdefault(rel, []).append(key)
    commits = list(reversed(repo.log_paths(sorted(by_file), ref)))  # oldest first
    blobs = {c.new_blob for commit in commits for c in commit.changes if c.new_blob}
    contents = repo.read_objects(blobs)
    apps = {a.name: a for a, _ in targets}
    versions: dict[Key, list[history.Version]] = {key: [] for key in files}
    for commit in commits:
        for change in commit.changes:
            for key in by_file.get(change.path, ()):
                ref_now: ImageRef | None = None
                line: int | None = None
                if change.new_blob is not None:
                    raw = contents.get(change.new_blob)
                    if raw is None:
                        continue
                    try:
                        text = yamlsafe.decode(raw, change.path)
                        pin = pins.read_pin_text(change.path, text, apps[key[0]])
                    except UserError:
                        continue  # a broken historical version: the pin is unknown, not gone
                    if pin is not None:
                        ref_now, line = pin.ref, pin.line
                versions[key].append(
                    history.Version(
                        commit.sha, commit.date, commit.author, commit.subject, ref_now, line
                    )
                )
    return {
        key: Timeline(
            key[0], key[1], files[key], tuple(history.events(key[0], key[1], files[key], v))
        )
        for key, v in versions.items()
    }
