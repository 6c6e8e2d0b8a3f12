"""Read the live state of (app, env) pairs: ask each controller, then judge against git.

For every pair with a ``live:`` block (:meth:`gitops_promote.config.model.Config.live_of`)
this builds one client per endpoint (Argo CD: the server and its token, read from the
named environment variable and registered as a secret; Flux: the Kubernetes API through a
kubeconfig file, a kubeconfig held by a variable, or the in-cluster service account), asks
the controllers concurrently (a small thread pool), turns each answer into a
:class:`~.model.LiveReading` (or a :class:`~.model.LiveFailure` on
:class:`~gitops_promote.errors.LiveError`), reads what the overlay pins at the synced
revision from git (fetching that commit when the clone lacks it) and gives the verdict
(:func:`.verdict.judge`).

Nothing from the Argo CD or Kubernetes adapters (nor ``requests``/``lightkube``) is
imported unless some pair has a ``live:`` block.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from gitops_promote.adapters import secrets
from gitops_promote.adapters.git import Repo
from gitops_promote.config.live import ArgoCDLive, FluxLive, LiveConfig
from gitops_promote.config.model import App, Config, Environment
from gitops_promote.errors import LiveError, PromoteError
from gitops_promote.facts import pins
from gitops_promote.facts.live.model import FailureKind, LiveFailure, LiveReading, LiveState
from gitops_promote.facts.live.verdict import RevisionPin, judge, one_line, short

Key = tuple[str, str]  # (app, env)
WORKERS: Final = 4
KINDS: Final[tuple[FailureKind, ...]] = ("unreachable", "unauthorized", "forbidden", "invalid")
_SHA_RE: Final = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
# credentials a kubeconfig may hold inline (users[].user.*): masked like every token
_KUBE_SECRET_RE: Final = re.compile(
    r"^\s*(?:token|client-key-data|client-certificate-data|password|id-token|refresh-token)"
    r"\s*:\s*[\"']?([^\s\"']+)",
    re.MULTILINE,
)

Ask = Callable[[App, Environment], LiveReading | LiveFailure]


@dataclass(frozen=True)
class _Pair:
    app: App
    env: Environment
    block: LiveConfig

    @property
    def key(self) -> Key:
        return (self.app.name, self.env.name)

    @property
    def subject(self) -> str:
        name = self.block.object_name(self.app.name, self.env.name)
        if self.block.argocd is not None:
            namespace = self.block.argocd.namespace
            return f"Application {namespace}/{name}" if namespace else f"Application {name}"
        flux = self.block.flux or FluxLive()
        return f"{flux.kind} {flux.namespace}/{name}"


def pairs_of(
    config: Config, targets: Iterable[tuple[App, Environment]]
) -> list[tuple[App, Environment, LiveConfig]]:
    """The targets that have a live block, with it."""
    out: list[tuple[App, Environment, LiveConfig]] = []
    for app, env in targets:
        block = config.live_of(app, env)
        if block is not None:
            out.append((app, env, block))
    return out


def gate_sources(
    config: Config, targets: Iterable[tuple[App, Environment]]
) -> list[tuple[App, Environment]]:
    """The upstream (app, env) pairs whose live state judges a promotion of ``targets``:
    those whose live block gates (``gate: true``), or that the target's soak counts from
    (``soak-from: sync``)."""
    out: dict[Key, tuple[App, Environment]] = {}
    for app, env in targets:
        upstream = config.upstream_of(env)
        if upstream is None or upstream not in config.envs_of(app):
            continue
        block = config.live_of(app, upstream)
        if block is None:
            continue
        if block.gate or (env.soak and env.soak_from == "sync"):
            out.setdefault((app.name, upstream.name), (app, upstream))
    return list(out.values())


def read(
    repo: Repo | None,
    config: Config,
    targets: Iterable[tuple[App, Environment]],
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[Key, LiveState]:
    """The live state of every target that has a live block (the others are absent)."""
    wanted = [_Pair(a, e, b) for a, e, b in pairs_of(config, targets)]
    if not wanted:
        return {}
    env_vars = os.environ if environ is None else environ
    askers: dict[tuple[object, ...], Ask | LiveFailure] = {}
    for pair in wanted:
        endpoint = pair.block.endpoint()
        if endpoint not in askers:
            askers[endpoint] = _asker(pair.block, env_vars)

    def ask(pair: _Pair) -> LiveReading | LiveFailure:
        asker = askers[pair.block.endpoint()]
        if isinstance(asker, LiveFailure):
            return LiveFailure(asker.controller, pair.subject, asker.kind, asker.message)
        return asker(pair.app, pair.env)

    with ThreadPoolExecutor(max_workers=min(WORKERS, len(wanted))) as pool:
        results = list(pool.map(ask, wanted))
    pinned = _pins_at(repo, config, wanted, results)
    return {
        pair.key: judge(result, pinned.get(pair.key))
        for pair, result in zip(wanted, results, strict=True)
    }


def require(
    config: Config, states: Mapping[Key, LiveState], keys: Iterable[tuple[App, Environment]]
) -> None:
    """Raise :class:`LiveError` (exit 3) for the first of ``keys`` whose controller could
    not be asked while its live block says ``on-error: fail``."""
    for app, env in keys:
        state = states.get((app.name, env.name))
        block = config.live_of(app, env)
        if state is None or state.failure is None or block is None:
            continue
        if block.on_error == "fail":
            raise LiveError(
                f"live state of {app.name} in {env.name} unknown: {state.reason}",
                kind=state.failure.kind,
                hint=f"fix the access, or set on-error: warn in {env.name}'s live: block",
            )


def gate_states(
    repo: Repo | None,
    config: Config,
    targets: Iterable[tuple[App, Environment]],
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[Key, LiveState] | None:
    """The live state the gates need to judge promotions of ``targets`` (their upstreams'
    with a live block: :func:`gate_sources`), after :func:`require` (exit 3 for a
    controller that cannot be asked under ``on-error: fail``); None when no upstream has a
    live block (nothing is asked, nothing imported)."""
    sources = gate_sources(config, targets)
    if not sources:
        return None
    states = read(repo, config, sources, environ=environ)
    require(config, states, sources)
    return states


# -- asking the controllers ---------------------------------------------------------------


def _failure(block: LiveConfig, subject: str, err: PromoteError) -> LiveFailure:
    said = getattr(err, "kind", "invalid")
    kind: FailureKind = "invalid"
    for known in KINDS:
        if said == known:
            kind = known
    return LiveFailure(block.controller, subject, kind, one_line(secrets.redact(str(err)), 300))


def _asker(block: LiveConfig, environ: Mapping[str, str]) -> Ask | LiveFailure:
    """One client for ``block``'s endpoint, as a function of (app, env); or why not."""
    if block.argocd is not None:
        return _argocd(block, block.argocd, environ)
    return _flux(block, block.flux or FluxLive(), environ)


def _argocd(block: LiveConfig, cfg: ArgoCDLive, environ: Mapping[str, str]) -> Ask | LiveFailure:
    token = environ.get(cfg.token_env, "").strip()
    if not token:
        return LiveFailure(
            "argocd",
            f"Argo CD {cfg.server}",
            "unauthorized",
            f"{cfg.token_env} is not set: set it to an Argo CD API token (a CI secret) for "
            f"{cfg.server}",
        )
    secrets.register(token)
    from gitops_promote.adapters import argocd as api  # noqa: PLC0415 - only with live: argocd
    from gitops_promote.facts.live import argocd as readings  # noqa: PLC0415

    try:
        endpoint = api.ArgoCDEndpoint(
            cfg.server,
            token,
            ca_file=cfg.ca_file,
            insecure=cfg.insecure,
            timeout=cfg.timeout.total_seconds(),
        )
    except PromoteError as err:
        return _failure(block, f"Argo CD {cfg.server}", err)

    def ask(app: App, env: Environment) -> LiveReading | LiveFailure:
        pair = _Pair(app, env, block)
        try:
            obj = api.get_application(
                endpoint, block.object_name(app.name, env.name), cfg.namespace, project=cfg.project
            )
        except PromoteError as err:
            return _failure(block, pair.subject, err)
        if obj is None:
            return readings.missing(pair.subject)
        found: LiveReading = readings.reading(obj, subject=pair.subject)
        return found

    return ask


def _flux(block: LiveConfig, cfg: FluxLive, environ: Mapping[str, str]) -> Ask | LiveFailure:
    text: str | None = None
    if cfg.kubeconfig_env is not None:
        text = environ.get(cfg.kubeconfig_env, "")
        if not text.strip():
            return LiveFailure(
                "flux",
                "the Kubernetes API",
                "unauthorized",
                f"{cfg.kubeconfig_env} is not set: set it to a kubeconfig (a CI secret)",
            )
        secrets.register(text)
        for found in _KUBE_SECRET_RE.finditer(text):
            secrets.register(found.group(1))
    from gitops_promote.adapters import kube  # noqa: PLC0415 - only with live: flux
    from gitops_promote.facts.live import flux as readings  # noqa: PLC0415

    try:
        access = kube.KubeAccess(
            kubeconfig=cfg.kubeconfig,
            kubeconfig_text=text,
            context=cfg.context,
            timeout=cfg.timeout.total_seconds(),
            origin=f"environment variable {cfg.kubeconfig_env}" if cfg.kubeconfig_env else "",
        )
    except PromoteError as err:
        return _failure(block, "the Kubernetes API", err)

    def ask(app: App, env: Environment) -> LiveReading | LiveFailure:
        pair = _Pair(app, env, block)
        name = block.object_name(app.name, env.name)
        try:
            obj = kube.get_flux_object(access, cfg.kind, name, cfg.namespace)
        except PromoteError as err:
            return _failure(block, pair.subject, err)
        found: LiveReading = readings.reading(obj, kind=cfg.kind, subject=pair.subject)
        return found

    return ask


# -- what git pins at the synced revision -------------------------------------------------


def _pins_at(
    repo: Repo | None,
    config: Config,
    wanted: Sequence[_Pair],
    results: Sequence[LiveReading | LiveFailure],
) -> dict[Key, RevisionPin]:
    """What each reading's overlay pins at its synced revision (the first of a multi-source
    app's revisions that is a commit of the config repo)."""
    out: dict[Key, RevisionPin] = {}
    found: dict[str, bool] = {}
    by_rev: dict[str, list[_Pair]] = {}
    for pair, result in zip(wanted, results, strict=True):
        if not isinstance(result, LiveReading) or not (result.revision or result.revisions):
            continue
        if result.health != "Healthy" or result.sync != "Synced" or result.stale:
            continue  # no verdict needs the pin
        candidates = [r for r in (result.revisions or (result.revision,)) if r]
        chosen = next((r for r in candidates if _have(repo, r, found)), None)
        if chosen is None:
            shown = ", ".join(short(r) for r in candidates) or "?"
            out[pair.key] = RevisionPin(
                result.revision or candidates[0],
                problem=f"revision {shown} is not a commit of the config repo (fetch failed or "
                f"the app syncs another repository); the pin it runs is unknown",
            )
            continue
        by_rev.setdefault(chosen, []).append(pair)
    for rev, group in by_rev.items():
        assert repo is not None  # noqa: S101 - _have found the commit in it
        try:
            current = pins.current(repo, config, [(p.app, p.env) for p in group], rev=rev)
        except PromoteError as err:
            for pair in group:
                out[pair.key] = RevisionPin(rev, problem=f"at {short(rev)}: {one_line(str(err))}")
            continue
        for pair in group:
            now = current[pair.key]
            if now.error is not None:
                problem = f"at {short(rev)}: {one_line(now.error.message)}"
                out[pair.key] = RevisionPin(rev, problem=problem)
            else:
                out[pair.key] = RevisionPin(rev, now.ref)
    return out


def _have(repo: Repo | None, rev: str, found: dict[str, bool]) -> bool:
    """Whether ``rev`` is a commit of the config repo, fetched when the clone lacks it."""
    if repo is None or not _SHA_RE.match(rev):
        return False
    if rev not in found:
        ok = repo.rev_parse(rev) is not None
        if not ok:
            try:
                repo.fetch([rev])
                ok = repo.rev_parse(rev) is not None
            except PromoteError:
                ok = False
        found[rev] = ok
    return found[rev]


__all__ = ["gate_sources", "gate_states", "pairs_of", "read", "require"]
