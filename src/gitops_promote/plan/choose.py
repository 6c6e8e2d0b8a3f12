"""Which reference a promotion pins: the pure decisions behind ``--tag``, ``--latest`` and
``--rollback`` (semver order, the env's previous pin). The registry and the work tree
are read by :mod:`gitops_promote.deliver.choice`, which calls these."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from gitops_promote.errors import InputError, UserError
from gitops_promote.facts.events import PinEvent, previous_artifact
from gitops_promote.plan import semver as semverpolicy

if TYPE_CHECKING:
    from gitops_promote.config.model import App, Environment
    from gitops_promote.images import ImageRef


def refuse_downgrade(
    app: App, env: Environment, current: str | None, tag: str, what: str, *, allow: bool
) -> None:
    """Refuse a semver tag lower than the one the env runs now, unless ``allow``
    (--allow-downgrade)."""
    if allow:
        return
    if current and semverpolicy.is_downgrade(current, tag):
        raise UserError(
            f"{app.name} in {env.name} runs {current}; {what} is a downgrade",
            hint="pass --allow-downgrade to pin it anyway, "
            "or --rollback to restore the previous pin",
        )


def track_of(app: App, env: Environment) -> str:
    """The semver range ``--latest`` picks in: the app's ``track``, else the env's
    (checked here, before the registry is asked)."""
    text = app.track or env.track
    if not text:
        raise InputError(
            f"--latest needs a `track` semver range on app {app.name} or env {env.name}",
            hint='add e.g. track: ">=1.0.0 <2.0.0" in promotion.yaml',
        )
    semverpolicy.parse_range(text)
    return text


def latest_tag(
    app: App,
    env: Environment,
    text: str,
    tags: Sequence[str],
    current: Callable[[], str | None],
    *,
    allow_downgrade: bool,
) -> str:
    """The highest of ``tags`` in the range ``text`` (:func:`track_of`); refused when none
    matches, or when it is lower than the tag the env runs (``current()``, read only
    then) unless ``allow_downgrade``."""
    best = semverpolicy.highest(tags, semverpolicy.parse_range(text))
    if best is None:
        raise UserError(
            f"no tag of {app.image} matches {text!r} ({len(tags)} tags)",
            hint="push a matching tag, or widen the range",
        )
    now = current()
    if now and not allow_downgrade and semverpolicy.is_downgrade(now, best):
        raise UserError(
            f"{app.name} in {env.name} runs {now}; the highest tag in {text!r} is "
            f"{best}, a downgrade",
            hint="pass --allow-downgrade to pin it anyway",
        )
    return best


def rollback_target(
    app: App, env: Environment, events: Sequence[PinEvent] | None, current: ImageRef | None
) -> PinEvent:
    """The pin event ``--rollback`` restores: the env's previous artifact."""
    previous = previous_artifact(events, current) if events is not None else None
    if previous is None or previous.new is None:
        raise UserError(
            f"{app.name} has no earlier pin in {env.name} to roll back to",
            hint="pass the digest to restore with --digest",
        )
    return previous
