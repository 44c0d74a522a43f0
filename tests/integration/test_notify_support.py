"""Helpers (no tests) shared by the notification and attendance tests: a recording HTTP
server and a small seeded school."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from hub.ingest import store
from hub.ingest.routing import Incoming, Store, route

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SCHOOL = "thcs-a"
GATE = "gate-a1"
OTHER_GATE = "gate-b1"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordingServer:
    """A real HTTP server on a free loopback port; answers ``fail_status`` to the first
    ``fail_first`` requests, then 200 with ``reply``. Records every request."""

    fail_first: int = 0
    fail_status: int = 500
    reply: dict[str, Any] = field(default_factory=lambda: {"error": 0})
    requests: list[Received] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    server.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                 body))
                    code = server.fail_status if len(server.requests) <= server.fail_first \
                        else 200
                    server.answered.append(code)
                out = json.dumps(server.reply if code == 200 else {"error": "boom"}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    @property
    def delivered(self) -> list[Received]:
        return [r for r, code in zip(self.requests, self.answered, strict=True) if code == 200]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def recording_server(**kw: Any) -> Iterator[RecordingServer]:
    server = RecordingServer(**kw)
    try:
        yield server
    finally:
        server.close()


SEED = f"""
insert into schools (id, name, level, ward, start_time) values
    ('{SCHOOL}', 'THCS A', 'thcs', 'Hải Thành', '07:00'),
    ('th-b', 'Tiểu học B', 'tieu_hoc', 'Hải Thành', '07:00');
insert into classes (school_id, name, grade) values ('{SCHOOL}', '6A1', 6);
insert into students (code, school_id, class_id, full_name, birth_date, gender)
select code, '{SCHOOL}', (select id from classes where name = '6A1'), name, '2014-01-02', g
from (values ('HS001', 'Nguyễn Văn An', 'M'), ('HS002', 'Trần Thị Bình', 'F'),
             ('HS003', 'Lê Văn Cường', 'M'), ('HS004', 'Phạm Thị Dung', 'F')) v(code, name, g);
insert into cards (uid, student_id)
select 'C0' || right(code, 3), id from students;
insert into guardians (student_id, full_name, relation, phone, channel, address)
select id, 'PH ' || code, 'mother', '+84900000' || right(code, 3), ch, addr
from students join (values ('HS001', 'webhook', null), ('HS002', 'zalo', 'zalo-uid-2'),
                           ('HS003', 'sms', null), ('HS004', 'none', null)) v(c, ch, addr)
     on v.c = students.code;
insert into devices (id, school_id, role) values ('{GATE}', '{SCHOOL}', 'gate'),
                                                 ('{OTHER_GATE}', 'th-b', 'gate');
"""


def seed(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED.encode())


def gate_payload(seq: int, card: str, at: datetime, *, direction: str = "in",
                 device: str = GATE, decision: str = "granted", **extra: Any) -> bytes:
    body = {"v": 1, "type": "gate", "device": device, "seq": seq,
            "ts": at.isoformat(timespec="milliseconds"), "direction": direction,
            "method": "card", "card_uid": card, "person": None, "distance": None,
            "decision": decision, "reason": None, **extra}
    return json.dumps(body).encode()


def ingest(url: str, payloads: list[tuple[str, bytes]]) -> None:
    """Through the real store path: routing, COPY, dedup, the rollup. ``(device, payload)``."""
    registry = {GATE: SCHOOL, OTHER_GATE: "th-b"}
    school = {GATE: SCHOOL, OTHER_GATE: "th-b"}
    routed = [route(Incoming(f"ss/v1/{school[d]}/{d}/event", p, datetime.now(UTC)), registry)
              for d, p in payloads]
    stores = [r for r in routed if isinstance(r, Store)]
    assert len(stores) == len(routed), routed
    with psycopg.connect(url) as conn:
        store.prepare(conn)
        store.write_batch(conn, stores, [], tz="Asia/Ho_Chi_Minh")
