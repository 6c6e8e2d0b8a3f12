"""The Argo CD fake's fixtures (until support.argocd_fake is listed in tests/conftest.py)."""

from support.argocd_fake import (  # noqa: F401 - fixtures
    argocd,
    argocd_http_server,
    argocd_https_server,
    argocd_tls,
)
