"""Render kustomize overlays at the edge, without running anything from the pull request.

``kustomize build`` (or ``kubectl kustomize``) runs with plugins, exec functions and Helm
switched off by flags, the load restrictor at its default (files stay inside the
overlay's root), a bounded time, and an environment without tokens or credentials (a
remote base is fetched anonymously). Before it runs, the overlay's kustomizations are read
and an overlay that asks for Helm charts or plugins is refused with one line saying so:
the check renders only what plain kustomize renders.

:func:`render` returns plain Python objects (one per rendered manifest) or the reason it
could not; the gates (:mod:`gitops_promote.gates.drift`, :mod:`~.manifests`) take those.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from gitops_promote import yamlsafe
from gitops_promote.changes import join_ref, kustomization_refs
from gitops_promote.errors import OverlayError
from gitops_promote.files import KUSTOMIZATION_NAMES
from gitops_promote.secrets import redact

DEFAULT_TIMEOUT: Final = 60.0
MAX_OUTPUT: Final = 64 * 1024 * 1024
_HELM_KEYS: Final = ("helmCharts", "helmChartInflationGenerator", "helmGlobals")
_PLUGIN_KEYS: Final = ("generators", "transformers", "validators")
_FUNCTION_ANNOTATIONS: Final = ("config.kubernetes.io/function", "config.k8s.io/function")


@dataclass(frozen=True)
class Renderer:
    """How to run kustomize: ``argv`` before the directory, ``flags`` after it."""

    argv: tuple[str, ...]
    flags: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Rendered:
    """The manifests an overlay renders to, or why it could not be rendered."""

    overlay: str  # repo-relative directory
    objects: tuple[Mapping[str, Any], ...] = ()
    error: str | None = None
    refused: bool = False  # not attempted: it would run code (Helm, plugins)

    @property
    def ok(self) -> bool:
        return self.error is None


_SAFE_FLAGS: Final = (
    "--enable-alpha-plugins=false",
    "--enable-helm=false",
    "--helm-command=/nonexistent/helm-is-disabled",
    "--load-restrictor=LoadRestrictionsRootOnly",
)


def find_renderer(timeout: float = DEFAULT_TIMEOUT) -> Renderer | None:
    """``kustomize build`` when kustomize is on PATH, else ``kubectl kustomize``; None when
    neither is installed."""
    kustomize = shutil.which("kustomize")
    if kustomize:
        return Renderer((kustomize, "build"), (*_SAFE_FLAGS, "--enable-exec=false"), timeout)
    kubectl = shutil.which("kubectl")
    if kubectl:
        return Renderer((kubectl, "kustomize"), _SAFE_FLAGS, timeout)
    return None


def _child_env(home: Path) -> dict[str, str]:
    """PATH and a throwaway HOME: no tokens, no kubeconfig, no git credentials."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "KUSTOMIZE_PLUGIN_HOME": str(home / "no-plugins"),
        "LANG": "C.UTF-8",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }


# -- refusing what would run code -----------------------------------------------------------


def _kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_NAMES:
        candidate = directory / name
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def _plugin_configs(value: Any, base: Path, root: Path) -> list[tuple[str, Any]]:
    """(where, document) of each generator/transformer/validator config (file or inline)."""
    out: list[tuple[str, Any]] = []
    if not isinstance(value, list):
        return out
    for item in value:
        if not isinstance(item, str):
            continue
        if "\n" in item:
            with contextlib.suppress(Exception):
                for node in yamlsafe.compose(item, "inline plugin config"):
                    out.append(("inline", _construct(node)))
            continue
        rel = join_ref(base.relative_to(root).as_posix(), item)
        if rel is None:
            continue
        target = root / rel
        if target.is_file():
            with contextlib.suppress(Exception):
                text = target.read_text(encoding="utf-8")
                for node in yamlsafe.compose(text, rel):
                    out.append((rel, _construct(node)))
    return out


def _construct(node: Any) -> Any:
    from ruamel.yaml import YAML  # noqa: PLC0415 - lazy

    return YAML(typ="safe", pure=True).constructor.construct_document(node)


def refusal(root: Path, overlay: str) -> str | None:
    """Why the overlay at ``root/overlay`` must not be rendered (Helm charts, plugins,
    KRM functions), or None. Follows the overlay's local references."""
    seen: set[Path] = set()
    queue = [root / overlay]
    while queue:
        directory = queue.pop()
        if directory in seen or not directory.is_dir():
            continue
        seen.add(directory)
        kfile = _kustomization_file(directory)
        if kfile is None:
            continue
        rel = kfile.relative_to(root).as_posix()
        try:
            text = kfile.read_text(encoding="utf-8")
            data = yamlsafe.load(text, rel)
        except (OSError, UnicodeDecodeError, OverlayError):
            continue  # kustomize itself reports a broken file
        if not isinstance(data, Mapping):
            continue
        for key in _HELM_KEYS:
            if key in data:
                return (
                    f"{rel} uses {key}:, which the check does not render (it never runs Helm "
                    f"or other code from a pull request); render it into plain manifests"
                )
        for key in _PLUGIN_KEYS:
            for where, doc in _plugin_configs(data.get(key), directory, root):
                if not isinstance(doc, Mapping):
                    continue
                api = str(doc.get("apiVersion") or "")
                annotations = (doc.get("metadata") or {}).get("annotations") or {}
                function = any(a in annotations for a in _FUNCTION_ANNOTATIONS)
                if function or (api and not api.startswith("builtin")):
                    kind = doc.get("kind") or "?"
                    return (
                        f"{rel} {key}: {kind} ({api or 'no apiVersion'}, in {where}) is a "
                        f"plugin or KRM function; the check renders with plugins and exec "
                        f"disabled and does not run code from a pull request"
                    )
        for ref in kustomization_refs(text, rel):
            joined = join_ref(kfile.parent.relative_to(root).as_posix(), ref)
            if joined is not None:
                queue.append(root / joined)
    return None


# -- running kustomize ------------------------------------------------------------------------


def _parse(out: bytes) -> tuple[Mapping[str, Any], ...]:
    from ruamel.yaml import YAML  # noqa: PLC0415 - lazy

    text = out.decode("utf-8", "replace")
    docs = YAML(typ="safe", pure=True).load_all(text)
    return tuple(d for d in docs if isinstance(d, Mapping))


def _first_lines(stderr: str, root: Path, limit: int = 2) -> str:
    text = redact(stderr).replace(f"{root}/", "").replace(str(root), ".")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if line.lower().startswith("error")] or lines
    joined = " ".join(useful[:limit])
    return joined[:600] + ("…" if len(joined) > 600 else "")


def render(renderer: Renderer, root: Path, overlay: str) -> Rendered:
    """Render the overlay directory ``overlay`` of the tree materialised at ``root``."""
    why = refusal(root, overlay)
    if why is not None:
        return Rendered(overlay, error=why, refused=True)
    with tempfile.TemporaryDirectory(prefix="gitops-promote-render-") as home:
        argv = [*renderer.argv, str(root / overlay), *renderer.flags]
        try:
            proc = subprocess.Popen(
                argv,
                cwd=home,
                env=_child_env(Path(home)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as err:
            return Rendered(overlay, error=f"cannot run {renderer.argv[0]}: {err.strerror}")
        try:
            out, err_bytes = proc.communicate(timeout=renderer.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Rendered(
                overlay,
                error=f"rendering {overlay} took longer than {renderer.timeout:.0f} s and was "
                "stopped (a slow remote base?)",
            )
    if proc.returncode != 0:
        stderr = err_bytes.decode("utf-8", "replace")
        return Rendered(overlay, error=f"cannot render {overlay}: {_first_lines(stderr, root)}")
    if len(out) > MAX_OUTPUT:
        return Rendered(overlay, error=f"{overlay} renders to more than 64 MiB; not checked")
    try:
        objects = _parse(out)
    except Exception as exc:  # noqa: BLE001 - any parser failure is reported, not raised
        return Rendered(overlay, error=f"cannot read what {overlay} renders to: {exc}")
    return Rendered(overlay, objects)


__all__ = ["DEFAULT_TIMEOUT", "Rendered", "Renderer", "find_renderer", "refusal", "render"]
