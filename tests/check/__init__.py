"""End-to-end tests of ``gitops-promote check`` on real repos, and of its parts."""
