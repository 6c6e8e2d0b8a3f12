"""The state file checked: against the overlays and their history (``validate``), and
what a pull request does to it (``check``). Pure."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from gitops_promote.config.model import Config
from gitops_promote.errors import Problem
from gitops_promote.facts.events import Key, Timeline, same_artifact
from gitops_promote.images import ImageRef

if TYPE_CHECKING:
    pass

from gitops_promote.facts.statefile.model import (
    Entry,
    StateFileError,
    parse,
    paths,
    render_json,
    render_markdown,
    stamp,
)


def _read(json_name: str, text: str | None, missing: str, fix: str) -> list[Entry] | Problem:
    """The entries of ``text``, or the one problem that it is missing or unreadable."""
    if text is None:
        return Problem(json_name, None, f"{missing}; {fix}")
    try:
        return parse(text)
    except StateFileError as exc:
        return Problem(json_name, None, f"{exc}; {fix}")


def check(
    config: Config,
    json_text: str | None,
    markdown_text: str | None,
    pins: Mapping[Key, ImageRef | None],
) -> list[Problem]:
    """Problems of the state files against the overlays (``pins``: what they pin now)."""
    where = paths(config)
    if where is None:
        return []
    json_name, md_name = where
    fix = "run gitops-promote validate --write-state and commit both files"
    entries = _read(json_name, json_text, "settings.state-file names it, but it is missing", fix)
    if isinstance(entries, Problem):
        return [entries]
    problems: list[Problem] = []
    recorded = {(e.app, e.env): e for e in entries}
    expected = {key: ref for key, ref in pins.items() if ref is not None}
    for key in sorted(set(recorded) | set(expected)):
        app, env = key
        have = recorded.get(key)
        want = expected.get(key)
        if have is None and want is not None:
            problems.append(
                Problem(json_name, None, f"stale: no entry for {app} in {env} ({want}); {fix}")
            )
        elif want is None and have is not None:
            problems.append(
                Problem(
                    json_name,
                    None,
                    f"stale: records {app} in {env} ({have.ref}) but no overlay pins it; {fix}",
                )
            )
        elif have is not None and want is not None and have.ref != want:
            problems.append(
                Problem(
                    json_name,
                    None,
                    f"stale: records {app} in {env} as {have.ref}, the overlay pins {want}; {fix}",
                )
            )
    canonical = render_json(entries)
    if not problems and json_text != canonical:
        problems.append(
            Problem(json_name, None, f"not in canonical form (keys, indent or newline); {fix}")
        )
    order = [e.name for e in config.environments]
    if markdown_text is None:
        problems.append(Problem(md_name, None, f"missing beside {json_name}; {fix}"))
    elif markdown_text != render_markdown(entries, json_name, order):
        problems.append(Problem(md_name, None, f"does not match {json_name}; {fix}"))
    return problems


def check_since(
    config: Config,
    entries: Iterable[Entry],
    pins: Mapping[Key, ImageRef | None],
    lines: Mapping[Key, Timeline],
) -> list[Problem]:
    """Entries whose since or commit is not what history says (``lines``: the pin
    timelines of HEAD). Only entries that record the overlay's artifact and name a commit
    are looked at: the others are stale (:func:`check`) or pending (the commit that made
    the pin could not name itself), and status, soak and check read history for them."""
    where = paths(config)
    if where is None:
        return []
    problems: list[Problem] = []
    for e in sorted(entries, key=lambda e: (e.app, e.env)):
        key = (e.app, e.env)
        ref = pins.get(key)
        line = lines.get(key)
        if e.commit is None or not same_artifact(e.ref, ref) or line is None:
            continue
        held = line.held_since(ref)
        if held is not None and held.commit == e.commit and held.date == e.since:
            continue
        truth = (
            f"history says since {stamp(held.date)} (commit {held.commit[:12]})"
            if held is not None
            else "history has no commit that pins it"
        )
        problems.append(
            Problem(
                where[0],
                None,
                f"wrong since: records {e.app} in {e.env} since {stamp(e.since)} (commit "
                f"{e.commit[:12]}), {truth}; run gitops-promote validate --write-state and "
                "commit both files",
            )
        )
    return problems


def pull_request_problems(
    config: Config,
    base: Sequence[Entry],
    head_json: str | None,
    head_markdown: str | None,
    repinned: Mapping[Key, ImageRef | None],
    confirmed: Collection[Key],
) -> list[Problem]:
    """How a pull request's state file differs from what gitops-promote writes for it
    (pure; [] when it is exactly that). The state file is a fact the gates read once it is
    merged, so a pull request may change it only as a promotion does:

    - ``base``: the base branch's entries; ``head_json``/``head_markdown``: the pull
      request's files (None: deleted);
    - ``repinned``: the targets whose pin the pull request changes, with the new pin: their
      entry records that pin, pending (``commit: null``), or with the base entry's since
      and commit when the artifact is the same (a tag added);
    - every other entry is the base branch's, unchanged, or one that git confirms
      (``confirmed``: :func:`gitops_promote.facts.statesince.known` at the base), such as a
      pending entry filled in;
    - the file is canonical and VERSIONS.md is rendered from it."""
    where = paths(config)
    if where is None:
        return []
    json_name, md_name = where
    fix = (
        "let gitops-promote write it (promote, or validate --write-state on the base "
        "branch), never by hand"
    )
    head = _read(json_name, head_json, "this pull request deletes the state file", fix)
    if isinstance(head, Problem):
        return [head]
    problems: list[Problem] = []
    if head_json != render_json(head):
        problems.append(Problem(json_name, None, f"not in canonical form; {fix}"))
    order = [e.name for e in config.environments]
    if head_markdown != render_markdown(head, json_name, order):
        problems.append(Problem(md_name, None, f"does not match {json_name}; {fix}"))
    old = {(e.app, e.env): e for e in base}
    new = {(e.app, e.env): e for e in head}
    for key in sorted(set(old) | set(new)):
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        app, env = key
        what = f"the entry for {app} in {env}"
        if key in repinned:
            pin = repinned[key]
            if pin is None:
                if now is not None:
                    why = f"{what} stays, but this pull request unpins it; {fix}"
                    problems.append(Problem(json_name, None, why))
                continue
            if now is None or now.ref != pin:
                shown = now.ref if now is not None else "nothing"
                problems.append(
                    Problem(
                        json_name,
                        None,
                        f"{what} records {shown}, this pull request pins {pin}; {fix}",
                    )
                )
                continue
            kept = was is not None and same_artifact(was.ref, pin)
            if now.commit is None or (
                kept and was is not None and (now.commit, now.since) == (was.commit, was.since)
            ):
                continue
            problems.append(
                Problem(
                    json_name,
                    None,
                    f"{what} says {pin} has run there since {stamp(now.since)} (commit "
                    f"{now.commit[:12]}), but this pull request is what pins it; {fix}",
                )
            )
            continue
        if now is None:
            problems.append(Problem(json_name, None, f"this pull request removes {what}; {fix}"))
        elif key not in confirmed:
            problems.append(
                Problem(
                    json_name,
                    None,
                    f"this pull request changes {what} (since {stamp(now.since)}, commit "
                    f"{(now.commit or 'none')[:12]}) though it does not promote it, and git "
                    f"does not confirm it; {fix}",
                )
            )
    return problems


__all__ = ["check", "check_since", "pull_request_problems"]
