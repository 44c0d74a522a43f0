"""Keeping gates in sync with the records: device tokens, the sync document, the school's
sync version, and the publisher that tells gates to fetch.

How it fits together. A gate holds a device token (``smartschool devices token``; the hub
keeps its SHA-256 only) and on the ``sync-gallery`` command fetches
``GET /api/v1/device/sync``: its school's cards and the gallery of persons with active
consent (edge/sync_client.py defines the document and writes the gate's files). The
publisher, a thread of the hub process that serves the API, watches every school's sync
version and publishes ``sync-gallery`` to each gate whose last push is older, so a
consent withdrawn or a card reported lost reaches the gates within seconds, without
anyone touching them.

The sync version. Bumped whenever the school's gallery version moves (enrollment,
deletion, consent withdrawal: hub/records/consent.py bumps it in the same transaction)
or the digest of what the gates hold changes (cards with their holder, status and the
holder's active flag; who is in the gallery). The digest catches changes no code path
bumps for: a card imported as lost, a pupil who left or moved school. Monotonic and
persisted (``school_sync``), so "the gate holds 41, the school is at 43" means behind.

Pushes are published retained: gates connect with a clean session, so one that was off
when the records changed gets the latest ``sync-gallery`` when it reconnects. The
command id makes a repeat free (edge.commands remembers ids), and a restarted agent
syncing once more at boot is what it should do anyway.

Sections: pure rules (tested as tables), then SQL, then the publisher thread.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.reasoncodes import ReasonCode

from core.mqtt import BrokerAddress, make_client
from edge.gate.sync import SyncCard, SyncDocument, SyncFace, encode_encoding
from protocol.messages import CmdPayload, to_json
from protocol.topics import Channel, Topic

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]

TOKEN_BYTES: Final = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
MAX_TOKEN_LEN: Final = 256  # a longer bearer value is not ours; refuse before hashing
SYNC_COMMAND: Final = "sync-gallery"

POLL_S: Final = 3.0  # how often the publisher compares versions: a change reaches gates
RETRY_FAILED_S: Final = 120.0  # a gate that answered ok=false is asked again after this
PUBLISH_TIMEOUT_S: Final = 5.0  # waiting for the broker's PUBACK of one push
BACKOFF_MAX_S: Final = 30.0
STANDBY_RETRY_S: Final = 5.0
# One publisher per database (several hub processes with an API would push everything
# twice): a session advisory lock makes one the leader and the others hot standbys.
PUBLISHER_LOCK_ID: Final = 0x5C5C_0008
# Serialises read-compare-bump of the school_sync rows between the publisher and the API.
VERSION_LOCK_ID: Final = 0x5C5C_0108


# --- tokens (pure) -----------------------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What the hub stores: SHA-256, hex. The token carries 256 random bits, so a plain
    hash is enough (no salt or slow KDF: nothing to guess, nothing to look up)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    if stored_hash is None:
        return False
    return hmac.compare_digest(hash_token(token), stored_hash)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > MAX_TOKEN_LEN:
        return None
    if not value.isascii() or not value.isprintable() or " " in value:
        return None
    return value


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    school: str
    role: str


def access_refusal(device: Device) -> str | None:
    """Why a device with a valid token still may not sync, or None."""
    if device.role != "gate":
        return (f"device {device.id} is a {device.role} device; only gates receive cards "
                "and faces")
    return None


# --- the sync version (pure) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchoolState:
    """What a gate's lists are made of, as the hub observed it."""

    gallery_version: int
    digest: str


@dataclass(frozen=True, slots=True)
class SyncVersion:
    version: int
    state: SchoolState


def advance(stored: SyncVersion | None, observed: SchoolState) -> SyncVersion | None:
    """The new version when ``observed`` differs from what ``stored`` labels, else None."""
    if stored is None:
        return SyncVersion(1, observed)
    if stored.state == observed:
        return None
    return SyncVersion(stored.version + 1, observed)


# --- the document (pure) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardRow:
    uid: str
    person: str
    status: str
    staff: bool
    active: bool  # the holder is still at the school


@dataclass(frozen=True, slots=True)
class ConsentRow:
    person: str
    id: int
    role: str
    given_at: datetime


def sync_card(row: CardRow) -> SyncCard:
    # A holder who left keeps an "active" card in the records until someone collects
    # it; the gate must not open for it, and a denial still names whose card it was.
    status = row.status if row.active or row.status != "active" else "blocked"
    return SyncCard.model_validate({"uid": row.uid, "person": row.person, "status": status,
                                    "kind": "staff" if row.staff else "student"})


def consent_reference(consents: Sequence[ConsentRow]) -> str:
    """Which recorded consents a gallery entry rests on: ids, roles, dates. No names: the
    gate needs the reference, not the guardian's personal data."""
    return "hub consents " + ", ".join(
        f"#{c.id} ({c.role}, {c.given_at.date().isoformat()})" for c in consents)


def sync_faces(encodings: Iterable[tuple[str, bytes]],
               consents: Iterable[ConsentRow]) -> list[SyncFace]:
    """Gallery entries of persons with at least one active consent, in person order.

    ``encodings`` are (person, 512 bytes of little-endian float32) as stored; withdrawal
    deletes them, so a person without consent should have none, and is skipped anyway.
    """
    by_person: dict[str, list[ConsentRow]] = {}
    for consent in consents:
        by_person.setdefault(consent.person, []).append(consent)
    grouped: dict[str, list[str]] = {}
    for person, data in encodings:
        if person in by_person:
            grouped.setdefault(person, []).append(encode_encoding(bytes(data)))
    return [SyncFace.model_validate({"person": person, "encodings": values,
                                     "consent": consent_reference(by_person[person])})
            for person, values in sorted(grouped.items())]


def sync_document(device: Device, *, version: int, at: datetime, cards: Iterable[CardRow],
                  faces: list[SyncFace] | None) -> SyncDocument:
    return SyncDocument(school=device.school, device=device.id, version=version,
                        generated_at=at, cards=[sync_card(c) for c in cards], gallery=faces)


# --- pushes (pure) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GateTarget:
    device: str
    school: str
    pushed_version: int | None  # None: never pushed
    pushed_at: datetime | None
    failed: bool  # the gate answered the last push with ok=false


@dataclass(frozen=True, slots=True)
class Push:
    device: str
    school: str
    version: int


def due_pushes(targets: Iterable[GateTarget], versions: Mapping[str, int], *, now: datetime,
               retry_after: timedelta) -> list[Push]:
    """Gates to tell: their last push is of another version, or failed long enough ago."""
    due = []
    for target in targets:
        version = versions.get(target.school)
        if version is None:
            continue
        retry = (target.failed and target.pushed_at is not None
                 and now - target.pushed_at >= retry_after)
        if target.pushed_version != version or retry:
            due.append(Push(target.device, target.school, version))
    return due


def sync_command(push: Push, *, seq: int, at: datetime, cmd_id: uuid.UUID) -> CmdPayload:
    return CmdPayload(v=1, type="cmd", device=push.device, seq=seq, ts=at, id=cmd_id,
                      name=SYNC_COMMAND, args={"version": push.version})


# --- SQL --------------------------------------------------------------------------------


def issue_token(conn: Conn, device: str) -> tuple[str, Device] | str:
    """A new token for a gate, its hash stored (the old one stops working): (token,
    device), or the reason it was refused."""
    with conn.transaction():
        row = conn.execute("select id, school_id, role from devices where id = %s for update",
                           (device,)).fetchone()
        if row is None:
            return f"no device {device!r} (register it with `smartschool devices add`)"
        found = Device(str(row[0]), str(row[1]), str(row[2]))
        refusal = access_refusal(found)
        if refusal is not None:
            return refusal
        token = new_token()
        conn.execute("update devices set token_hash = %s, token_issued_at = now() where id = %s",
                     (hash_token(token), device))
    return token, found


def device_for_token(conn: Conn, token: str) -> Device | None:
    row = conn.execute("select id, school_id, role, token_hash from devices"
                       " where token_hash = %s", (hash_token(token),)).fetchone()
    if row is None or not token_matches(token, row[3]):
        return None
    return Device(str(row[0]), str(row[1]), str(row[2]))


# One line per card and per gallery member, digested per school. The lines hold every
# input of sync_card and sync_faces' membership, so any change of them changes the digest.
_OBSERVE = """
with card_lines as (
    select st.school_id, concat_ws(':', c.uid, st.code, c.status, 'student', st.active) line
    from cards c join students st on st.id = c.student_id
    where %(school)s::text is null or st.school_id = %(school)s
    union all
    select sf.school_id, concat_ws(':', c.uid, sf.code, c.status, 'staff', sf.active)
    from cards c join staff sf on sf.id = c.staff_id
    where %(school)s::text is null or sf.school_id = %(school)s
), face_lines as (
    select st.school_id, concat_ws(':', st.code, e.id) line
    from face_enrollments e join students st on st.id = e.student_id
    where st.active and (%(school)s::text is null or st.school_id = %(school)s)
      and exists (select 1 from consents k where k.student_id = st.id
                  and k.purpose = 'face' and k.withdrawn_at is null)
    union all
    select sf.school_id, concat_ws(':', sf.code, e.id)
    from face_enrollments e join staff sf on sf.id = e.staff_id
    where sf.active and (%(school)s::text is null or sf.school_id = %(school)s)
      and exists (select 1 from consents k where k.staff_id = sf.id
                  and k.purpose = 'face' and k.withdrawn_at is null)
), card_digests as (
    select school_id, md5(string_agg(line, ',' order by line)) digest
    from card_lines group by school_id
), face_digests as (
    select school_id, md5(string_agg(line, ',' order by line)) digest
    from face_lines group by school_id
)
select s.id, coalesce(g.version, 0), md5(coalesce(c.digest, '') || '/' || coalesce(f.digest, ''))
from schools s
left join gallery_versions g on g.school_id = s.id
left join card_digests c on c.school_id = s.id
left join face_digests f on f.school_id = s.id
where %(school)s::text is null or s.id = %(school)s
"""


def observe(conn: Conn, school: str | None = None) -> dict[str, SchoolState]:
    return {str(s): SchoolState(int(v), str(d))
            for s, v, d in conn.execute(_OBSERVE, {"school": school})}


def sync_versions(conn: Conn, school: str | None = None) -> dict[str, int]:
    """Every school's (or one school's) current sync version, bumped where it moved."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (VERSION_LOCK_ID,))
        observed = observe(conn, school)
        stored = {
            str(s): SyncVersion(int(v), SchoolState(int(g), str(d)))
            for s, v, g, d in conn.execute(
                "select school_id, version, gallery_version, digest from school_sync"
                " where %(school)s::text is null or school_id = %(school)s",
                {"school": school})
        }
        versions: dict[str, int] = {}
        changed: list[tuple[str, SyncVersion]] = []
        for name, state in observed.items():
            bumped = advance(stored.get(name), state)
            if bumped is not None:
                changed.append((name, bumped))
            versions[name] = (bumped or stored[name]).version
        if changed:
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into school_sync (school_id, version, gallery_version, digest)"
                    " values (%s, %s, %s, %s) on conflict (school_id) do update set"
                    " version = excluded.version, gallery_version = excluded.gallery_version,"
                    " digest = excluded.digest, changed_at = now()",
                    [(name, v.version, v.state.gallery_version, v.state.digest)
                     for name, v in changed],
                )
    return versions


def school_cards(conn: Conn, school: str) -> list[CardRow]:
    rows = conn.execute(
        "select c.uid, st.code, c.status, false, st.active from cards c"
        " join students st on st.id = c.student_id where st.school_id = %(school)s"
        " union all"
        " select c.uid, sf.code, c.status, true, sf.active from cards c"
        " join staff sf on sf.id = c.staff_id where sf.school_id = %(school)s"
        " order by 1",
        {"school": school},
    ).fetchall()
    return [CardRow(str(u), str(p), str(s), bool(f), bool(a)) for u, p, s, f, a in rows]


def school_faces(conn: Conn, school: str) -> list[SyncFace]:
    """As hub.records.faces.school_gallery reads them, for active persons with consent."""
    encodings = conn.execute(
        "select coalesce(st.code, sf.code), e.encoding from face_enrollments e"
        " left join students st on st.id = e.student_id"
        " left join staff sf on sf.id = e.staff_id"
        " where coalesce(st.school_id, sf.school_id) = %s and coalesce(st.active, sf.active)"
        " order by 1, e.id",
        (school,),
    ).fetchall()
    consents = conn.execute(
        "select coalesce(st.code, sf.code), k.id, k.given_by_role, k.given_at from consents k"
        " left join students st on st.id = k.student_id"
        " left join staff sf on sf.id = k.staff_id"
        " where k.purpose = 'face' and k.withdrawn_at is null"
        " and coalesce(st.school_id, sf.school_id) = %s order by 1, k.given_at, k.id",
        (school,),
    ).fetchall()
    return sync_faces(((str(p), bytes(e)) for p, e in encodings),
                      (ConsentRow(str(p), int(i), str(r), g) for p, i, r, g in consents))


def build_sync(conn: Conn, device: Device, *, at: datetime, gallery: bool) -> SyncDocument:
    """The document for ``device``. The version is read first, so the content is at least
    as new as the version says; a change in between bumps it again at the next check
    and the gate is told once more (a spare fetch, never a missed change)."""
    version = sync_versions(conn, device.school).get(device.school, 0)
    faces = school_faces(conn, device.school) if gallery else None
    return sync_document(device, version=version, at=at,
                         cards=school_cards(conn, device.school), faces=faces)


def gate_targets(conn: Conn) -> list[GateTarget]:
    rows = conn.execute(
        "select d.id, d.school_id, p.version, p.pushed_at,"
        " exists (select 1 from device_replies r where r.device_id = d.id"
        "   and r.cmd_id = p.cmd_id and not r.ok)"
        " from devices d left join device_sync_pushes p on p.device_id = d.id"
        " where d.role = 'gate' order by d.id"
    ).fetchall()
    return [GateTarget(str(d), str(s), None if v is None else int(v), at, bool(failed))
            for d, s, v, at, failed in rows]


def next_cmd_seq(conn: Conn) -> int:
    row = conn.execute("select nextval('device_cmd_seq')").fetchone()
    assert row is not None
    return int(row[0])


def record_push(conn: Conn, push: Push, cmd_id: uuid.UUID) -> None:
    conn.execute(
        "insert into device_sync_pushes (device_id, version, cmd_id) values (%s, %s, %s)"
        " on conflict (device_id) do update set version = excluded.version,"
        " cmd_id = excluded.cmd_id, pushed_at = now()",
        (push.device, push.version, cmd_id),
    )


# --- the publisher ----------------------------------------------------------------------


class SyncPublisher:
    """A thread of the hub process serving the API: every ``poll_s`` it brings the sync
    versions up to date and publishes ``sync-gallery`` to every gate that is behind.

    A push counts once the broker acknowledged it (QoS 1 PUBACK); with the broker down
    nothing is recorded and the next cycle tries again.
    """

    def __init__(
        self,
        database_url: str,
        *,
        mqtt_url: str,
        client_id: str,
        zone: ZoneInfo,
        username: str | None = None,
        password: str | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.database_url = database_url
        self.address = BrokerAddress.parse(mqtt_url)
        self.client_id = client_id
        self.zone = zone
        self.username, self.password = username, password
        self.poll_s = poll_s
        self.pushes = 0
        self.errors = 0
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sync-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    # -- MQTT ------------------------------------------------------------------------

    def _mqtt(self) -> mqtt.Client:
        if self._client is None:
            client = make_client(self.address, self.client_id, username=self.username,
                                 password=self.password)

            def on_connect(_c: object, _u: object, _f: object, reason: ReasonCode,
                           _p: object) -> None:
                if reason.is_failure:
                    log.warning("sync publisher: broker refused the connection: %s", reason)
                else:
                    self._connected.set()

            def on_disconnect(*_args: object) -> None:
                self._connected.clear()

            client.on_connect = on_connect
            client.on_disconnect = on_disconnect
            client.connect_async(self.address.host, self.address.port, keepalive=30)
            client.loop_start()
            self._client = client
        return self._client

    def _publish(self, client: mqtt.Client, command: CmdPayload, school: str) -> bool:
        topic = str(Topic(school, command.device, Channel.CMD))
        try:
            info = client.publish(topic, to_json(command), qos=1, retain=True)
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:  # paho: not connected, queue full
            log.warning("sync publisher: cannot publish to %s: %s", topic, exc)
            return False
        return info.is_published()

    # -- the loop ----------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.database_url, autocommit=True,
                                     application_name="smartschool-sync") as conn:
                    if not self._lead(conn):
                        continue
                    backoff = 0.5
                    while not self._stop.is_set():
                        self.run_once(conn)
                        self._stop.wait(self.poll_s)
            except Exception:
                # A database outage or a bug must not end the gates' syncing for good.
                self.errors += 1
                log.warning("sync publisher failed; retrying in %.1fs", backoff, exc_info=True)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _lead(self, conn: Conn) -> bool:
        """Wait until this process holds the publisher lock (False: asked to stop)."""
        while not self._stop.is_set():
            row = conn.execute("select pg_try_advisory_lock(%s)",
                               (PUBLISHER_LOCK_ID,)).fetchone()
            if row is not None and row[0]:
                return True
            self._stop.wait(STANDBY_RETRY_S)
        return False

    def run_once(self, conn: Conn) -> list[Push]:
        """One check: versions brought up to date, the gates behind told. Returns what
        was pushed (and acknowledged by the broker)."""
        versions = sync_versions(conn)
        due = due_pushes(gate_targets(conn), versions, now=datetime.now(UTC),
                         retry_after=timedelta(seconds=RETRY_FAILED_S))
        if not due:
            return []
        client = self._mqtt()
        if not self._connected.wait(PUBLISH_TIMEOUT_S):
            log.warning("sync publisher: broker %s unreachable; %d gates wait", self.address,
                        len(due))
            return []
        done = []
        for push in due:
            cmd_id = uuid.uuid4()
            command = sync_command(push, seq=next_cmd_seq(conn), at=datetime.now(self.zone),
                                   cmd_id=cmd_id)
            if not self._publish(client, command, push.school):
                break  # the broker is in trouble; the rest waits for the next cycle
            record_push(conn, push, cmd_id)
            log.info("sync-gallery (version %d) pushed to %s", push.version, push.device)
            done.append(push)
        self.pushes += len(done)
        return done
