"""Benchmarks of gitops-promote against the guide's flow (``python bench/run.py``).

Not part of the test run: speed is measured here, never asserted in tests.
"""
