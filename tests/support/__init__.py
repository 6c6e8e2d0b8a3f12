"""Real components the tests start: git over HTTP, the GitHub fake, the OCI registry."""
