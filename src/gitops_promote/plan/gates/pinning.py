"""Pinning: a ``require-digest`` environment runs only immutable references.

A bare reference (no tag, no digest: ``latest`` implied) or a tag alone (``v1.2.3``,
``latest``, ``sha-abc1234``: registries let anyone move them) fails; a digest passes,
with or without a tag beside it (``v1.4.0@sha256:...``: the tag is only a label).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from gitops_promote.config.model import Environment
from gitops_promote.facts.rendered import parse
from gitops_promote.images import ImageRef, describe
from gitops_promote.plan.gates import GateResult

GATE: Final = "pinning"


def pinning_gate(
    app: str,
    env: Environment,
    ref: ImageRef | None,
    *,
    file: str | None = None,
    line: int | None = None,
) -> GateResult:
    """Pass when ``env`` does not require digests, or ``ref`` carries one."""
    if not env.require_digest:
        message = f"{env.name} does not require digests"
        return GateResult(GATE, app, env.name, True, message, file=file, line=line)
    if ref is None:
        return GateResult(
            GATE,
            app,
            env.name,
            False,
            f"{env.name} requires a digest, and {app} has no image pin in {file or 'its overlay'}",
            file=file,
            line=line,
        )
    if ref.digest:
        return GateResult(
            GATE,
            app,
            env.name,
            True,
            f"{app} is pinned by digest in {env.name} ({describe(ref, compact=True)})",
            file=file,
            line=line,
        )
    what = f"the mutable tag {ref.tag!r}" if ref.tag else "no tag or digest (that is 'latest')"
    return GateResult(
        GATE,
        app,
        env.name,
        False,
        f"{env.name} requires a digest, but {app} is pinned by {what}: a tag can be moved "
        f"to another build; pin {ref.name}@sha256:<digest> (gitops-promote promote "
        f"--env {env.name} --app {app} resolves a tag to its digest)",
        file=file,
        line=line,
    )


def rendered_pinning_gate(
    app: str,
    env: Environment,
    images: Sequence[str],
    *,
    origins: Mapping[str, tuple[str, int | None]] | None = None,
    file: str | None = None,
    line: int | None = None,
) -> GateResult:
    """Pass when ``env`` does not require digests, or every image the app's rendered
    workloads run (``images``, as deployed) carries one, whatever ``images:`` says."""
    if not env.require_digest:
        message = f"{env.name} does not require digests"
        return GateResult(GATE, app, env.name, True, message, file=file, line=line)
    loose = [i for i in images if (ref := parse(i)) is None or ref.digest is None]
    if not loose:
        return GateResult(
            GATE,
            app,
            env.name,
            True,
            f"every image {app}'s workloads run in {env.name} is pinned by digest "
            f"({len(images)} rendered)",
            file=file,
            line=line,
        )
    first = loose[0]
    where_file, where_line = (origins or {}).get(first, (file, line))
    more = f" and {len(loose) - 1} more image(s) without a digest" if len(loose) > 1 else ""
    return GateResult(
        GATE,
        app,
        env.name,
        False,
        f"{env.name} requires a digest, but {app} as rendered runs {first!r}{more}: a tag can "
        f"be moved to another build; pin every image by digest (name@sha256:<digest>)",
        file=where_file,
        line=where_line,
    )


__all__ = ["GATE", "pinning_gate", "rendered_pinning_gate"]
