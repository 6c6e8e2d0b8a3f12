"""I/O adapters: git, GitHub, the registry, kustomize, YAML, files, Actions, secrets."""

# Where promotion.yaml lives in the config repo (here, below config/, so that the workspace
# adapter and the config model share it without pulling a file-touching adapter into plan/).
DEFAULT_CONFIG_PATH = "promotion.yaml"
