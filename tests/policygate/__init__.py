"""The ``policy`` gate of the required check: config, the pure gate, ``check`` end to end."""
