"""Tests of the git layer (gitops_promote.adapters.git) against the HTTP git server."""
