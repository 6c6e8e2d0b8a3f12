"""Report: one record per command, rendered as text, markdown, JSON and outputs."""
