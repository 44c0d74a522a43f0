"""The demo's stand-in for the city's database: a loopback HTTP receiver of the exchange
push (issue 15) that checks each request the way the README tells receivers to, applies
each delivery once, and logs what it got. Registered as the endpoint ``demo-city``, so the
dashboard's /exchange page has something to show.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from hub.db import Conn
from hub.exchange import push
from hub.exchange.push_documents import PUSH_KINDS
from hub.exchange.push_signing import DELIVERY_HEADER, Verdict, verify

log = logging.getLogger(__name__)

NAME: Final = "demo-city"
MAX_BODY: Final = 10 * 1024 * 1024


class DemoReceiver:
    def __init__(self) -> None:
        self.secret = push.new_secret()
        self.applied: dict[str, dict[str, Any]] = {}  # delivery id -> envelope
        self.refused = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._answer(413)
                    return
                body = self.rfile.read(length)
                headers = dict(self.headers.items())
                verdict = verify(receiver.secret, headers, body, now=time.time())
                if verdict is not Verdict.OK:
                    with lock:
                        receiver.refused += 1
                    log.warning("demo receiver: refused a push (%s)", verdict.value)
                    self._answer(401)
                    return
                delivery = headers.get(DELIVERY_HEADER, "")
                with lock:
                    repeat = delivery in receiver.applied
                    if not repeat:
                        receiver.applied[delivery] = json.loads(body)
                if not repeat:
                    doc = receiver.applied[delivery]
                    log.info("demo receiver: %s %s, %d documents", doc.get("kind"),
                             doc.get("period"), len(doc.get("documents") or []))
                self._answer(200)

            def _answer(self, code: int) -> None:
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name="demo-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/push"

    def start(self, conn: Conn) -> None:
        """Listen, and (re)register as the endpoint ``demo-city``: its port is new on each
        run, and a fresh registration receives the recent periods again."""
        self._thread.start()
        push.remove_endpoint(conn, NAME)
        push.add_endpoint(conn, name=NAME, url=self.url, kinds=list(PUSH_KINDS),
                          secret=self.secret, created_by="demo")

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
