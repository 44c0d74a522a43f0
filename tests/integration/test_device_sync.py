"""Gates kept in sync with the records, end to end on real parts: PostgreSQL, Mosquitto,
the hub (ingest, API, publisher) and a gate agent with the real face models.

Nobody touches the gate: the records change through the API, the hub pushes
sync-gallery, the gate fetches with its device token and swaps its lists.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cv2
import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from edge.agent import build_agent
from edge.cards.readers import SimulatedCardReader
from edge.clock import DISTRICT_TZ, ManualClock
from edge.config import AgentConfig
from edge.gate.agent import DEBOUNCE_S, GateAgent
from edge.hardware.feedback import LogFeedback
from edge.hardware.relay import NoopRelay
from faces.gallery import Gallery
from faces.imaging import MAX_SIDE, fit
from faces.keys import KEY_ENV, new_key
from hub.accounts.auth import ensure_admin
from hub.devices.publisher import SyncPublisher
from hub.devices.registry import add_device, upsert_school
from hub.devices.tokens import hash_token, revoke_token
from hub.devices.tokens import issue_token as issue_token_in
from hub.service import Hub
from protocol import CmdPayload
from tests.conftest import FACES, Broker, running_hub, wait_until
from tests.integration.test_edge_link import Subscriber

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

MONDAY_7 = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)
SCHOOL, OTHER = "th-sync", "th-other"
GATE, CLASSROOM = "th-sync-gate-1", "th-sync-class-1"  # GATE is a face gate
CARD_GATE = "th-sync-gate-card"  # registered by the tests that use it


def add_card_gate(url: str) -> None:
    with psycopg.connect(url) as conn:
        add_device(conn, school=SCHOOL, device=CARD_GATE, role="gate")
OLDER, YOUNGER, ELSEWHERE = f"{SCHOOL}-00001", f"{SCHOOL}-00002", f"{OTHER}-00001"
OLDER_CARD, YOUNGER_CARD, OTHER_CARD = "04A1B2C3", "04A1B2C4", "0BADCAFE"
PASSWORD = "sync-admin-pass-123"
# A push every POLL_S (3 s) plus one fetch: a withdrawal must reach the gate well inside
# this, with nobody touching the gate.
REACH_S = 15.0


class IdleCamera:
    """The gate's camera, showing nothing: these tests feed frames to the pipeline."""

    ended = False

    def start(self) -> None: ...

    def latest(self, *, after: int = 0, timeout: float = 1.0) -> None:
        time.sleep(min(timeout, 0.05))

    def close(self) -> None: ...


def seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường Tiểu học Đồng Bộ", level="th_thcs",
                      ward="Hải Thành")
        upsert_school(conn, code=OTHER, name="Trường Tiểu học Khác", level="tieu_hoc",
                      ward="Hòa Nghĩa")
        add_device(conn, school=SCHOOL, device=GATE, role="gate", face=True)
        add_device(conn, school=SCHOOL, device=CLASSROOM, role="classroom")
        with conn.transaction():
            for code, school, born, card in ((OLDER, SCHOOL, "2014-05-01", OLDER_CARD),
                                             (YOUNGER, SCHOOL, "2021-05-01", YOUNGER_CARD),
                                             (ELSEWHERE, OTHER, "2015-05-01", OTHER_CARD)):
                conn.execute(
                    "insert into students (code, school_id, full_name, birth_date, gender)"
                    " values (%s, %s, 'Nguyễn Văn An', %s, 'M')", (code, school, born))
                conn.execute("insert into cards (uid, student_id) select %s, id from students"
                             " where code = %s", (card, code))
        ensure_admin(conn, password=PASSWORD)


@pytest.fixture
def hub(pg_url: str, broker: Broker, tmp_path: Path) -> Iterator[Hub]:
    seed(pg_url)
    with running_hub(pg_url, broker, tmp_path) as service:
        yield service


def base_url(hub: Hub) -> str:
    assert hub.api is not None
    return f"http://127.0.0.1:{hub.api.port}"


def admin(hub: Hub) -> httpx.Client:
    token = httpx.post(f"{base_url(hub)}/api/v1/auth/token",
                       data={"username": "admin", "password": PASSWORD}).json()["access_token"]
    return httpx.Client(base_url=base_url(hub), headers={"Authorization": f"Bearer {token}"},
                        timeout=60)


def run_cli(pg_url: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    from smartschool.cli import app

    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()


def issue_token(pg_url: str, device: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Through the command line, as an operator would."""
    result = run_cli(pg_url, ["devices", "token", device], monkeypatch)
    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[0]
    assert "LoadCredential=device_token" in result.stderr
    return str(token)


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    value = new_key()
    monkeypatch.setenv(KEY_ENV, value.decode())
    return value


def start_gate(hub: Hub, broker: Broker, tmp_path: Path, key: bytes) -> GateAgent:
    cards = tmp_path / "gate" / "cards.yaml"
    gallery = tmp_path / "gate" / "gallery.bin"
    cards.parent.mkdir()
    cards.write_text("{}\n")  # a new gate: empty lists until the first sync
    Gallery().save(gallery, key)
    config = AgentConfig.model_validate({
        "device": GATE, "school": SCHOOL, "role": "gate", "heartbeat_s": 3600,
        "mqtt": {"url": broker.url},
        "outbox": {"path": str(tmp_path / "gate" / "outbox.sqlite3"), "synchronous": "normal"},
        "gate": {
            "mode": "card-or-face", "anti_passback_minutes": 0, "cards_file": str(cards),
            "face": {"gallery_file": str(gallery), "agree": 1, "window": 1},
            "sync": {"hub_url": base_url(hub), "timeout": 30},
        },
    })
    agent = build_agent(config, clock=ManualClock(MONDAY_7), relay=NoopRelay(),
                        card_reader=SimulatedCardReader(), feedback=LogFeedback(),
                        password="", camera=IdleCamera())  # type: ignore[arg-type]
    assert isinstance(agent, GateAgent)
    agent.start()
    assert agent.link.wait_connected(10)
    return agent


def persons(agent: GateAgent) -> list[str]:
    assert agent.pipeline is not None
    return agent.pipeline.gallery.persons


def card_status(agent: GateAgent, uid: str) -> str | None:
    entry = agent._cards.get(uid)
    return entry.status if entry else None


def tap(agent: GateAgent, uid: str) -> tuple[str, str | None]:
    time.sleep(DEBOUNCE_S)  # a card read again within the debounce is the same tap
    outcome = agent.handle_tap(uid)
    assert outcome is not None
    reason = outcome.decision.reason
    return outcome.decision.decision, reason.value if reason else None


def frame(path: Path) -> Any:
    image = cv2.imread(str(path))
    assert image is not None
    return fit(image, MAX_SIDE)


def pushed(pg_url: str) -> tuple[int, uuid.UUID] | None:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("select version, cmd_id from device_sync_pushes where device_id = %s",
                           (GATE,)).fetchone()
        return (int(row[0]), row[1]) if row else None


def reply_to(pg_url: str, cmd_id: uuid.UUID) -> tuple[bool, Any] | None:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("select ok, detail from device_replies where cmd_id = %s",
                           (cmd_id,)).fetchone()
        return (bool(row[0]), row[1]) if row else None


def mark_card(client: httpx.Client, uid: str, holder: str, status: str) -> None:
    """Through the records import, the way a school reports a lost card."""
    csv = f"STT,UID,Mã học sinh,Mã cán bộ,Trạng thái\n1,{uid},{holder},,{status}\n"
    r = client.post("/api/v1/records/import", files={"file": ("cards.csv", csv.encode())},
                    data={"school": SCHOOL, "kind": "cards"})
    assert r.status_code == 200 and r.json()["updated"] == 1, r.text


def test_records_reach_the_gate_without_anyone_touching_it(
    hub: Hub, broker: Broker, pg_url: str, tmp_path: Path, key: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMARTSCHOOL_DEVICE_TOKEN", issue_token(pg_url, GATE, monkeypatch))
    agent = start_gate(hub, broker, tmp_path, key)
    client = admin(hub)
    try:
        # The first push: the school's cards (not the other school's), nobody enrolled.
        wait_until(lambda: card_status(agent, YOUNGER_CARD) == "active", REACH_S,
                   "the first sync")
        assert sorted(agent._cards) == [OLDER_CARD, YOUNGER_CARD]
        assert persons(agent) == []
        assert tap(agent, YOUNGER_CARD) == ("granted", None)

        # (a) consent (guardian and, aged over 7, the pupil) and enrollment by photo
        for role in ("guardian", "self"):
            r = client.post(f"/api/v1/students/{OLDER}/consents",
                            json={"given_by": "Trần Văn Hùng", "role": role,
                                  "method": "paper form 2025-031"})
            assert r.status_code == 201, r.text
        photo = FACES / "train" / "obama" / "obama.jpg"
        r = client.post(f"/api/v1/students/{OLDER}/face",
                        files=[("photos", (photo.name, photo.read_bytes(), "image/jpeg"))])
        assert r.status_code == 201, r.text
        wait_until(lambda: persons(agent) == [OLDER], REACH_S, "the enrollment at the gate")
        assert agent.pipeline is not None
        entry = agent.pipeline.gallery.entry(OLDER)
        assert entry is not None and entry.consent.startswith("hub consents #")
        # The gate recognises the pupil from another photo, with the hub's encodings.
        matches = agent.pipeline.process(frame(FACES / "test" / "obama1.jpg"))
        subject = agent.pipeline.subject(matches)
        assert subject is not None and subject.person == OLDER
        # On disk: encrypted with the gate's own key, never in clear.
        gallery_file = tmp_path / "gate" / "gallery.bin"
        assert b"SSGAL1" not in gallery_file.read_bytes()
        assert Gallery.load(gallery_file, key).persons == [OLDER]

        # (b) withdrawal through the API: gone from the gate within a bounded time.
        started = time.monotonic()
        r = client.post(f"/api/v1/students/{OLDER}/consents/withdraw")
        assert r.status_code == 200 and r.json()["encodings_deleted"] == 1, r.text
        wait_until(lambda: persons(agent) == [], REACH_S, "the withdrawal at the gate")
        assert time.monotonic() - started < REACH_S
        assert Gallery.load(gallery_file, key).persons == []
        matches = agent.pipeline.process(frame(FACES / "test" / "obama1.jpg"))
        subject = agent.pipeline.subject(matches)
        assert subject is not None and subject.person is None  # a stranger now

        # (c) a card reported lost stops opening the gate after the push.
        mark_card(client, YOUNGER_CARD, YOUNGER, "Mất")
        wait_until(lambda: card_status(agent, YOUNGER_CARD) == "lost", REACH_S,
                   "the lost card at the gate")
        assert tap(agent, YOUNGER_CARD) == ("denied", "card-lost")
        assert tap(agent, OLDER_CARD) == ("granted", None)  # cards still open without a face

        # Every push so far was answered ok, with the version the gate fetched.
        assert agent.link.wait_drained(10)
        last = pushed(pg_url)
        assert last is not None
        answer = wait_until(lambda: reply_to(pg_url, last[1]), 10, "the gate's reply")
        assert answer[0] is True and answer[1]["version"] == last[0]

        # (d) a wrong token: 401, the gate keeps its lists and answers ok=false.
        cards_before = (tmp_path / "gate" / "cards.yaml").read_bytes()
        gallery_before = gallery_file.read_bytes()
        monkeypatch.setenv("SMARTSCHOOL_DEVICE_TOKEN", "not-" + "x" * 40)
        mark_card(client, YOUNGER_CARD, YOUNGER, "Hoạt động")  # found again: a new push
        wait_until(lambda: (p := pushed(pg_url)) is not None and p[0] > last[0], REACH_S,
                   "the next push")
        failed = pushed(pg_url)
        assert failed is not None
        answer = wait_until(lambda: reply_to(pg_url, failed[1]), REACH_S, "the refusal")
        assert answer[0] is False
        assert "401" in answer[1] and "unknown device token" in answer[1]
        assert card_status(agent, YOUNGER_CARD) == "lost"
        assert (tmp_path / "gate" / "cards.yaml").read_bytes() == cards_before
        assert gallery_file.read_bytes() == gallery_before
        assert tap(agent, YOUNGER_CARD) == ("denied", "card-lost")
    finally:
        client.close()
        agent.stop()


def test_the_sync_api_admits_gate_tokens_only(hub: Hub, pg_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    token = issue_token(pg_url, GATE, monkeypatch)
    url = f"{base_url(hub)}/api/v1/device/sync"
    r = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, params={"gallery": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["school"], body["device"], body["gallery"]) == (SCHOOL, GATE, None)
    assert body["version"] >= 1
    assert [c["uid"] for c in body["cards"]] == [OLDER_CARD, YOUNGER_CARD]

    # A second token revokes the first.
    newer = issue_token(pg_url, GATE, monkeypatch)
    assert httpx.get(url, headers={"Authorization": f"Bearer {newer}"}).status_code == 200
    refused = {
        "no header": {},
        "old token": {"Authorization": f"Bearer {token}"},
        "not bearer": {"Authorization": f"Basic {newer}"},
        "a user's JWT": {"Authorization": admin(hub).headers["Authorization"]},
    }
    for what, headers in refused.items():
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401, what
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert r.json()["detail"], what

    # A classroom device never gets cards or faces, even holding a valid token.
    result = run_cli(pg_url, ["devices", "token", CLASSROOM], monkeypatch)
    assert result.exit_code == 2 and "only gates" in result.output
    with psycopg.connect(pg_url) as conn:
        conn.execute("update devices set token_hash = %s,"
                     " token_expires_at = now() + interval '1 day' where id = %s",
                     (hash_token("classroom-" + "x" * 40), CLASSROOM))
    r = httpx.get(url, headers={"Authorization": f"Bearer classroom-{'x' * 40}"})
    assert r.status_code == 403 and "only gates" in r.json()["detail"]
    with psycopg.connect(pg_url) as conn:
        stored = conn.execute("select token_hash from devices where id = %s",
                              (GATE,)).fetchone()
    assert stored == (hash_token(newer),)  # the hub keeps the hash, never the token


def test_a_restarted_hub_resends_nothing_but_pushes_what_changed_meanwhile(
    pg_url: str, broker: Broker,
) -> None:
    seed(pg_url)
    tz = ZoneInfo("Asia/Ho_Chi_Minh")

    def publisher() -> SyncPublisher:
        return SyncPublisher(pg_url, mqtt_url=broker.url, client_id=f"sync-{uuid.uuid4().hex[:6]}",
                             tz=tz)

    first = publisher()
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            assert [(p.device, p.version) for p in first.run_once(conn)] == [(GATE, 1)]
            assert first.run_once(conn) == []  # nothing changed: nothing sent
    finally:
        first.stop()

    restarted = publisher()
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            assert restarted.run_once(conn) == []  # a restart resends nothing
    finally:
        restarted.stop()

    # While the hub is down: a card is reported lost, and a second gate is installed.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("update cards set status = 'lost' where uid = %s", (OLDER_CARD,))
        add_device(conn, school=SCHOOL, device=f"{SCHOOL}-gate-2", role="gate")
        add_device(conn, school=OTHER, device=f"{OTHER}-gate-1", role="gate")
    again = publisher()
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            got = sorted((p.device, p.version) for p in again.run_once(conn))
            assert got == [(f"{OTHER}-gate-1", 1), (GATE, 2), (f"{SCHOOL}-gate-2", 2)]
            assert again.run_once(conn) == []
    finally:
        again.stop()

    # Retained: a gate that connects later still finds its newest sync-gallery.
    late = Subscriber(broker, f"late-{uuid.uuid4().hex[:6]}")
    try:
        commands = wait_until(lambda: late.of(CmdPayload, GATE), 10, "the retained command")
        assert [(c.name, c.args) for c in commands] == [("sync-gallery", {"version": 2})]
    finally:
        late.close()


def test_one_publisher_leads_and_the_other_stands_by(pg_url: str, broker: Broker) -> None:
    seed(pg_url)
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    leader = SyncPublisher(pg_url, mqtt_url=broker.url, client_id="sync-a", tz=tz,
                           poll_s=0.2)
    standby = SyncPublisher(pg_url, mqtt_url=broker.url, client_id="sync-b", tz=tz,
                            poll_s=0.2)
    leader.start()
    try:
        wait_until(lambda: leader.pushes == 1, 15, "the leader's push")
        standby.start()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("update cards set status = 'blocked' where uid = %s", (OLDER_CARD,))
        wait_until(lambda: leader.pushes == 2, 15, "the leader's second push")
        time.sleep(1.0)
        assert standby.pushes == 0
    finally:
        standby.stop()
        leader.stop()


def test_a_card_only_gates_token_never_opens_the_gallery(
        hub: Hub, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"{base_url(hub)}/api/v1/device/sync"
    add_card_gate(pg_url)
    card_token = issue_token(pg_url, CARD_GATE, monkeypatch)
    face_token = issue_token(pg_url, GATE, monkeypatch)
    card = {"Authorization": f"Bearer {card_token}"}
    face = {"Authorization": f"Bearer {face_token}"}

    r = httpx.get(url, headers=card, params={"gallery": False})
    assert r.status_code == 200, r.text
    assert r.json()["gallery"] is None
    assert [c["uid"] for c in r.json()["cards"]] == [OLDER_CARD, YOUNGER_CARD]
    for params in ({"gallery": True}, {}):  # asking for faces, or not saying
        r = httpx.get(url, headers=card, params=params)
        assert r.status_code == 403, r.text
        assert "card-only gate" in r.json()["detail"]
        assert "encodings" not in r.text.replace("face encodings", "")

    r = httpx.get(url, headers=face, params={"gallery": True})
    assert r.status_code == 200, r.text
    assert r.json()["gallery"] is not None

    with psycopg.connect(pg_url) as conn:
        caps = dict(conn.execute("select id, token_capabilities from devices"
                                 " where token_hash is not null").fetchall())
        # the token is issued for its lifetime (SMARTSCHOOL_DEVICE_TOKEN_DAYS, 365)
        days = conn.execute("select extract(day from token_expires_at - token_issued_at)"
                            " from devices where id = %s", (GATE,)).fetchone()
    assert caps == {CARD_GATE: ["cards"], GATE: ["cards", "faces"]}
    assert days is not None and int(days[0]) == 365

    # Made card-only, the face gate's token stops opening the gallery at once.
    with psycopg.connect(pg_url) as conn:
        add_device(conn, school=SCHOOL, device=GATE, role="gate", face=False)
    assert httpx.get(url, headers=face, params={"gallery": True}).status_code == 403
    assert httpx.get(url, headers=face, params={"gallery": False}).status_code == 200
    # Made a face gate again, a card-only token does not gain faces without a new one.
    with psycopg.connect(pg_url) as conn:
        add_device(conn, school=SCHOOL, device=GATE, role="gate", face=True)
        add_device(conn, school=SCHOOL, device=CARD_GATE, role="gate", face=True)
    r = httpx.get(url, headers=card, params={"gallery": True})
    assert r.status_code == 403 and "not issued for faces" in r.json()["detail"]


def test_expired_and_revoked_tokens_are_refused(
        hub: Hub, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"{base_url(hub)}/api/v1/device/sync"
    add_card_gate(pg_url)
    with psycopg.connect(pg_url) as conn:
        issued = issue_token_in(conn, CARD_GATE, days=1)
        assert not isinstance(issued, str)
        card = {"Authorization": f"Bearer {issued[0]}"}
        assert httpx.get(url, headers=card, params={"gallery": False}).status_code == 200
        conn.execute("update devices set token_expires_at = now() - interval '1 second'"
                     " where id = %s", (CARD_GATE,))
        conn.commit()
        r = httpx.get(url, headers=card, params={"gallery": False})
        assert r.status_code == 401 and "expired" in r.json()["detail"]
        assert r.headers["WWW-Authenticate"] == "Bearer"

        face_token = issue_token(pg_url, GATE, monkeypatch)
        face = {"Authorization": f"Bearer {face_token}"}
        assert httpx.get(url, headers=face).status_code == 200
        assert revoke_token(conn, GATE) is True
        assert revoke_token(conn, GATE) is False  # nothing live left to revoke
        assert revoke_token(conn, CLASSROOM) is False  # never had a token
        r = httpx.get(url, headers=face)
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
    # Issuing again is the way back.
    again = issue_token(pg_url, GATE, monkeypatch)
    assert httpx.get(url, headers={"Authorization": f"Bearer {again}"}).status_code == 200
    assert httpx.get(url, headers=face).status_code == 401
