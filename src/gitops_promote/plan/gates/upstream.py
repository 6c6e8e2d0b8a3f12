"""Upstream match: an env with ``from: X`` receives only what X runs.

X's pin counts on the base branch, or as the same pull request sets it (promoting dev ->
staging -> production in one PR is allowed; the soak gate still wants time in staging).
A digest the env ran before but X no longer runs is a rollback: allowed only with
``allow-rollback: true``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Final

from gitops_promote.config.durations import format_utc
from gitops_promote.config.model import Environment
from gitops_promote.facts.events import PinEvent, same_artifact
from gitops_promote.facts.rendered import parse
from gitops_promote.images import ImageRef, abbrev_digest
from gitops_promote.plan.gates import GateResult

GATE: Final = "upstream"


def show(ref: ImageRef | None) -> str:
    """How a reference reads in one line: ``sha256:abcdef012345…`` or ``tag v1.2``."""
    if ref is None:
        return "nothing (no pin)"
    if ref.digest:
        return abbrev_digest(ref.digest)
    return f"the tag {ref.tag!r}" if ref.tag else f"{ref.name} (no tag or digest)"


def ran_before(history: Sequence[PinEvent], ref: ImageRef) -> PinEvent | None:
    """The latest event of ``history`` that pinned ``ref``'s artifact (None: never)."""
    for event in reversed(history):
        if same_artifact(event.new, ref):
            return event
    return None


def is_rollback(
    new: ImageRef | None,
    upstream_base: ImageRef | None,
    upstream_after: ImageRef | None,
    history: Sequence[PinEvent],
) -> bool:
    """``new`` is not what the upstream runs, but the env ran it before."""
    if new is None or same_artifact(new, upstream_base) or same_artifact(new, upstream_after):
        return False
    return ran_before(history, new) is not None


def upstream_gate(
    app: str,
    env: Environment,
    new: ImageRef | None,
    *,
    upstream_base: ImageRef | None,
    upstream_after: ImageRef | None,
    history: Sequence[PinEvent] = (),
    file: str | None = None,
    line: int | None = None,
) -> GateResult:
    """Pass when ``new`` is what ``env``'s upstream runs (base branch or this PR), or an
    allowed rollback.

    ``upstream_base``: the upstream env's pin on the base branch; ``upstream_after``: its
    pin once this pull request is merged; ``history``: ``env``'s own pin events on the
    base branch (for rollbacks).
    """

    def result(passed: bool, message: str) -> GateResult:
        return GateResult(GATE, app, env.name, passed, message, file=file, line=line)

    source = env.upstream
    if source is None:
        return result(True, f"{env.name} has no upstream (from:), so any digest may come in")
    if new is None:
        return result(True, f"{app} is no longer pinned in {env.name}: nothing to match")
    if same_artifact(new, upstream_base):
        return result(True, f"{env.name} would run {show(new)}, which {source} runs")
    if same_artifact(new, upstream_after):
        return result(
            True,
            f"{env.name} would run {show(new)}, which this pull request also pins in {source}",
        )
    before = ran_before(history, new)
    if before is not None:
        ran = f"{env.name} ran it before (commit {before.commit[:7]}, {format_utc(before.date)})"
        if env.allow_rollback:
            return result(
                True,
                f"rollback: {env.name} would run {show(new)}, which {source} no longer runs; "
                f"{ran}, and allow-rollback is set",
            )
        return result(
            False,
            f"{env.name} would run {show(new)}, {source} runs {show(upstream_after)}: a "
            f"rollback ({ran}); rollbacks into {env.name} need allow-rollback: true in "
            f"promotion.yaml, else promote what {source} runs",
        )
    return result(
        False,
        f"{env.name} would run {show(new)}, {source} runs {show(upstream_after)}: promote "
        f"{app} to {source} first, or pin the digest {source} runs",
    )


def _runs(ref: ImageRef, images: Sequence[str] | None) -> bool:
    return any(same_artifact(ref, other) for other in map(parse, images or ()) if other)


def rendered_upstream_gate(
    app: str,
    env: Environment,
    added: Sequence[str],
    *,
    known: Collection[str],
    upstream_base: Sequence[str] | None,
    upstream_after: Sequence[str] | None,
    history: Sequence[PinEvent] = (),
    origins: Mapping[str, tuple[str, int | None]] | None = None,
    file: str | None = None,
    line: int | None = None,
) -> GateResult:
    """Judge the images as deployed: each image ``env``'s rendered workloads run once the
    pull request is merged that they did not run before (``added``) must come from a
    repository promotion.yaml knows (``known``: canonical names) and be what the upstream
    env renders on the base branch (``upstream_base``) or once merged (``upstream_after``:
    the same pull request promotes it there too), or an allowed rollback.

    ``upstream_base``/``upstream_after`` None: the upstream could not be rendered."""

    def fail(image: str, message: str) -> GateResult:
        where_file, where_line = (origins or {}).get(image, (file, line))
        return GateResult(GATE, app, env.name, False, message, file=where_file, line=where_line)

    if not added:
        return GateResult(
            GATE,
            app,
            env.name,
            True,
            f"no new image in what {app} renders in {env.name}",
            file=file,
            line=line,
        )
    source = env.upstream
    for image in added:
        ref = parse(image)
        if ref is None:
            return fail(image, f"{env.name} would run {image!r}, not a valid image reference")
        if ref.canonical_name() not in known:
            return fail(
                image,
                f"{env.name} would run {image}, from {ref.name}, a repository promotion.yaml "
                f"does not know (no app has image: {ref.name}); add the app to promotion.yaml "
                f"and promote it through the pipeline",
            )
        if source is None:
            continue
        if upstream_base is None and upstream_after is None:
            return fail(
                image,
                f"{env.name} would run {image}, and {source} cannot be rendered to show it "
                f"runs it; fix {source}'s overlay",
            )
        if _runs(ref, upstream_base) or _runs(ref, upstream_after):
            continue
        before = ran_before(history, ref)
        if before is not None and env.allow_rollback:
            continue
        runs = ", ".join(upstream_base or ()) or "nothing"
        why = (
            f"{env.name} ran it before (commit {before.commit[:7]}), but rollbacks need "
            "allow-rollback: true"
            if before is not None
            else f"promote it to {source} first"
        )
        return fail(
            image,
            f"{env.name} would run {image} as rendered, which {source} does not render "
            f"(it runs {runs}): {why}",
        )
    what = f"what {source} runs" if source else "from repositories promotion.yaml knows"
    return GateResult(
        GATE,
        app,
        env.name,
        True,
        f"every new image {app} renders in {env.name} ({len(added)}) is {what}",
        file=file,
        line=line,
    )


__all__ = ["GATE", "is_rollback", "ran_before", "rendered_upstream_gate", "show", "upstream_gate"]
