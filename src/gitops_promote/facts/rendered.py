"""Images as deployed: the image strings of rendered manifests, and where they came from.

Pure. The check judges what Argo CD or Flux would run, not the ``images:`` text that claims
it: these functions read the objects ``kustomize build`` renders (or the documents of a
Helm values file) and return every image a workload would start:

- ``containers``, ``initContainers`` and ``ephemeralContainers`` of Pods, Deployments,
  StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs
  (``spec.jobTemplate.spec.template``), PodTemplates and Argo Rollouts (``spec.template``);
- the ``values`` of a Flux HelmRelease, and a plain Helm values document: every
  ``image:`` string and every ``{registry, repository, tag, digest}`` mapping.

:func:`normalised` makes two renders comparable (the order of documents and of mapping keys
does not count); :func:`origin` finds the line of a changed file that wrote an image.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gitops_promote.errors import UserError
from gitops_promote.images import ImageRef

# kind -> the path of its pod spec
POD_SPECS: Final[Mapping[str, tuple[str, ...]]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "Rollout": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_FIELDS: Final = ("initContainers", "containers", "ephemeralContainers")
_MAX_DEPTH: Final = 64


@dataclass(frozen=True, order=True)
class DeployedImage:
    """One image a rendered object would run: the string as rendered, and where it is
    (``Deployment/api containers[api]``, ``HelmRelease/api values.image``)."""

    image: str
    where: str

    def ref(self) -> ImageRef | None:
        """The parsed reference (None: not a valid image reference)."""
        return parse(self.image)


def parse(image: str) -> ImageRef | None:
    try:
        return ImageRef.parse(image)
    except UserError:
        return None


def _at(doc: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _label(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return f"{doc.get('kind')}/{name if isinstance(name, str) else '?'}"


def workload_images(doc: Mapping[str, Any]) -> list[DeployedImage]:
    """The container images of one workload object (empty for other kinds)."""
    path = POD_SPECS.get(str(doc.get("kind")))
    if path is None:
        return []
    spec = _at(doc, path)
    if not isinstance(spec, Mapping):
        return []
    out: list[DeployedImage] = []
    label = _label(doc)
    for field in CONTAINER_FIELDS:
        containers = spec.get(field)
        if not isinstance(containers, list):
            continue
        for container in containers:
            if not isinstance(container, Mapping):
                continue
            image = container.get("image")
            if isinstance(image, str):
                name = container.get("name")
                out.append(DeployedImage(image, f"{label} {field}[{name}]"))
    return out


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        text = str(value).strip()
        return text or None
    return None


def _compose(values: Mapping[str, Any]) -> str | None:
    """``{registry, repository, tag, digest}`` (the common chart convention) as one string."""
    repository = _scalar(values.get("repository"))
    if repository is None:
        return None
    registry = _scalar(values.get("registry"))
    out = f"{registry}/{repository}" if registry else repository
    tag = _scalar(values.get("tag"))
    digest = _scalar(values.get("digest"))
    if tag:
        out += f":{tag}"
    if digest:
        out += f"@{digest}"
    return out


def _walk_values(value: Any, where: str, depth: int) -> Iterator[DeployedImage]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        composed = _compose(value)
        if composed is not None:
            yield DeployedImage(composed, where)
        for key, child in value.items():
            here = f"{where}.{key}"
            if key == "image" and isinstance(child, str) and child.strip():
                yield DeployedImage(child.strip(), here)
            elif key == "image" and isinstance(child, Mapping) and "repository" not in child:
                named = _compose({**child, "repository": child.get("name")})
                if named is not None:  # the {name, tag, digest} shape of some charts
                    yield DeployedImage(named, here)
                yield from _walk_values(child, here, depth + 1)
            else:
                yield from _walk_values(child, here, depth + 1)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _walk_values(child, f"{where}[{i}]", depth + 1)


def values_images(values: Any, where: str = "values") -> list[DeployedImage]:
    """The images Helm values name: ``image:`` strings, ``repository:`` mappings."""
    return list(_walk_values(values, where, 0))


def images_of(objects: Iterable[Mapping[str, Any]]) -> tuple[DeployedImage, ...]:
    """Every image the rendered ``objects`` would run, sorted, without duplicates.

    A HelmRelease contributes its ``spec.values``; a document with neither ``kind`` nor
    ``apiVersion`` is a Helm values file and contributes all of itself."""
    found: set[DeployedImage] = set()
    for doc in objects:
        kind = doc.get("kind")
        if kind == "HelmRelease":
            found.update(values_images(_at(doc, ("spec", "values")), f"{_label(doc)} values"))
        elif kind is None and "apiVersion" not in doc:
            found.update(values_images(doc))
        else:
            found.update(workload_images(doc))
    return tuple(sorted(found))


def image_strings(images: Iterable[DeployedImage]) -> tuple[str, ...]:
    return tuple(sorted({i.image for i in images}))


def normalised(objects: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The objects in a form where equal renders compare equal: each document as canonical
    JSON, sorted (kustomize's output order and key order do not count)."""
    return tuple(sorted(json.dumps(doc, sort_keys=True, default=str) for doc in objects))


def origin(image: str, texts: Iterable[tuple[str, str]]) -> tuple[str, int] | None:
    """The first line of ``texts`` ((file, text) pairs, most specific first) that writes
    ``image``: the whole string, else its repository name (``newName:``), else its digest,
    else its tag. None when no line names any of them."""
    pairs = list(texts)
    ref = parse(image)
    needles = [image]
    if ref is not None:
        needles += [ref.name, *(x for x in (ref.digest, ref.tag) if x)]
    for needle in needles:
        for file, text in pairs:
            for number, line in enumerate(text.splitlines(), 1):
                if needle in line:
                    return file, number
    return None


__all__ = [
    "CONTAINER_FIELDS",
    "POD_SPECS",
    "DeployedImage",
    "image_strings",
    "images_of",
    "normalised",
    "origin",
    "parse",
    "values_images",
    "workload_images",
]
