"""The ``live:`` block of an environment (or of one app in one environment): where to ask
what the environment really runs (pure values; validated by
:mod:`gitops_promote.config.liverules`, documented in docs/live.md).

Exactly one controller: :class:`ArgoCDLive` (an Application over Argo CD's API) or
:class:`FluxLive` (a Kustomization or HelmRelease over the Kubernetes API). No credential
is ever held here: only the *name* of the environment variable that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

OnError = Literal["fail", "warn"]
SoakFrom = Literal["merge", "sync"]
FluxKind = Literal["Kustomization", "HelmRelease"]

DEFAULT_NAME: Final = "{app}-{env}"
DEFAULT_TIMEOUT: Final = timedelta(seconds=10)
MAX_TIMEOUT: Final = timedelta(minutes=5)
DEFAULT_TOKEN_ENV: Final = "ARGOCD_TOKEN"  # noqa: S105 - a variable name, not a token
DEFAULT_FLUX_NAMESPACE: Final = "flux-system"


def render_name(template: str, app: str, env: str) -> str:
    """An object name template with ``{app}`` and ``{env}`` filled in."""
    return template.replace("{app}", app).replace("{env}", env)


@dataclass(frozen=True)
class ArgoCDLive:
    """An Argo CD Application per (app, env): ``server`` (URL), ``application`` (name
    template), ``namespace`` (None: the server's), ``token_env`` (the variable's name)."""

    server: str
    application: str = DEFAULT_NAME
    namespace: str | None = None
    project: str | None = None  # the AppProject: a missing Application is then a 404
    token_env: str = DEFAULT_TOKEN_ENV
    ca_file: str | None = None
    insecure: bool = False
    timeout: timedelta = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class FluxLive:
    """A Flux object per (app, env), read through the Kubernetes API: ``kubeconfig`` (a
    file) or ``kubeconfig_env`` (a variable holding one); neither: in-cluster."""

    kind: FluxKind = "Kustomization"
    name: str = DEFAULT_NAME
    namespace: str = DEFAULT_FLUX_NAMESPACE
    kubeconfig: str | None = None
    kubeconfig_env: str | None = None
    context: str | None = None
    timeout: timedelta = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class LiveConfig:
    """One ``live:`` block: its controller (exactly one of ``argocd``/``flux``), what a
    controller that cannot be asked means (``on_error``), and whether the live gate judges
    promotions *from* this environment (``gate``)."""

    argocd: ArgoCDLive | None = None
    flux: FluxLive | None = None
    on_error: OnError = "fail"
    gate: bool = True
    line: int | None = None

    @property
    def controller(self) -> Literal["argocd", "flux"]:
        return "argocd" if self.argocd is not None else "flux"

    def object_name(self, app: str, env: str) -> str:
        """The controller object's name for ``app`` in ``env``."""
        template = self.argocd.application if self.argocd else (self.flux or FluxLive()).name
        return render_name(template, app, env)

    def endpoint(self) -> tuple[object, ...]:
        """What identifies one client: readings with equal endpoints share it."""
        if self.argocd is not None:
            a = self.argocd
            return ("argocd", a.server, a.token_env, a.ca_file, a.insecure, a.timeout)
        f = self.flux or FluxLive()
        return ("flux", f.kubeconfig, f.kubeconfig_env, f.context, f.timeout)


__all__ = [
    "DEFAULT_NAME",
    "DEFAULT_TIMEOUT",
    "MAX_TIMEOUT",
    "ArgoCDLive",
    "FluxKind",
    "FluxLive",
    "LiveConfig",
    "OnError",
    "SoakFrom",
    "render_name",
]
