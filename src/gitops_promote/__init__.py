"""gitops-promote: promote verified container images through GitOps environments."""

__version__ = "0.1.0"
