"""A local web site for link checks to reach: it records every request it gets."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: path -> (status, extra headers): 200s (a single-use sign-in link among them), a 404, and a
#: redirect to a host that is not allowed.
PAGES: Mapping[str, tuple[int, Mapping[str, str]]] = {
    "/ok": (200, {}),
    "/magic/once-only-token": (200, {}),
    "/logo.png": (200, {}),
    "/missing": (404, {}),
    "/redirect-away": (302, {"Location": "http://forbidden.example/landing"}),
}


@dataclass
class Site:
    """A local web site on 127.0.0.1 and the ``(method, path)`` of every request it got."""

    port: int
    hits: list[tuple[str, str]]


@contextmanager
def serve_site(pages: Mapping[str, tuple[int, Mapping[str, str]]]) -> Iterator[Site]:
    """Serve ``pages`` on a free port of 127.0.0.1 (any other path is a 404)."""
    hits: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # noqa: N802 - the name http.server calls
            hits.append((self.command, self.path))
            status, headers = pages.get(self.path, (404, {}))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(server.server_address[1], hits)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
