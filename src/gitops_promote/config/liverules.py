"""The ``live:`` blocks of promotion.yaml, and ``soak-from:``: every problem with its line
(the schema describes them; every schema error inside a ``live:`` block is left to this
module, see :func:`gitops_promote.config.shape._skip`), and the model of the blocks that
have none (:func:`build`).

Rules: a block is a mapping with exactly one of ``argocd``/``flux``; a server is an
``https://`` URL (``http://`` and ``insecure: true`` only for a loopback address) with no
credentials in it; a token is never written here, only the *name* of the variable holding
it; names are Kubernetes names (templates with ``{app}`` and ``{env}``); timeouts are
durations up to 5m; ``soak-from: sync`` needs ``soak``, ``from`` and a live block on the
upstream environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from gitops_promote.adapters.net import is_loopback_host
from gitops_promote.config.durations import DurationError, format_duration, parse_duration
from gitops_promote.config.fields import one_of, suggest, type_name, valid_name
from gitops_promote.config.live import (
    DEFAULT_TIMEOUT,
    MAX_TIMEOUT,
    ArgoCDLive,
    FluxLive,
    LiveConfig,
)
from gitops_promote.config.nodes import Path, at, key_line, value_line
from gitops_promote.config.shape import Shape, env_where
from gitops_promote.errors import quote

BLOCK_KEYS: Final = ("argocd", "flux", "on-error", "gate")
ARGOCD_KEYS: Final = (
    "server",
    "application",
    "namespace",
    "project",
    "token-env",
    "ca-file",
    "insecure",
    "timeout",
)
FLUX_KEYS: Final = (
    "kind",
    "name",
    "namespace",
    "kubeconfig",
    "kubeconfig-env",
    "context",
    "timeout",
)
_SECRET_KEYS: Final = frozenset({"token", "password", "auth-token", "bearer", "secret"})
_VAR_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
_LABEL_RE: Final = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\Z")
_TEMPLATE_RE: Final = re.compile(r"^(?:[a-z0-9.-]|\{(?:app|env)\})+\Z")
_EXAMPLE: Final = (
    "e.g. live: {argocd: {server: https://argocd.example.com}} or live: {flux: {kind: "
    "Kustomization}}"
)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address (127.0.0.0/8, ::1)."""
    return is_loopback_host(host)


class _Check:
    """Problems of one block, added to ``shape`` and flagged at ``path``."""

    def __init__(self, shape: Shape, path: Path) -> None:
        self.shape = shape
        self.path = path
        self.found = False

    def add(self, line: int | None, message: str) -> None:
        self.shape.add(line, message)
        self.shape.flagged.add(self.path)
        self.found = True


def _text(check: _Check, node: Mapping[Any, Any], key: str, where: str) -> str | None:
    value = node[key]
    line = value_line(node, key)
    if not isinstance(value, str):
        check.add(line, f"{where}: {key} must be text, not {type_name(value)}")
        return None
    if not value.strip():
        check.add(line, f"{where}: {key} is empty; give a value or remove the key")
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        check.add(line, f"{where}: {key} {quote(value)} contains control characters")
        return None
    if len(value) > 1024:
        check.add(line, f"{where}: {key} {quote(value)} is too long")
        return None
    return value


def _unknown(check: _Check, node: Mapping[Any, Any], allowed: Sequence[str], where: str) -> None:
    for key in node:
        if isinstance(key, str) and key in allowed:
            continue
        line = key_line(node, key)
        name = str(key)
        if name.lower() in _SECRET_KEYS:
            check.add(
                line,
                f"{where}: {quote(name)}: a credential never goes into promotion.yaml; put it "
                f"in an environment variable (a CI secret) and name that variable here"
                + (" with token-env:" if "token-env" in allowed else " with kubeconfig-env:"),
            )
            continue
        check.add(
            line,
            f"{where}: unknown key {quote(name)}{suggest(name, allowed)}; allowed here: "
            f"{one_of(allowed)}",
        )


def _timeout(check: _Check, node: Mapping[Any, Any], where: str) -> None:
    if "timeout" not in node:
        return
    line = value_line(node, "timeout")
    try:
        value = parse_duration(node["timeout"])
    except DurationError as err:
        check.add(line, f"{where}: timeout: {err}")
        return
    if value.total_seconds() <= 0 or value > MAX_TIMEOUT:
        check.add(
            line,
            f"{where}: timeout {quote(node['timeout'])} must be more than 0s and at most "
            f"{format_duration(MAX_TIMEOUT)}; e.g. timeout: 10s",
        )


def _template(check: _Check, node: Mapping[Any, Any], key: str, where: str) -> None:
    if key not in node:
        return
    value = _text(check, node, key, where)
    if value is None:
        return
    if not _TEMPLATE_RE.match(value) or len(value) > 200:
        check.add(
            value_line(node, key),
            f"{where}: {key} {quote(value)} is not a name template: lowercase letters, digits, "
            f"'.', '-' and the placeholders {{app}} and {{env}}, e.g. {key}: '{{app}}-{{env}}'",
        )


def _label(check: _Check, node: Mapping[Any, Any], key: str, where: str) -> None:
    if key not in node:
        return
    value = _text(check, node, key, where)
    if value is not None and not _LABEL_RE.match(value):
        check.add(
            value_line(node, key),
            f"{where}: {key} {quote(value)} is not a Kubernetes name (lowercase "
            f"letters, digits and '-', at most 63 characters)",
        )


def _variable(check: _Check, node: Mapping[Any, Any], key: str, where: str) -> None:
    if key not in node:
        return
    value = _text(check, node, key, where)
    if value is not None and not _VAR_RE.match(value):
        check.add(
            value_line(node, key),
            f"{where}: {key} {quote(value)} is not an environment variable name (letters, "
            f"digits and '_', not starting with a digit); write the variable's name, never "
            f"its value",
        )


def _flag(check: _Check, node: Mapping[Any, Any], key: str, where: str) -> bool | None:
    if key not in node:
        return None
    value = node[key]
    if not isinstance(value, bool):
        check.add(
            value_line(node, key), f"{where}: {key} must be true or false, not {type_name(value)}"
        )
        return None
    return value


def _server(check: _Check, node: Mapping[Any, Any], where: str, line: int | None) -> str | None:
    """The host of a valid server URL (None: a problem was added)."""
    if "server" not in node:
        check.add(
            line,
            f"{where}: server is missing; add the Argo CD API URL, e.g. server: "
            f"https://argocd.example.com",
        )
        return None
    value = _text(check, node, "server", where)
    if value is None:
        return None
    line = value_line(node, "server")
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("https", "http") or not host or " " in value.strip():
        check.add(
            line,
            f"{where}: server {quote(value)} is not an http(s) URL; write e.g. "
            f"https://argocd.example.com",
        )
        return None
    if parts.username is not None or parts.password is not None:
        check.add(
            line,
            f"{where}: server must not carry credentials (user:password@); name the token's "
            f"variable with token-env:",
        )
        return None
    if parts.query or parts.fragment:
        check.add(line, f"{where}: server {quote(value)} must not have a query or fragment")
        return None
    if parts.scheme == "http" and not is_loopback(host):
        check.add(
            line,
            f"{where}: server {quote(value)} is plain http; use https:// (http only for a "
            f"loopback address, e.g. a port-forward on 127.0.0.1)",
        )
        return None
    return host


def _argocd(check: _Check, block: Mapping[Any, Any], where: str) -> None:
    node = block["argocd"]
    where = f"{where}: argocd"
    if not isinstance(node, Mapping):
        check.add(
            value_line(block, "argocd"),
            f"{where} must be a mapping, not {type_name(node)}; e.g. argocd: {{server: "
            f"https://argocd.example.com}}",
        )
        return
    _unknown(check, node, ARGOCD_KEYS, where)
    host = _server(check, node, where, value_line(block, "argocd"))
    _template(check, node, "application", where)
    _label(check, node, "namespace", where)
    _label(check, node, "project", where)
    _variable(check, node, "token-env", where)
    if "ca-file" in node:
        _text(check, node, "ca-file", where)
    insecure = _flag(check, node, "insecure", where)
    if insecure and host is not None and not is_loopback(host):
        check.add(
            value_line(node, "insecure"),
            f"{where}: insecure: true skips TLS verification and is allowed only for a "
            f"loopback server (127.0.0.1, ::1, localhost), not {quote(host)}; give ca-file: "
            f"for a private CA",
        )
    _timeout(check, node, where)


def _flux(check: _Check, block: Mapping[Any, Any], where: str) -> None:
    node = block["flux"]
    where = f"{where}: flux"
    if not isinstance(node, Mapping):
        check.add(
            value_line(block, "flux"),
            f"{where} must be a mapping, not {type_name(node)}; e.g. flux: {{kind: "
            f"Kustomization, namespace: flux-system}}",
        )
        return
    _unknown(check, node, FLUX_KEYS, where)
    if "kind" in node and node["kind"] not in ("Kustomization", "HelmRelease"):
        shown = quote(node["kind"]) if isinstance(node["kind"], str) else type_name(node["kind"])
        hint = (
            suggest(node["kind"], ("Kustomization", "HelmRelease"))
            if isinstance(node["kind"], str)
            else ""
        )
        check.add(
            value_line(node, "kind"),
            f"{where}: kind {shown} is not valid{hint}; use one of: Kustomization, HelmRelease",
        )
    _template(check, node, "name", where)
    _label(check, node, "namespace", where)
    if "kubeconfig" in node:
        _text(check, node, "kubeconfig", where)
    _variable(check, node, "kubeconfig-env", where)
    if "kubeconfig" in node and "kubeconfig-env" in node:
        check.add(
            key_line(node, "kubeconfig-env"),
            f"{where}: kubeconfig and kubeconfig-env both set; keep one (neither: the "
            f"in-cluster service account)",
        )
    if "context" in node:
        _text(check, node, "context", where)
    _timeout(check, node, where)


def check_block(parent: Mapping[Any, Any], key: Any, path: Path, where: str, shape: Shape) -> None:
    """Every problem of the live block ``parent[key]`` (at ``path``), flagged at ``path``."""
    check = _Check(shape, path)
    node = parent[key]
    line = value_line(parent, key) or key_line(parent, key)
    if not isinstance(node, Mapping):
        check.add(line, f"{where} must be a mapping, not {type_name(node)}; {_EXAMPLE}")
        return
    _unknown(check, node, BLOCK_KEYS, where)
    has = [k for k in ("argocd", "flux") if k in node]
    if len(has) != 1:
        said = "both argocd and flux" if has else "neither argocd nor flux"
        check.add(
            key_line(parent, key),
            f"{where}: has {said}; give exactly one controller, {_EXAMPLE}",
        )
    if "argocd" in node:
        _argocd(check, node, where)
    if "flux" in node:
        _flux(check, node, where)
    if "on-error" in node and node["on-error"] not in ("fail", "warn"):
        value = node["on-error"]
        shown = quote(value) if isinstance(value, str) else type_name(value)
        check.add(
            value_line(node, "on-error"),
            f"{where}: on-error {shown} is not valid; use one of: fail, warn",
        )
    _flag(check, node, "gate", where)


def check(data: Mapping[Any, Any], shape: Shape, declared_envs: Sequence[str]) -> None:
    """Every problem of the ``live:`` blocks (environments' and apps') and of
    ``soak-from: sync``."""
    envs = data.get("environments")
    items = envs if isinstance(envs, list) else []
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and "live" in item:
            where = f"{env_where(data, index)}: live"
            check_block(item, "live", ("environments", index, "live"), where, shape)
    apps = data.get("apps")
    overridden: set[str] = set()
    for name, body in apps.items() if isinstance(apps, Mapping) else ():
        if not valid_name(name) or not isinstance(body, Mapping) or "live" not in body:
            continue
        path: Path = ("apps", name, "live")
        node = body["live"]
        where = f"app {quote(name)}: live"
        if not isinstance(node, Mapping):
            shape.add(
                value_line(body, "live"),
                f"{where} must be a mapping of environment name to a live block (or false), "
                f"not {type_name(node)}; e.g. live: {{staging: {{argocd: {{server: "
                f"https://argocd.example.com, application: legacy-{{env}}}}}}}}",
            )
            shape.flagged.add(path)
            continue
        names = [n for n in declared_envs if valid_name(n)]
        for env_name, block in node.items():
            if not isinstance(env_name, str) or env_name not in declared_envs:
                shape.add(
                    key_line(node, env_name),
                    f"{where}: {quote(env_name)} is not an environment"
                    f"{suggest(env_name, names) if isinstance(env_name, str) else ''}; use one "
                    f"of: {one_of(names)}",
                )
                shape.flagged.add(path)
                continue
            overridden.add(env_name)
            if block is False:
                continue
            check_block(node, env_name, (*path, env_name), f"{where}: {env_name}", shape)
    _soak_from(data, shape, items, overridden)


def _soak_from(
    data: Mapping[Any, Any], shape: Shape, items: Sequence[Any], overridden: set[str]
) -> None:
    with_live = {
        item.get("name")
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("live"), Mapping)
    } | overridden
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or "soak-from" not in item:
            continue
        value = item["soak-from"]
        where = env_where(data, index)
        line = value_line(item, "soak-from")
        path: Path = ("environments", index, "soak-from")
        if value not in ("merge", "sync"):
            continue  # the schema said so
        if value != "sync":
            continue
        if "soak" not in item or "from" not in item:
            shape.add(
                line,
                f"{where}: soak-from: sync needs soak: and from: (it says where the soak in "
                f"the upstream environment starts); add them or remove soak-from",
            )
            shape.flagged.add(path)
        elif item.get("from") not in with_live:
            shape.add(
                line,
                f"{where}: soak-from: sync needs a live: block on its upstream environment "
                f"{quote(item.get('from'))} (the sync time is read from its controller); add "
                f"one, or use soak-from: merge",
            )
            shape.flagged.add(path)


# -- the model ---------------------------------------------------------------------------


def _duration(node: Mapping[Any, Any]) -> Any:
    return parse_duration(node["timeout"]) if "timeout" in node else DEFAULT_TIMEOUT


def build(node: Any, line: int | None = None) -> LiveConfig | None:
    """The model of a live block that has no problem (None for ``false``)."""
    if not isinstance(node, Mapping):
        return None
    argocd: ArgoCDLive | None = None
    flux: FluxLive | None = None
    if isinstance(node.get("argocd"), Mapping):
        a = node["argocd"]
        argocd = ArgoCDLive(
            server=a["server"].strip().rstrip("/"),
            application=a.get("application", ArgoCDLive.application),
            namespace=a.get("namespace"),
            project=a.get("project"),
            token_env=a.get("token-env", ArgoCDLive.token_env),
            ca_file=a.get("ca-file"),
            insecure=bool(a.get("insecure", False)),
            timeout=_duration(a),
        )
    if isinstance(node.get("flux"), Mapping):
        f = node["flux"]
        flux = FluxLive(
            kind=f.get("kind", "Kustomization"),
            name=f.get("name", FluxLive.name),
            namespace=f.get("namespace", FluxLive.namespace),
            kubeconfig=f.get("kubeconfig"),
            kubeconfig_env=f.get("kubeconfig-env"),
            context=f.get("context"),
            timeout=_duration(f),
        )
    return LiveConfig(
        argocd=argocd,
        flux=flux,
        on_error=node.get("on-error", "fail"),
        gate=bool(node.get("gate", True)),
        line=line,
    )


def build_env(data: Any, path: Path, shape: Shape) -> LiveConfig | None:
    """The live block of the environment at ``path``, when it has no problem."""
    node = at(data, path)
    if not isinstance(node, Mapping) or "live" not in node or not shape.clean((*path, "live")):
        return None
    return build(node["live"], key_line(node, "live"))


def build_app(data: Any, name: str, shape: Shape) -> tuple[tuple[str, LiveConfig | None], ...]:
    """The per-environment live blocks of app ``name`` (those without problems)."""
    body = at(data, ("apps", name))
    node = body.get("live") if isinstance(body, Mapping) else None
    if not isinstance(node, Mapping) or not shape.clean(("apps", name, "live")):
        return ()
    return tuple(
        (env_name, build(block, key_line(node, env_name))) for env_name, block in node.items()
    )


__all__ = ["build", "build_app", "build_env", "check", "check_block", "is_loopback"]
