"""Facts from git: what each (app, env) pins at a ref, and every pin change before it.

One ``git log`` over every overlay file, then one batch read of the blob versions: the
cost does not grow with one process per app and env.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gitops_promote import history, pins, yamlsafe
from gitops_promote.config import App, Config, Environment
from gitops_promote.errors import UserError
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
