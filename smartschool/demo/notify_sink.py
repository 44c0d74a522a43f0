"""The demo's alarm recipients (issue #13): a facility manager per school and a control-room
operator, reached on the webhook channel, and a loopback HTTP receiver standing in for their
phones. It checks each message's signature as the README tells webhook receivers to and
logs who was told what, so a major alarm's dispatch to the school's facility manager, and
its escalation to the district when nobody acknowledges it, show in the demo's output.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from collections import deque
from email.message import Message
from typing import Any, Final

from hub.accounts.auth import create_user
from hub.accounts.contact_rules import Contact
from hub.accounts.contacts import set_contact
from hub.db import Conn
from hub.notify.adapters import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from smartschool.demo.loopback import LoopbackReceiver

log = logging.getLogger(__name__)

MAX_BODY: Final = 1024 * 1024
KEPT: Final = 500
CONTROL_ROOM: Final = "trungtam.dieuhanh"
# Seconds a major alarm waits for an acknowledgement before it goes to the district. The
# hub's default is 15 minutes; the demo shows the escalation within a few.
DEMO_ESCALATE_AFTER_S: Final = "180"


def manager_name(school: str) -> str:
    return f"ql.{school}"


class NotificationSink:
    """A webhook receiver on 127.0.0.1 keeping the last ``KEPT`` messages it accepted."""

    def __init__(self) -> None:
        self.secret = secrets.token_urlsafe(32)
        self.received: deque[dict[str, Any]] = deque(maxlen=KEPT)
        self.refused = 0
        self._server = LoopbackReceiver(path="/notify", name="demo-notifications",
                                        max_body=MAX_BODY, take=self._take)

    def _take(self, headers: Message, body: bytes) -> int:
        expected = sign(self.secret.encode(), headers.get(TIMESTAMP_HEADER, ""), body)
        if not hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, "")):
            self.refused += 1
            log.warning("demo notifications: refused a message with a bad signature")
            return 401
        message = json.loads(body)
        self.received.append(message)
        recipient = message.get("recipient") or {}
        log.info("demo notifications: %s to %s (%s): %s", message.get("kind"),
                 recipient.get("username"), recipient.get("role"),
                 message.get("text") or message.get("subject"))
        return 200

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> None:
        """Listen, and be the district's webhook unless one is configured: the hub reads
        SMARTSCHOOL_NOTIFY_* when it starts, so call this before it."""
        self._server.start()
        if not os.environ.get("SMARTSCHOOL_NOTIFY_WEBHOOK_URL"):
            os.environ["SMARTSCHOOL_NOTIFY_WEBHOOK_URL"] = self.url
            os.environ["SMARTSCHOOL_NOTIFY_WEBHOOK_SECRET"] = self.secret
        os.environ.setdefault("SMARTSCHOOL_NOTIFY_ALARM_ESCALATE_AFTER_S",
                              DEMO_ESCALATE_AFTER_S)

    def stop(self) -> None:
        self._server.stop()


def seed_alarm_recipients(conn: Conn, schools: list[tuple[str, str]]) -> int:
    """A facility manager per school (``ql.<school>``) and a control-room operator, each
    with the webhook channel as their contact (the district's webhook: the sink), made
    once; returns how many accounts were new. Their passwords are random and not shown:
    they exist to be told, the demo's admin signs in."""
    existing = {str(r[0]) for r in conn.execute("select username from users")}
    wanted: list[tuple[str, str, str | None, str | None]] = [
        (manager_name(code), "facility_manager", code, f"Quản lý thiết bị {name}")
        for code, name in schools]
    wanted.append((CONTROL_ROOM, "control_room", None, "Trung tâm điều hành quận"))
    made = 0
    for username, role, school, full_name in wanted:
        if username in existing:
            continue
        create_user(conn, username=username, password=secrets.token_urlsafe(18),
                    role=role, school_id=school, full_name=full_name)  # type: ignore[arg-type]
        set_contact(conn, username, Contact(channel="webhook"))
        made += 1
    conn.commit()
    return made


def start_alarm_recipients(conn: Conn, schools: list[tuple[str, str]]) -> NotificationSink:
    """Seed the recipients and start their receiver (call before the hub starts)."""
    made = seed_alarm_recipients(conn, schools)
    sink = NotificationSink()
    sink.start()
    log.info("demo notifications: %d new recipients; alarms are told to %s", made, sink.url)
    return sink
