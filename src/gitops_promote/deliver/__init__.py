"""Deliver: commit and push, or a branch and a pull request."""
