"""Render kustomize overlays at the edge, without running anything from the pull request.

``kustomize build`` (or ``kubectl kustomize``) runs with plugins, exec functions and Helm
switched off by flags, the load restrictor at its default (files stay inside the
overlay's root), a bounded time, and an environment without tokens or credentials.
Before it runs, the overlay's whole kustomization closure is walked
(:mod:`gitops_promote.adapters.hermetic`): an overlay that names a URL, a git remote, an absolute
path, a path or symlink leaving the tree, Helm charts or plugins is refused with one line
saying which file and line asks for it. The check renders only what plain kustomize
renders from the repository's own files, and never opens a network connection.

:func:`render` returns plain Python objects (one per rendered manifest) or the reason it
could not; the gates (:mod:`gitops_promote.plan.gates.drift`, :mod:`~.manifests`) take those.
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

from gitops_promote.adapters import hermetic
from gitops_promote.adapters.hermetic import Refusal
from gitops_promote.adapters.secrets import redact

DEFAULT_TIMEOUT: Final = 60.0
MAX_OUTPUT: Final = 64 * 1024 * 1024


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
    refused: bool = False  # not attempted: it would read outside the tree or run code
    file: str | None = None  # the file (and line) that asks for what is refused
    line: int | None = None

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


# A proxy nothing listens on: a fetch the closure walk missed fails at once instead of
# reaching the network (a metadata service...). Go bypasses proxies for loopback only.
_NO_NETWORK_PROXY: Final = "http://127.0.0.1:9"


def _child_env(home: Path) -> dict[str, str]:
    """PATH and a throwaway HOME: no tokens, no kubeconfig, no git credentials; and, behind
    :mod:`gitops_promote.adapters.hermetic`, no way out: every HTTP(S) request goes to a proxy that
    refuses it and git may use no transport at all."""
    proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "KUSTOMIZE_PLUGIN_HOME": str(home / "no-plugins"),
        "LANG": "C.UTF-8",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ALLOW_PROTOCOL": "none",
        **dict.fromkeys(proxies, _NO_NETWORK_PROXY),
        "NO_PROXY": "",
        "no_proxy": "",
    }


# -- refusing what would read outside the repository or run code ---------------------------


def refusal(root: Path, overlay: str) -> Refusal | None:
    """Why the overlay at ``root/overlay`` must not be rendered (a URL, a git remote, a
    path or symlink that leaves the tree, Helm, plugins, KRM functions), with the file and
    line that asks for it; None when its whole kustomization closure stays inside
    (:func:`gitops_promote.adapters.hermetic.refusal`)."""
    return hermetic.refusal(root, overlay)


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
        return Rendered(
            overlay, error=why.reason, refused=not why.broken, file=why.file, line=why.line
        )
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


__all__ = [
    "DEFAULT_TIMEOUT",
    "Refusal",
    "Rendered",
    "Renderer",
    "find_renderer",
    "refusal",
    "render",
]
