"""A local HTTP server that records every request it gets: what a hermetic tool must never call.

Tests point URLs in hostile input (``resources: [http://127.0.0.1:PORT/...]``) at it and
assert that :attr:`Tripwire.requests` stays empty. Each answer carries :data:`LEAKED`, so
a test can also assert that nothing fetched reached the output.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

LEAKED: Final = "LEAKED-FROM-THE-NETWORK"
BODY: Final = (
    f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: fetched}}\ndata: {{secret: {LEAKED}}}\n"
).encode()


class Tripwire:
    """The running server: ``url(path)`` names it, ``requests`` lists what it was asked."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests: list[str] = []

    def url(self, path: str = "x.yaml") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"


@contextmanager
def tripwire() -> Iterator[Tripwire]:
    """Serve on 127.0.0.1 (a free port) until the block ends."""
    wire: Tripwire | None = None

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            assert wire is not None
            wire.requests.append(f"{self.command} {self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "application/yaml")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(BODY)

        do_GET = do_HEAD = do_POST = _answer  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads ``requests``."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    wire = Tripwire(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield wire
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


__all__ = ["BODY", "LEAKED", "Tripwire", "tripwire"]
