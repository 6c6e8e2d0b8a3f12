"""What is pinned now: the one reader (:func:`current`, over the work tree or a commit's
tree), and an app's overlay read and rewritten in the work tree (:func:`read_state`,
:func:`write`).

The edge between promotion.yaml (which file: :func:`gitops_promote.facts.tree.pin_file`)
and the pure readers and editors of :mod:`gitops_promote.facts.overlay` (which bytes):
reads go through :mod:`files` (safe paths, size limits) and :mod:`yamlsafe` (encodings),
writes are atomic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gitops_promote.adapters import files, yamlsafe
from gitops_promote.adapters.git import Repo, plumbing
from gitops_promote.apply import overlays
from gitops_promote.apply.overlays import quick
from gitops_promote.apply.overlays.model import BadPinError
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.errors import OverlayError, UserError, quote
from gitops_promote.facts import changes, tree
from gitops_promote.facts.events import Key
from gitops_promote.facts.overlay import (
    Current,
    OverlayState,
    edit,
    read_pin_text,
    set_image_arg,
    target,
)
from gitops_promote.images import KEEP, ImageRef


def locate(root: Path, config: Config, app: App, env: Environment) -> tuple[Path, str]:
    """The file that carries ``app``'s pin in ``env`` in the work tree: its absolute path
    and repo-relative POSIX form (:func:`work_file`)."""
    return work_file(
        root, config.overlay_path(app, env), what=f"overlay of {app.name} in {env.name}"
    )


def work_file(root: Path, rel: str, *, what: str) -> tuple[Path, str]:
    """The file an overlay path names in the work tree (:func:`gitops_promote.facts.tree.pin_file`).

    Neither it, nor a directory above it, may be a symbolic link
    (:func:`gitops_promote.adapters.files.refuse_links`), nor leave the repository.
    Returns the absolute path and its repo-relative POSIX form."""
    files.check_relative(rel, what=what)
    try:
        file = tree.pin_file(tree.WorkTree(root), rel, what=what)
    except tree.Blocked as link:
        raise _refused(root, link, rel, what) from None
    return files.resolve_in_repo(root, file, what=what), file


def read_state(root: Path, config: Config, app: App, env: Environment) -> OverlayState:
    """The overlay as the work tree has it, for an editor. A broken pin (an invalid digest,
    tag or name) is not an error here: an edit may repair it; ``broken`` says what is
    wrong, and :meth:`OverlayState.require_pin` refuses it for readers that need the pin."""
    path, rel = locate(root, config, app, env)
    text = yamlsafe.decode(files.read_bytes(path, what=rel), rel)
    try:
        pin = read_pin_text(rel, text, app)
    except BadPinError as err:
        return OverlayState(app, env, path, rel, text, None, err)
    return OverlayState(app, env, path, rel, text, pin)


def write(state: OverlayState, text: str) -> None:
    files.write_atomic(state.path, text.encode("utf-8"))


# -- the one reader of what is pinned now ------------------------------------------------------


def current(
    repo: Repo,
    config: Config,
    targets: Sequence[tuple[App, Environment]],
    *,
    rev: str | None = None,
) -> dict[Key, Current]:
    """What every target pins: read from the work tree (``rev`` None: what the checkout
    holds, uncommitted edits included), or from the tree of ``rev`` (a fresh clone, whose
    work tree is that commit: the same answers and the same errors as the work tree would
    give, without checking out the overlays: one ``ls-tree``, one blob batch). A link on
    an overlay's path in ``rev``'s tree is left to the work tree, which refuses it."""
    if rev is None:
        repo.add_sparse([config.overlay_path(a, e) for a, e in targets])
        return work_tree(repo.root, config, targets)
    out: dict[Key, Current] = {}
    view = tree.GitTree(rev, plumbing.ls_tree(repo.git, rev, trees=True))
    located: dict[Key, tuple[App, str]] = {}  # key -> (app, overlay path)
    oids: set[str] = set()
    checkout: list[tuple[App, Environment]] = []
    for app, env in targets:
        key = (app.name, env.name)
        what = f"overlay of {app.name} in {env.name}"
        rel = config.overlay_path(app, env)
        try:
            files.check_relative(rel, what=what)
            oids.add(view.blob(tree.pin_file(view, rel, what=what)))
        except tree.Blocked:
            checkout.append((app, env))
            continue
        except UserError as err:
            out[key] = Current(None, None, err)
            continue
        located[key] = (app, rel)
    blobs = repo.read_objects(oids)

    def text(file: str) -> str | UserError:
        return blob_text(blobs.get(view.blob(file)), file)

    for key, (app, rel) in located.items():
        what = f"overlay of {app.name} in {key[1]}"
        out[key] = tree.read_pin(view, rel, app, what=what, text=text)
    if checkout:
        repo.add_sparse([config.overlay_path(a, e) for a, e in checkout])
        for app, env in checkout:
            out[(app.name, env.name)] = _from_work_tree(repo.root, config, app, env)
    return {(a.name, e.name): out[(a.name, e.name)] for a, e in targets}


def work_tree(
    root: Path, config: Config, targets: Iterable[tuple[App, Environment]]
) -> dict[Key, Current]:
    """What every target pins in the work tree at ``root`` as it is (a sparse checkout is
    not widened: :func:`current` does that). Each path is looked at once however many
    overlays share it (:class:`WorkTreeOnce`)."""
    view = WorkTreeOnce(tree.WorkTree(root))
    base = root.resolve()
    return {
        (a.name, e.name): _from_work_tree(root, config, a, e, view=view, base=base)
        for a, e in targets
    }


@dataclass
class WorkTreeOnce:
    """:class:`gitops_promote.facts.tree.WorkTree`, each path looked at once (thousands of
    overlays share their parent directories): for one reading of many overlays."""

    work: tree.WorkTree
    seen: dict[str, tree.Kind | None] = field(default_factory=dict)

    def kind(self, path: str) -> tree.Kind | None:
        if path not in self.seen:
            self.seen[path] = self.work.kind(path)
        return self.seen[path]


def refs(now: Mapping[Key, Current]) -> dict[Key, ImageRef | None]:
    """What each target pins, None where nothing is (or the overlay cannot be read)."""
    return {key: c.ref for key, c in now.items()}


def _from_work_tree(
    root: Path,
    config: Config,
    app: App,
    env: Environment,
    *,
    view: tree.TreeView | None = None,
    base: Path | None = None,
) -> Current:
    """:func:`gitops_promote.facts.tree.read_pin` of the work tree: the answers and errors
    :func:`read_state` gives, a broken pin an error. ``view``: the work tree's view to
    share; ``base``: ``root`` resolved, to read the file under: the view found no link on
    its way (a link is :class:`~gitops_promote.facts.tree.Blocked`) and the path has no
    ``..``, so it is the very file :func:`~gitops_promote.adapters.files.resolve_in_repo`
    would give."""
    rel, what = config.overlay_path(app, env), f"overlay of {app.name} in {env.name}"

    def text(file: str) -> str | UserError:
        try:
            if base is not None:
                path = base / files.check_relative(file, what=what)
            else:
                path = files.resolve_in_repo(root, file, what=what)
            return yamlsafe.decode(files.read_bytes(path, what=file), file)
        except UserError as err:
            return err

    try:
        files.check_relative(rel, what=what)
        return tree.read_pin(view or tree.WorkTree(root), rel, app, what=what, text=text)
    except tree.Blocked as link:
        error: UserError
        try:
            error = _refused(root, link, rel, what)
        except UserError as err:
            error = err
        return Current(None, None, error)
    except UserError as err:
        return Current(None, None, err)


def _refused(root: Path, link: tree.Blocked, rel: str, what: str) -> OverlayError:
    """Why the work tree refuses the link on an overlay's path (raised when it is a
    symlink, naming it and where it points)."""
    files.refuse_links(root, link.path, what=what)
    return OverlayError(f"{what} {quote(rel)} is not a regular file")


def blob_text(data: bytes | None, file: str, *, limit: bool = True) -> str | UserError:
    """A blob's text as :func:`read_state` reads the file (same limits and errors;
    ``limit`` False: no size limit, for the versions of history)."""
    if data is None:
        return OverlayError(f"{file} could not be read from git")
    if limit and len(data) > files.MAX_FILE_BYTES:
        most = files.MAX_FILE_BYTES // 1024 // 1024
        return OverlayError(
            f"{file} is {len(data) // 1024 // 1024} MiB, over the {most} MiB limit for YAML files",
            hint="an overlay this large is almost certainly not one",
        )
    try:
        return yamlsafe.decode(data, file)
    except UserError as err:
        return err


def pin_of_blob(
    oid: str,
    file: str,
    data: bytes | None,
    app: App,
    cache: dict[tuple[str, str, overlays.Target], overlays.Pin | UserError | None],
    *,
    limit: bool = True,
) -> overlays.Pin | UserError | None:
    """The pin of ``app`` in blob ``oid`` (the file ``file``), or why it cannot be read
    (:func:`blob_text`, then :func:`read_pin_text`), parsed once per blob, file and target
    in ``cache`` (the caller's: the same bytes recur in history and at HEAD).

    Most versions are ordinary overlays, which the quick reader reads without a YAML tree
    (:mod:`gitops_promote.apply.overlays.quick`); its answer depends on the blob, the
    target and only whether the file is named as a kustomization, so it is parsed once
    for every file that holds the same blob (a digest promoted through the environments
    leaves the same bytes in each). Anything else goes through :func:`read_pin_text`,
    once per file: its errors name the file."""
    wanted = target(app)
    key = (oid, file, wanted)
    if key in cache:
        return cache[key]
    # NUL never occurs in a file name (files.check_relative): a key no real file has
    shared = (oid, f"\0{quick.is_kustomization_name(file)}", wanted)
    if shared in cache:
        cache[key] = cache[shared]
        return cache[key]
    text = blob_text(data, file, limit=limit)
    found: overlays.Pin | UserError | None
    if isinstance(text, UserError):
        found = text
    elif not isinstance(answer := quick.read_pin(file, text, wanted), quick.Unsure):
        found = cache[shared] = answer
    else:
        try:
            found = read_pin_text(file, text, app)
        except UserError as err:
            found = err
    cache[key] = found
    return found


def gated_inputs(
    repo: Repo, config: Config, targets: Iterable[tuple[App, Environment]]
) -> dict[str, tuple[str, str, str]]:
    """Every file of HEAD's tree that the overlays of ``targets`` are built from (their
    own files and whatever their kustomizations reference, recursively, without
    rendering) -> the first (app, env, overlay root) built from it."""
    targets = list(targets)
    if not targets or repo.rev_parse("HEAD") is None:
        return {}
    names = list(plumbing.ls_tree(repo.git, "HEAD"))
    tree = changes.Tree.of("HEAD", names)
    roots = [(a.name, e.name, changes.overlay_root(config, a, e)) for a, e in targets]
    found: dict[tuple[str, str, str], set[str]] = {}
    for _ in range(32):  # each pass reads the kustomizations the last one reached
        found = {key: changes.build_inputs(tree, key[2]) for key in roots}
        wanted = {
            p
            for inputs in found.values()
            for p in inputs
            if changes.is_kustomization(p) and tree.text(p) is None
        }
        if not wanted:
            break
        texts: dict[str, str] = {}
        for (_, path), data in repo.read_blobs([("HEAD", p) for p in sorted(wanted)]).items():
            try:
                texts[path] = yamlsafe.decode(data or b"", path)
            except UserError:
                texts[path] = ""  # unreadable: its readers report it
        tree = tree.with_texts(texts)
    out: dict[str, tuple[str, str, str]] = {}
    for key, inputs in found.items():
        for file in inputs:
            out.setdefault(file, key)
    return out


def owners(
    config: Config, targets: Iterable[tuple[App, Environment]], files: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """Which of ``files`` lie in the overlay of one of ``targets``: file -> (app, env)."""
    roots: dict[str, tuple[str, str]] = {}
    for app, env in targets:
        roots.setdefault(str(PurePosixPath(config.overlay_path(app, env))), (app.name, env.name))
    out: dict[str, tuple[str, str]] = {}
    for name in files:
        for candidate in (name, *(str(p) for p in PurePosixPath(name).parents)):
            if candidate in roots:
                out[name] = roots[candidate]
                break
    return out


def gated_paths(repo: Repo, config: Config, apps: Iterable[App]) -> dict[str, str]:
    """What a push environment's commit must never change -> the gated environment it
    belongs to: every gated overlay path (normalised), and every file the gated overlays
    of ``apps`` are built from (:func:`gated_inputs`, read from HEAD)."""
    out: dict[str, str] = {}
    for app in config.apps:
        for env in config.envs_of(app):
            if env.gated:
                out[str(PurePosixPath(config.overlay_path(app, env)))] = env.name
    targets = [(a, e) for a in apps for e in config.envs_of(a) if e.gated]
    for file, (_, env_name, _) in gated_inputs(repo, config, targets).items():
        out.setdefault(file, env_name)
    return out


__all__ = [
    "KEEP",
    "Current",
    "OverlayState",
    "WorkTreeOnce",
    "blob_text",
    "current",
    "edit",
    "gated_inputs",
    "gated_paths",
    "locate",
    "owners",
    "pin_of_blob",
    "read_pin_text",
    "read_state",
    "refs",
    "set_image_arg",
    "target",
    "work_file",
    "work_tree",
    "write",
]
