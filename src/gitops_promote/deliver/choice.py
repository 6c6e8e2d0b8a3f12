"""What each app should pin: the reference given (digest, image, tag), the registry's
latest in the ``track`` range, the env's previous pin, or what the upstream env runs.
The decisions are :mod:`gitops_promote.plan.choose`'s; this module reads the registry
and the work tree for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitops_promote.adapters.registry import ImageNotFoundError, RegistryClient
from gitops_promote.adapters.workspace import Workspace
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.deliver.requests import Delivery, PromoteRequest
from gitops_promote.errors import InputError, UserError, quote
from gitops_promote.facts import pins
from gitops_promote.facts import timelines as facts
from gitops_promote.images import ImageRef, parse_digest
from gitops_promote.plan import choose as plan
from gitops_promote.report.records import Source, Upstream


@dataclass(frozen=True)
class Choice:
    """What one app should pin, and where that came from."""

    app: App
    ref: ImageRef
    source: Source
    upstream: Upstream | None = None


@dataclass(frozen=True)
class Job:
    """One environment's delivery: the request, where, under which config, and what each
    app should pin."""

    req: Delivery
    ws: Workspace
    config: Config
    env: Environment
    choices: Sequence[Choice]


def choose(
    req: PromoteRequest,
    config: Config,
    ws: Workspace,
    app: App,
    env: Environment,
    lines: dict[facts.Key, facts.Timeline],
) -> Choice:
    """The reference ``app`` should pin in ``env``: given, upstream's, latest, or previous."""
    if req.digest:
        ref = ImageRef(app.image, None, parse_digest(req.digest, what="--digest"))
        verify(req, ref)
        return Choice(app, ref, "digest")
    if req.image:
        ref = ImageRef.parse(req.image, what="--image")
        if not ref.same_repository(ImageRef(app.image)):
            raise InputError(
                f"--image {quote(req.image)} is not app {app.name}'s image {app.image}",
                hint="pass a reference of the app's own repository, or fix apps.image",
            )
        if ref.tag and not ref.digest:
            ref = resolve_tag(req, env, ref)
        elif ref.digest:
            verify(req, ref)
        return Choice(app, ref, "image")
    if req.tag:
        if not req.allow_downgrade:
            current = pinned_tag(ws, config, app, env)
            plan.refuse_downgrade(app, env, current, req.tag, f"--tag {req.tag}", allow=False)
        ref = resolve_tag(req, env, ImageRef(app.image, req.tag))
        return Choice(app, ref, "tag")
    if req.latest:
        return Choice(app, latest(req, config, ws, app, env), "latest")
    if req.rollback:
        line = lines.get((app.name, env.name))
        previous = plan.rollback_target(
            app, env, line.events if line else None, line.current if line else None
        )
        assert previous.new is not None  # noqa: S101 - rollback_target returns a pin
        return Choice(
            app, previous.new, "rollback", Upstream(env.name, previous.commit, previous.date)
        )
    upstream = config.upstream_of(env)
    if upstream is None:
        raise InputError(
            f"{env.name} has no upstream (from:) to promote from",
            hint="pass --digest, --tag or --image",
        )
    state = pins.read_state(ws.root, config, app, upstream)
    pin = state.require_pin()
    if pin is None:
        raise UserError(
            f"{app.name} is not pinned in {upstream.name} ({state.file})",
            hint=f"promote it into {upstream.name} first",
        )
    line = lines.get((app.name, upstream.name))
    since = line.held_since(pin.ref) if line else None
    return Choice(
        app,
        pin.ref,
        "upstream",
        Upstream(upstream.name, since.commit if since else None, since.date if since else None),
    )


def pinned_tag(ws: Workspace, config: Config, app: App, env: Environment) -> str | None:
    """The tag ``app`` runs in ``env`` now, from the work tree (None: none, or no tag)."""
    state = pins.read_state(ws.root, config, app, env)
    return state.pin.ref.tag if state.pin else None


def verify(req: PromoteRequest, ref: ImageRef) -> None:
    """Refuse a digest the registry does not have, before anything is written."""
    if not req.registry_check:
        return
    client = RegistryClient()
    try:
        if not client.exists(ref):
            raise ImageNotFoundError(
                f"{ref} does not exist in the registry",
                hint="check the digest (docker buildx imagetools inspect), or pass "
                "--skip-registry-check when the registry cannot be reached from here",
            )
    finally:
        client.close()


def resolve_tag(req: PromoteRequest, env: Environment, ref: ImageRef) -> ImageRef:
    """A tag pinned together with the digest it has now (``name:tag@digest``)."""
    if not req.registry_check:
        if env.require_digest:
            raise InputError(
                f"{env.name} requires a digest, and --skip-registry-check leaves the tag "
                f"{ref.tag!r} unresolved",
                hint="pass --digest (or --image name:tag@digest), or let the registry be asked",
            )
        return ref
    client = RegistryClient()
    try:
        return ref.with_digest(client.resolve(ref))
    finally:
        client.close()


def latest(
    req: PromoteRequest, config: Config, ws: Workspace, app: App, env: Environment
) -> ImageRef:
    """The highest registry tag in the ``track`` range, with its digest."""
    text = plan.track_of(app, env)
    client = RegistryClient()
    try:
        tags = client.list_tags(app.image)
        best = plan.latest_tag(
            app,
            env,
            text,
            tags,
            lambda: pinned_tag(ws, config, app, env),
            allow_downgrade=req.allow_downgrade,
        )
        ref = ImageRef(app.image, best)
        return ref.with_digest(client.resolve(ref))
    finally:
        client.close()
