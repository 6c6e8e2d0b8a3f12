"""Tests of live state: what Argo CD and Flux say each environment runs."""
