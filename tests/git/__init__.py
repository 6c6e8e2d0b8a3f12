"""Tests of the git layer (gitops_promote.gitrepo) against the HTTP git server."""
