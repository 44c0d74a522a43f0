"""A small POST receiver on 127.0.0.1 for the demo's outgoing messages.

The demo stands in for two outside systems that take signed POSTs from the hub: the
district's alarm webhook (notify_sink) and the city's push endpoint (receiver). The HTTP
plumbing is the same for both; what differs is how a body is checked and what is done
with it, so each hands that in as ``take``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# take(headers, body) -> the HTTP status to answer (200 accepted, 401 bad signature, ...);
# the headers as http.server parsed them, so names match whatever their case.
Take = Callable[[Message, bytes], int]


class LoopbackReceiver:
    """Listens on a free loopback port for POSTs to ``path``; bodies over ``max_body``
    bytes are answered 413 unread."""

    def __init__(self, *, path: str, name: str, max_body: int, take: Take) -> None:
        self.path = path

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > max_body:
                    self._answer(413)
                    return
                self._answer(take(self.headers, self.rfile.read(length)))

            def _answer(self, code: int) -> None:
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass  # the demo's own log line says what arrived

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=name,
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
