"""I/O adapters: git, GitHub, the registry, kustomize, YAML, files, Actions, secrets."""
