"""The reliability and security suite: load, faults, bad input, secrets (issue 7)."""
