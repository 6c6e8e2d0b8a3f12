"""The Kubernetes API fake's fixtures for the Flux tests."""

from __future__ import annotations

from support.kube_fake import _kube_fake_server, kube_fake, kube_pki

__all__ = ["_kube_fake_server", "kube_fake", "kube_pki"]
