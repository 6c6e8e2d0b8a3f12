"""Since when, from the state file: one blob read instead of the history.

With ``settings.state-file`` on, ``versions.json`` at a commit records, for every (app,
env), the pin and the first-parent commit since which the env has run its artifact. An
entry is used for a target only when it records the same artifact as the overlay pins now
(the overlays stay the truth: :func:`gitops_promote.facts.events.same_artifact`) and names
a commit (``null``: the pin is not on the branch yet). Git then confirms it at one of two
levels:

- **on the chain** (:func:`chained`, what ``status`` shows and every decision starts
  from): the commit is on the first-parent history being read and ``since`` is its clamped
  committer time (never earlier than its parent's:
  :func:`gitops_promote.adapters.git.log.clamp_times`). One ``git log`` of commit ids,
  parents and dates (:func:`chain_times`), no tree: a forged commit id or a ``since`` that
  is not that commit's time is refused here.
- **set the pin** (:func:`prove`, :func:`known`): also, the overlay file pins the artifact
  at that commit and not at its first parent (the trees of just those commits). ``soak``
  proves the entries of the few candidates it would open or update a promotion for;
  ``promote``, ``check`` (the base branch's entries, and every entry a pull request changes
  without promoting it), the state file's rewrite (:func:`from_entries`) and ``validate``
  (against the whole history) prove every entry they use.

What that leaves to a wrong entry: the required ``check`` refuses a pull request that
writes an entry git does not prove, so only a push past it (an admin's direct push) can
land one. An entry on the chain whose commit did not set the pin (it names a later or an
earlier commit of the branch, with that commit's time) is shown by ``status`` as it is
(a wrong "since" on display) and reported by ``validate``; it never makes ``soak`` or
``promote`` act early: before either acts on a soak it says is met, the entry is proven,
and refused (history answers) when it does not hold. Naming a later commit can only make
``soak`` wait longer, by at most that commit's distance from the truth.

A state file is only a cache: an entry that claims the current artifact but that git does
not confirm is refused, history answers for it, and the command says so
(:func:`refused_note`). Every other target (no entry, a disagreeing one, no state file, a
malformed one) is answered from history as before.

Known limit: an artifact that ran before, left, and came back has two commits that set
it; an entry naming the older one is proven (reading every commit since would cost the
history pass the file exists to save).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from gitops_promote.adapters import yamlsafe
from gitops_promote.adapters.git import Repo
from gitops_promote.adapters.git import blobs as gitblobs
from gitops_promote.adapters.git import commits as gitcommits
from gitops_promote.adapters.git import log as gitlog
from gitops_promote.adapters.git.log import Link
from gitops_promote.config.model import Config
from gitops_promote.errors import UserError
from gitops_promote.facts import pins
from gitops_promote.facts import statefile as state
from gitops_promote.facts.events import PinEvent, same_artifact
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


def chain_times(repo: Repo, rev: str) -> dict[str, Link]:
    """Every commit on ``rev``'s first-parent history with its parents and clamped time
    (:func:`gitops_promote.adapters.git.log.clamp_times`), ``tree`` left empty: one ``git
    log`` of commit ids and dates (:func:`~gitops_promote.adapters.git.log.first_parent_chain`
    with ``trees=False``; a commits-only clone has them all, and nothing is fetched)."""
    repo.ensure_history()
    return {link.commit: link for link in gitlog.first_parent_chain(repo.git, rev, trees=False)}


def _agrees(entry: state.Entry, current: Mapping[Key, ImageRef | None]) -> bool:
    ref = current.get((entry.app, entry.env))
    return (
        ref is not None
        and entry.commit is not None
        and entry.since is not None
        and same_artifact(entry.ref, ref)
    )


@dataclass(frozen=True)
class Verified:
    """The entries git confirms (``events``: the pin event since which each target has run
    its current artifact) and those that claim the current artifact but that git does not
    confirm (``refused``: history answers for them, and the commands say so).

    ``unproven``: the events confirmed on the chain only (:func:`chained`), not yet shown to
    be the commit that set the pin; ``claims``: their commit's and its first parent's link
    on the chain (None: a root commit), for :func:`prove`."""

    events: Mapping[Key, PinEvent] = field(default_factory=dict)
    refused: tuple[Key, ...] = ()
    unproven: frozenset[Key] = frozenset()
    claims: Mapping[Key, tuple[Link, Link | None]] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        return [refused_note(key) for key in self.refused]


def refused_note(key: Key) -> str:
    """The one line a command prints for an entry git does not confirm."""
    return f"state file entry for {key[0]} in {key[1]} does not match git: history used"


def _claims(entry: state.Entry, chain: Mapping[str, Link]) -> tuple[Link, str | None] | None:
    """The entry's commit and its first parent, when the commit is on the chain and the
    entry's since is its clamped time (None: the entry is not what git says)."""
    link = chain.get(entry.commit or "")
    if link is None or link.time is None or entry.since != link.time:
        return None
    return link, link.parent


def _sets_pin(
    claim: tuple[Link, str | None],
    file: str,
    ref: ImageRef,
    pins_at: Mapping[tuple[str, str], ImageRef | None],
) -> bool:
    """The claimed commit's ``file`` pins ``ref``'s artifact and its first parent's does
    not (both readable; a root commit has no parent: nothing was pinned before it)."""
    link, parent = claim
    here = (link.commit, file)
    if here not in pins_at or not same_artifact(pins_at[here], ref):
        return False
    if parent is None:
        return True
    return (parent, file) in pins_at and not same_artifact(pins_at[(parent, file)], ref)


def known(
    entries: Iterable[state.Entry],
    current: Mapping[Key, ImageRef | None],
    files: Mapping[Key, str],
    chain: Mapping[str, Link],
    pins_at: Mapping[tuple[str, str], ImageRef | None],
) -> Verified:
    """The pin event since which each target has run its current artifact, for the
    targets whose entries git confirms (pure). ``current``: what each overlay pins now;
    ``files``: its pin-carrying file; ``chain``: :func:`chain_times` of the history being
    read; ``pins_at``: what ``file`` pins at ``commit``, by ``(commit, file)``, for each
    claimed commit and its first parent (missing: unreadable).

    An entry that records the current artifact and names a commit is confirmed only when
    that commit is on the first-parent chain, is the commit that set the pin (the file
    pins the artifact there and not at its first parent) and ``since`` is its clamped
    time; otherwise it is ``refused`` and history answers. The event has the commit and
    its time (exactly history's); who made it, its subject, pull request and previous pin
    are not recorded: empty, None."""
    out: dict[Key, PinEvent] = {}
    refused: list[Key] = []
    for entry in entries:
        key = (entry.app, entry.env)
        ref, file = current.get(key), files.get(key)
        if ref is None or file is None or entry.commit is None or not _agrees(entry, current):
            continue
        claim = _claims(entry, chain)
        if claim is None or not _sets_pin(claim, file, ref, pins_at):
            refused.append(key)
            continue
        out[key] = _event(key, file, claim[0], ref)
    return Verified(out, tuple(sorted(refused)))


def _event(key: Key, file: str, link: Link, ref: ImageRef) -> PinEvent:
    assert link.time is not None  # noqa: S101 - _claims checked it
    return PinEvent(key[0], key[1], file, link.commit, link.time, "", "", None, ref, None)


def chained(
    entries: Iterable[state.Entry],
    current: Mapping[Key, ImageRef | None],
    files: Mapping[Key, str],
    chain: Mapping[str, Link],
) -> Verified:
    """The pin event since which each target has run its current artifact, for the
    targets whose entries the commit list confirms (pure; no tree read): the entry records
    the current artifact, its commit is on ``chain`` (:func:`chain_times`) and ``since``
    is that commit's clamped time. Those that claim the current artifact and fail that are
    ``refused``; the others are ``unproven`` until :func:`prove` (see the module's
    docstring for what that trusts)."""
    out: dict[Key, PinEvent] = {}
    claims: dict[Key, tuple[Link, Link | None]] = {}
    refused: list[Key] = []
    for entry in entries:
        key = (entry.app, entry.env)
        ref, file = current.get(key), files.get(key)
        if ref is None or file is None or not _agrees(entry, current):
            continue
        claim = _claims(entry, chain)
        if claim is None:
            refused.append(key)
            continue
        link, parent = claim
        out[key] = _event(key, file, link, ref)
        claims[key] = (link, chain.get(parent) if parent is not None else None)
    return Verified(out, tuple(sorted(refused)), frozenset(out), claims)


def pins_at(
    repo: Repo, config: Config, wanted: Mapping[tuple[str, str], str], chain: Mapping[str, Link]
) -> dict[tuple[str, str], ImageRef | None]:
    """What ``file`` pins at ``commit`` for each ``(commit, file)`` of ``wanted`` (value:
    the app): one ``cat-file --batch`` of ``commit:file`` names in a clone that has every
    object; in a partial clone the trees of just those commits (one request), one
    ``cat-file`` for the directories and the blobs in one more request and one more
    ``cat-file``. Unreadable ones are left out (not confirmed)."""
    if not wanted:
        return {}
    blobs: Mapping[tuple[str, str], bytes | None]
    names = [f"{commit}:{file}" for commit, file in wanted]
    if not repo.partial and not any("\n" in name for name in names):
        found = gitblobs.cat_batch(repo.git, names)
        blobs = {
            key: item[1] if item is not None and item[0] == "blob" else None
            for key, item in zip(wanted, found, strict=True)
        }
    else:
        repo.fetch_trees([chain[c] for c, _ in wanted if c in chain])
        blobs = repo.read_blobs(list(wanted))
    out: dict[tuple[str, str], ImageRef | None] = {}
    for (commit, file), app in wanted.items():
        data = blobs.get((commit, file))
        if data is None:
            out[(commit, file)] = None  # no such file there: it pins nothing
            continue
        try:
            pin = pins.read_pin_text(file, yamlsafe.decode(data, file), config.app(app))
        except UserError:
            continue  # unreadable: not confirmed
        out[(commit, file)] = pin.ref if pin else None
    return out


def from_entries(
    repo: Repo,
    config: Config,
    rev: str,
    entries: Iterable[state.Entry] | None,
    current: Mapping[Key, ImageRef | None],
    files: Mapping[Key, str],
) -> Verified:
    """:func:`known` for entries read at ``rev``: git is read only when some entry agrees
    with its overlay (one ``git log`` of commit ids and dates, :func:`chain_times`; for
    the entries whose commit and time match, the file at each commit and its parent, in
    one batch)."""
    agreeing = [e for e in entries or () if _agrees(e, current) and (e.app, e.env) in files]
    if not agreeing:
        return Verified()
    chain = chain_times(repo, rev)
    wanted: dict[tuple[str, str], str] = {}
    for entry in agreeing:
        claim = _claims(entry, chain)
        if claim is None or not config.has_app(entry.app):
            continue
        file = files[(entry.app, entry.env)]
        for commit in (claim[0].commit, claim[1]):
            if commit is not None:
                wanted[(commit, file)] = entry.app
    read = pins_at(repo, config, wanted, _with_trees(repo, chain, {c for c, _ in wanted}))
    return known(agreeing, current, files, chain, read)


def _with_trees(repo: Repo, chain: Mapping[str, Link], commits: Iterable[str]) -> dict[str, Link]:
    """The links of ``commits`` on ``chain``, with their root trees where :func:`pins_at`
    fetches them (a partial clone: one ``rev-parse``; :func:`chain_times` reads none)."""
    links = {c: chain[c] for c in commits if c in chain}
    if not repo.partial:
        return links
    trees = gitcommits.trees_of(repo.git, sorted(c for c, link in links.items() if not link.tree))
    return {c: replace(link, tree=trees.get(c, link.tree)) for c, link in links.items()}


def read_known(
    repo: Repo,
    config: Config,
    rev: str,
    current: Mapping[Key, ImageRef | None],
    files: Mapping[Key, str],
    *,
    proof: bool = True,
) -> Verified:
    """:func:`known` for the state file at ``rev`` (nothing when there is none to use).
    ``proof=False``: :func:`chained` only (one ``git log`` of commit headers, no tree):
    for display, and for decisions that :func:`prove` what they act on."""
    if state.paths(config) is None:
        return Verified()
    entries = read_entries(repo, config, rev)
    if proof:
        return from_entries(repo, config, rev, entries, current, files)
    agreeing = [e for e in entries or () if _agrees(e, current) and (e.app, e.env) in files]
    if not agreeing:
        return Verified()
    return chained(agreeing, current, files, chain_times(repo, rev))


def prove(repo: Repo, config: Config, verified: Verified, keys: Iterable[Key]) -> Verified:
    """``verified`` with the :func:`chained` events of ``keys`` proven: the overlay file
    pins the artifact at the entry's commit and not at its first parent (the trees of just
    those commits, as :func:`from_entries` reads them). Those that fail are moved to
    ``refused`` (history answers for them); every key asked is no longer ``unproven``."""
    asked = sorted(set(keys) & verified.unproven)
    if not asked:
        return verified
    wanted: dict[tuple[str, str], str] = {}
    chain: dict[str, Link] = {}
    for key in asked:
        event, (link, parent) = verified.events[key], verified.claims[key]
        chain |= {at.commit: at for at in (link, parent) if at is not None}
        for commit in (link.commit, link.parent):
            if commit is not None and config.has_app(key[0]):
                wanted[(commit, event.file)] = key[0]
    found = pins_at(repo, config, wanted, _with_trees(repo, chain, chain))
    failed: set[Key] = set()
    for key in asked:
        event, link = verified.events[key], verified.claims[key][0]
        assert event.new is not None  # noqa: S101 - chained() records the current pin
        claim = (link, link.parent)
        if not config.has_app(key[0]) or not _sets_pin(claim, event.file, event.new, found):
            failed.add(key)
    return Verified(
        {key: e for key, e in verified.events.items() if key not in failed},
        tuple(sorted({*verified.refused, *failed})),
        verified.unproven - set(asked),
        {key: c for key, c in verified.claims.items() if key not in failed},
    )


__all__ = [
    "Verified",
    "chain_times",
    "chained",
    "from_entries",
    "known",
    "parse_entries",
    "pins_at",
    "prove",
    "read_entries",
    "read_known",
    "refused_note",
]
