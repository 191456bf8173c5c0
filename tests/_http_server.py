"""A scripted HTTP server on 127.0.0.1 for download tests (no network needed).

Each path is routed to a small function that writes the answer (a file, an
error status, a truncated body, a stall); the server counts requests per path.
The ``http_server`` fixture starts it in a thread and stops it afterwards;
``running_server()`` does the same for a wider scope, and ``serve_folder``
makes it a mirror of a folder's files.
"""

from __future__ import annotations

import collections
import contextlib
import http.server
import shutil
import socket
import threading
import urllib.parse
from pathlib import Path

import pytest


class LocalServer:
    """Routes, request counts and the stop signal of one running test server."""

    def __init__(self, port: int):
        self.port = port
        self.routes = {}
        self.hits = collections.Counter()
        self.stop = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, answer) -> str:
        """Serve ``path`` with ``answer(handler, hit_number)``; return its URL."""
        self.routes[path] = answer
        return self.url(path)


def send_body(handler, body: bytes, sent: int | None = None) -> None:
    """Answer 200 announcing ``len(body)`` bytes but sending only ``sent`` of them."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/octet-stream")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body[:sent])
    handler.wfile.flush()


def send_file(handler, path: Path) -> None:
    """Answer 200 with the file's bytes, streamed."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/octet-stream")
    handler.send_header("Content-Length", str(path.stat().st_size))
    handler.end_headers()
    with open(path, "rb") as file:
        shutil.copyfileobj(file, handler.wfile)
    handler.wfile.flush()


def serve_folder(server: LocalServer, folder: Path, prefix: str = "/mirror") -> str:
    """Serve every file at the top of ``folder`` as ``<prefix>/<name>``; return the mirror's base URL."""
    for path in Path(folder).iterdir():
        if path.is_file():
            server.route(f"{prefix}/{urllib.parse.quote(path.name)}",
                         lambda handler, hit, path=path: send_file(handler, path))
    return server.url(prefix)


def _handler_class(server: LocalServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        local = server  # lets an answer reach the test server (e.g. its stop event)

        def do_GET(self):
            path = self.path.split("?")[0]
            server.hits[path] += 1
            answer = server.routes.get(path)
            if answer is None:
                self.send_error(404, "Not Found")
            else:
                answer(self, server.hits[path])

        def log_message(self, *args):  # keep test output quiet
            pass

    return Handler


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (timeout test) breaks the pipe: expected


@contextlib.contextmanager
def running_server():
    """A started :class:`LocalServer`, stopped (stalled handlers released) on leaving."""
    httpd = _QuietServer(("127.0.0.1", 0), lambda *a: None)
    server = LocalServer(httpd.server_address[1])
    httpd.RequestHandlerClass = _handler_class(server)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_server():
    """A started :class:`LocalServer`; stopped (stalled handlers released) after the test."""
    with running_server() as server:
        yield server


def unreachable_url(path: str = "/file.npz") -> str:
    """A URL on 127.0.0.1 where nothing listens: the connection is refused, as offline."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
