"""The demo's message recipients: a facility manager per school and a control-room operator
(alarms, issue #13) and each class's homeroom teacher ("in school, not in class", issue 14),
reached on the webhook channel, and a loopback HTTP receiver standing in for their phones.
It checks each message's signature as the README tells webhook receivers to and logs who
was told what, so a major alarm's dispatch to the school's facility manager, its
escalation to the district when nobody acknowledges it, and a teacher's notice of a pupil
missing from a lesson show in the demo's output.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
import unicodedata
from collections import Counter, deque
from email.message import Message
from typing import Any, Final

from hub.accounts.auth import create_user
from hub.accounts.contact_rules import Contact
from hub.accounts.contacts import set_contact
from hub.accounts.rules import valid_username
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
# The teachers' password hash: not an argon2 hash, so no password ever matches it. They
# exist to be told; hashing a random password for each of a district's ~450 classes would
# add a minute to the demo's start.
NO_PASSWORD: Final = "!demo"  # noqa: S105 - a marker, not a secret


def manager_name(school: str) -> str:
    return f"ql.{school}"


def teacher_name(school: str, class_name: str, class_id: int) -> str:
    """``gv.<school>.<class in ASCII>`` ('Lớp Chồi 1' -> 'lop-choi-1'); ``gv.<class id>``
    if that is no valid username."""
    folded = unicodedata.normalize("NFKD", class_name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in folded if c.isascii()).lower()
    name = f"gv.{school}.{re.sub(r'[^a-z0-9]+', '-', plain).strip('-')}"
    return name if valid_username(name) and not name.endswith(".") else f"gv.{class_id}"


class NotificationSink:
    """A webhook receiver on 127.0.0.1 keeping the last ``KEPT`` messages it accepted."""

    def __init__(self) -> None:
        self.secret = secrets.token_urlsafe(32)
        self.received: deque[dict[str, Any]] = deque(maxlen=KEPT)
        self.counts: Counter[str] = Counter()  # accepted messages by kind, all of them
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
        self.counts[str(message.get("kind"))] += 1
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


def seed_teacher_recipients(conn: Conn, schools: list[str]) -> int:
    """A teacher account for each class of ``schools`` that has none (its homeroom teacher
    from the records, named by ``teacher_name``), made the class's teacher and reached on
    the webhook channel (the sink), so the notifier's "in school, not in class" notices go
    somewhere; returns how many accounts were new. Call after the district is seeded; a
    rerun changes nothing."""
    classes = conn.execute(
        "select id, school_id, name from classes"
        " where school_id = any(%s) and teacher_username is null order by id",
        (schools,)).fetchall()
    ids = [int(c[0]) for c in classes]
    names = [teacher_name(str(school), str(name), int(cid)) for cid, school, name in classes]
    with conn.transaction():
        made = conn.execute(
            """
            with made as (
                insert into users (username, password_hash, role, school_id, full_name,
                                   notify_channel)
                select w.username, %s, 'teacher', c.school_id, c.homeroom_teacher, 'webhook'
                from unnest(%s::bigint[], %s::text[]) as w(class_id, username)
                join classes c on c.id = w.class_id
                on conflict (username) do nothing
                returning 1)
            select count(*) from made
            """, (NO_PASSWORD, ids, names)).fetchone()
        # Only an account that may teach the class (hub/accounts/rules.py teacher_problem):
        # a name taken by someone else's account is left alone.
        conn.execute(
            """
            update classes c set teacher_username = w.username
            from unnest(%s::bigint[], %s::text[]) as w(class_id, username)
            join users u on u.username = w.username
            where c.id = w.class_id and c.teacher_username is null
              and u.role = 'teacher' and u.school_id = c.school_id and not u.disabled
            """, (ids, names))
    conn.commit()
    return int(made[0]) if made else 0


def start_alarm_recipients(conn: Conn, schools: list[tuple[str, str]]) -> NotificationSink:
    """Seed the recipients (alarms' and the homeroom teachers') and start their receiver
    (call before the hub starts, after the district is seeded)."""
    made = seed_alarm_recipients(conn, schools)
    teachers = seed_teacher_recipients(conn, [code for code, _ in schools])
    sink = NotificationSink()
    sink.start()
    log.info("demo notifications: %d new recipients and %d homeroom teachers; alarms and"
             " not-in-class notices are told to %s", made, teachers, sink.url)
    return sink
