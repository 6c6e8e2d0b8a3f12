"""Apply: byte-minimal edits of overlays."""
