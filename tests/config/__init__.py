"""Tests of promotion.yaml loading, its JSON Schema, durations and templates."""
