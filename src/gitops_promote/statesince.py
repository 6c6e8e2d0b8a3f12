"""Since when, from the state file: one blob read instead of the history.

With ``settings.state-file`` on, ``versions.json`` at a commit records, for every (app,
env), the pin and the first-parent commit since which the env has run its artifact.
:func:`known` trusts an entry for a target only when

- it records the same artifact as the overlay pins now (the overlays stay the truth:
  :func:`gitops_promote.history.same_artifact`),
- it names a commit (``null``: the pin is not on the branch yet), and
- that commit is on the first-parent history being read, with ``since`` its committer
  date (one ``git log`` of commit headers: no trees, no diffs).

Every other target (no entry, a disagreeing one, no state file, a malformed one) is
answered from history as before. ``validate`` checks the entries against history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from gitops_promote import facts, state
from gitops_promote.config import App, Config, Environment
from gitops_promote.gitrepo import Repo
from gitops_promote.history import PinEvent, same_artifact
from gitops_promote.images import ImageRef

Key = tuple[str, str]


def parse_entries(text: str | bytes | None) -> list[state.Entry] | None:
    """The entries of a versions.json text (None: absent, not UTF-8, or malformed)."""
    if text is None:
        return None
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
        return state.parse(decoded)
    except (UnicodeDecodeError, state.StateFileError):
        return None


def read_entries(repo: Repo, config: Config, rev: str) -> list[state.Entry] | None:
    """The state file's entries at ``rev`` (None: not configured, absent or malformed)."""
    where = state.paths(config)
    if where is None:
        return None
    return parse_entries(repo.show(rev, where[0]))


def commit_dates(repo: Repo, rev: str) -> dict[str, datetime]:
    """Committer date of every commit on ``rev``'s first-parent history (commits only: a
    commits-only clone has them all, and nothing is fetched)."""
    repo.ensure_history()
    out = repo.git.run("log", "--first-parent", "--no-color", "--format=%H %cI", rev, "--").text
    dates: dict[str, datetime] = {}
    for line in out.splitlines():
        sha, _, when = line.partition(" ")
        dates[sha] = datetime.fromisoformat(when)
    return dates


def _agrees(entry: state.Entry, current: Mapping[Key, ImageRef | None]) -> bool:
    ref = current.get((entry.app, entry.env))
    return (
        ref is not None
        and entry.commit is not None
        and entry.since is not None
        and same_artifact(entry.ref, ref)
    )


def known(
    entries: Iterable[state.Entry],
    current: Mapping[Key, ImageRef | None],
    files: Mapping[Key, str],
    dates: Mapping[str, datetime],
) -> dict[Key, PinEvent]:
    """The pin event since which each target has run its current artifact, for the
    targets the entries answer (pure). ``current``: what each overlay pins now; ``files``:
    its pin-carrying file; ``dates``: :func:`commit_dates` of the history being read.

    The event has the commit and its committer date (exactly history's); who made it,
    its subject, pull request and previous pin are not recorded: empty, None."""
    out: dict[Key, PinEvent] = {}
    for entry in entries:
        key = (entry.app, entry.env)
        ref, file = current.get(key), files.get(key)
        if ref is None or file is None or entry.commit is None or not _agrees(entry, current):
            continue
        date = dates.get(entry.commit)
        if date is None or date != entry.since:
            continue
        out[key] = PinEvent(entry.app, entry.env, file, entry.commit, date, "", "", None, ref, None)
    return out


def from_entries(
    repo: Repo,
    rev: str,
    entries: Iterable[state.Entry] | None,
    current: Mapping[Key, ImageRef | None],
    files: Mapping[Key, str],
) -> dict[Key, PinEvent]:
    """:func:`known` for entries read at ``rev``: the commits' dates are read only when
    some entry agrees with its overlay."""
    agreeing = [e for e in entries or () if _agrees(e, current) and (e.app, e.env) in files]
    if not agreeing:
        return {}
    return known(agreeing, current, files, commit_dates(repo, rev))


def read_known(
    repo: Repo,
    config: Config,
    rev: str,
    current: Mapping[Key, ImageRef | None],
    files: Mapping[Key, str],
) -> dict[Key, PinEvent]:
    """:func:`known` for the state file at ``rev`` ({} when there is none to use)."""
    if state.paths(config) is None:
        return {}
    return from_entries(repo, rev, read_entries(repo, config, rev), current, files)


def timelines(
    repo: Repo,
    config: Config,
    targets: Sequence[tuple[App, Environment]],
    rev: str | None,
    current: Mapping[Key, facts.Current],
) -> dict[Key, facts.Timeline]:
    """Lazy pin timelines of ``targets`` at ``rev`` (None: HEAD, the work tree's pins),
    "since when" answered from the state file where it can be (``current``: what each
    overlay pins now, :func:`gitops_promote.facts.current_pins`). When history must answer
    for many files, the tree download starts now, in the background."""
    located = {key: c.file for key, c in current.items() if c.file is not None}
    refs = {key: c.ref for key, c in current.items() if c.error is None}
    found = read_known(repo, config, rev or "HEAD", refs, located)
    rest = {rel for key, rel in located.items() if key not in found}
    if len(rest) > facts.FEW_FILES:
        repo.start_tree_download()
    return facts.timelines(repo, config, targets, rev, files=located, lazy=True, known=found)


__all__ = [
    "commit_dates",
    "from_entries",
    "known",
    "parse_entries",
    "read_entries",
    "read_known",
    "timelines",
]
