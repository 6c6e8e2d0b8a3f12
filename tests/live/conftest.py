"""Both fakes' fixtures for the live-state tests at this level (the Argo CD and Flux tests
below have their own conftest)."""

from __future__ import annotations

from support.argocd_fake import argocd, argocd_http_server, argocd_https_server, argocd_tls
from support.kube_fake import _kube_fake_server, kube_fake, kube_pki

__all__ = [
    "_kube_fake_server",
    "argocd",
    "argocd_http_server",
    "argocd_https_server",
    "argocd_tls",
    "kube_fake",
    "kube_pki",
]
