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
from email.message import Message
from typing import Any, Final

from hub.db import Conn
from hub.exchange import push
from hub.exchange.push_documents import PUSH_KINDS
from hub.exchange.push_signing import DELIVERY_HEADER, Verdict, verify
from smartschool.demo.loopback import LoopbackReceiver

log = logging.getLogger(__name__)

NAME: Final = "demo-city"
MAX_BODY: Final = 10 * 1024 * 1024


class DemoReceiver:
    def __init__(self) -> None:
        self.secret = push.new_secret()
        self.applied: dict[str, dict[str, Any]] = {}  # delivery id -> envelope
        self.refused = 0
        self._lock = threading.Lock()
        self._server = LoopbackReceiver(path="/push", name="demo-receiver",
                                        max_body=MAX_BODY, take=self._take)

    def _take(self, headers: Message, body: bytes) -> int:
        verdict = verify(self.secret, dict(headers.items()), body, now=time.time())
        if verdict is not Verdict.OK:
            with self._lock:
                self.refused += 1
            log.warning("demo receiver: refused a push (%s)", verdict.value)
            return 401
        delivery = headers.get(DELIVERY_HEADER, "")
        with self._lock:
            repeat = delivery in self.applied
            if not repeat:
                self.applied[delivery] = json.loads(body)
        if not repeat:
            doc = self.applied[delivery]
            log.info("demo receiver: %s %s, %d documents", doc.get("kind"),
                     doc.get("period"), len(doc.get("documents") or []))
        return 200

    @property
    def url(self) -> str:
        return self._server.url

    def start(self, conn: Conn) -> None:
        """Listen, and (re)register as the endpoint ``demo-city``: its port is new on each
        run, and a fresh registration receives the recent periods again."""
        self._server.start()
        push.remove_endpoint(conn, NAME)
        push.add_endpoint(conn, name=NAME, url=self.url, kinds=list(PUSH_KINDS),
                          secret=self.secret, created_by="demo")

    def stop(self) -> None:
        self._server.stop()
