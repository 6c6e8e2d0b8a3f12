"""Rendered-manifest checks for the guide's failure modes: missing Secrets/ConfigMaps and
containers without resource limits.

- **references**: every Secret and ConfigMap a pod uses (``env[].valueFrom``, ``envFrom``,
  ``volumes``, projected volumes; not those marked ``optional: true``) must be in the
  env's rendered manifests, or come from something rendered that creates it (a
  SealedSecret, an ExternalSecret's target, a Vault secret's destination), or be listed
  under the env's ``external:`` (created outside the overlay). The app deploys without it
  and crashes otherwise.
- **limits**: in a ``require-limits`` env every container and init container keeps
  ``resources.limits``.

Pure: rendered objects (plain mappings) in, GateResult out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gitops_promote.config.model import Environment
from gitops_promote.plan.gates import GateResult

REFERENCES: Final = "references"
LIMITS: Final = "limits"
_POD_SPEC_PATHS: Final = (
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
)
_CONTAINERS: Final = ("initContainers", "containers")
_SHOWN: Final = 4


@dataclass(frozen=True)
class Reference:
    kind: str  # "Secret" or "ConfigMap"
    name: str
    namespace: str | None
    owner: str  # "Deployment/api-service"
    via: str  # "env DB_PASSWORD of container api"

    def describe(self) -> str:
        return f"{self.owner} uses {self.kind} '{self.name}' ({self.via})"


def _get(node: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _meta(obj: Mapping[str, Any]) -> tuple[str, str | None]:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return "", None
    namespace = meta.get("namespace")
    return str(meta.get("name") or ""), str(namespace) if namespace else None


def pod_specs(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The pod specs of a workload: a Pod's spec, a template's spec, a CronJob's."""
    if obj.get("kind") == "Pod":
        spec = obj.get("spec")
        return [spec] if isinstance(spec, Mapping) else []
    out = []
    for path in _POD_SPEC_PATHS:
        spec = _get(obj, path)
        if isinstance(spec, Mapping) and isinstance(spec.get("containers"), list):
            out.append(spec)
    return out


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for field in _CONTAINERS:
        items = spec.get(field)
        if not isinstance(items, list):
            continue
        for container in items:
            if isinstance(container, Mapping):
                label = "init container" if field == "initContainers" else "container"
                yield f"{label} {container.get('name') or '?'}", container


def _required(ref: Any) -> str | None:
    """The name of a reference that is not ``optional: true``."""
    if not isinstance(ref, Mapping) or ref.get("optional") is True:
        return None
    name = ref.get("name") or ref.get("secretName")
    return str(name) if name else None


def references(objects: Sequence[Mapping[str, Any]]) -> list[Reference]:
    """Every required Secret/ConfigMap reference of every pod spec, in object order."""
    out: list[Reference] = []
    for obj in objects:
        name, namespace = _meta(obj)
        owner = f"{obj.get('kind')}/{name}"
        for spec in pod_specs(obj):
            for label, container in _containers(spec):
                for var in container.get("env") or ():
                    source = var.get("valueFrom") if isinstance(var, Mapping) else None
                    if not isinstance(source, Mapping):
                        continue
                    for key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                        ref = _required(source.get(key))
                        if ref:
                            via = f"env {var.get('name')} of {label}"
                            out.append(Reference(kind, ref, namespace, owner, via))
                for item in container.get("envFrom") or ():
                    if not isinstance(item, Mapping):
                        continue
                    for key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                        ref = _required(item.get(key))
                        if ref:
                            out.append(
                                Reference(kind, ref, namespace, owner, f"envFrom of {label}")
                            )
            for volume in spec.get("volumes") or ():
                if not isinstance(volume, Mapping):
                    continue
                via = f"volume {volume.get('name')}"
                for key, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                    ref = _required(volume.get(key))
                    if ref:
                        out.append(Reference(kind, ref, namespace, owner, via))
                for source in _get(volume, ("projected", "sources")) or ():
                    if not isinstance(source, Mapping):
                        continue
                    for key, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                        ref = _required(source.get(key))
                        if ref:
                            out.append(Reference(kind, ref, namespace, owner, via))
    return out


def provided(objects: Sequence[Mapping[str, Any]]) -> set[tuple[str, str, str | None]]:
    """(kind, name, namespace) of every Secret/ConfigMap the render creates, directly or
    through a SealedSecret, ExternalSecret or Vault secret resource."""
    out: set[tuple[str, str, str | None]] = set()
    for obj in objects:
        kind = str(obj.get("kind") or "")
        name, namespace = _meta(obj)
        if kind in ("Secret", "ConfigMap"):
            out.add((kind, name, namespace))
        elif kind == "SealedSecret":
            target = _get(obj, ("spec", "template", "metadata", "name")) or name
            out.add(("Secret", str(target), namespace))
        elif kind == "ExternalSecret":
            target = _get(obj, ("spec", "target", "name")) or name
            out.add(("Secret", str(target), namespace))
        elif kind in ("VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret"):
            target = _get(obj, ("spec", "destination", "name")) or name
            out.add(("Secret", str(target), namespace))
        elif kind == "OnePasswordItem":
            out.add(("Secret", name, namespace))
    return out


def _listed(items: Sequence[str], limit: int = _SHOWN) -> str:
    more = len(items) - limit
    return "; ".join(items[:limit]) + (f"; and {more} more" if more > 0 else "")


def references_gate(
    app: str,
    env: Environment,
    objects: Sequence[Mapping[str, Any]],
    *,
    file: str | None = None,
) -> GateResult:
    """Fail when a pod uses a Secret/ConfigMap that nothing in ``env`` provides."""
    have = provided(objects)
    external = set(env.external)
    missing: list[Reference] = []
    for ref in references(objects):
        if ref.name in external:
            continue
        if (ref.kind, ref.name, ref.namespace) in have or any(
            k == ref.kind and n == ref.name and (ns is None or ref.namespace is None)
            for k, n, ns in have
        ):
            continue
        if ref not in missing:
            missing.append(ref)
    if not missing:
        return GateResult(
            REFERENCES,
            app,
            env.name,
            True,
            f"every Secret and ConfigMap {app}'s pods use in {env.name} is rendered or external",
            file=file,
        )
    names = ", ".join(dict.fromkeys(f"{r.kind} '{r.name}'" for r in missing))
    return GateResult(
        REFERENCES,
        app,
        env.name,
        False,
        f"{env.name} would deploy {app} without {names}: "
        + _listed([r.describe() for r in missing])
        + f"; add it to the {env.name} overlay (or its ExternalSecret/SealedSecret), or list "
        f"it under external: of {env.name} in promotion.yaml if it is created outside",
        file=file,
    )


def limits_gate(
    app: str,
    env: Environment,
    objects: Sequence[Mapping[str, Any]],
    *,
    file: str | None = None,
) -> GateResult:
    """In a ``require-limits`` env, fail when a container has no ``resources.limits``."""
    if not env.require_limits:
        return GateResult(LIMITS, app, env.name, True, f"{env.name} does not require limits")
    bare: list[str] = []
    count = 0
    for obj in objects:
        name, _ = _meta(obj)
        for spec in pod_specs(obj):
            for label, container in _containers(spec):
                count += 1
                limits = _get(container, ("resources", "limits"))
                if not isinstance(limits, Mapping) or not limits:
                    bare.append(f"{obj.get('kind')}/{name} {label}")
    if not bare:
        return GateResult(
            LIMITS,
            app,
            env.name,
            True,
            f"all {count} container(s) of {app} in {env.name} have resource limits",
            file=file,
        )
    return GateResult(
        LIMITS,
        app,
        env.name,
        False,
        f"{env.name} requires resource limits (require-limits), but these containers of "
        f"{app} have none: {_listed(bare)}; restore resources.limits in the overlay or base",
        file=file,
    )


__all__ = [
    "LIMITS",
    "REFERENCES",
    "Reference",
    "limits_gate",
    "pod_specs",
    "provided",
    "references",
    "references_gate",
]
