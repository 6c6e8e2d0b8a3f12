"""The config-repo contract: promotion.yaml, its schema, templates and durations."""
