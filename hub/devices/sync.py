"""The sync document a gate fetches and the school's sync version that says when to fetch.

How gates follow the records. A gate holds a device token (hub.devices.tokens) and on the
``sync-gallery`` command fetches ``GET /api/v1/device/sync``: its school's cards and the
gallery of persons with active consent (protocol.sync defines the document; edge.gate.sync
writes the gate's files). The publisher (hub.devices.publisher) watches every school's
sync version and tells each gate that is behind to fetch, so a consent withdrawn or a card
reported lost reaches the gates within seconds, without anyone touching them.

The sync version. Bumped whenever the school's gallery version moves (enrollment,
deletion, consent withdrawal: hub/records/consent.py bumps it in the same transaction)
or the digest of what the gates hold changes (cards with their holder, status and the
holder's active flag; who is in the gallery). The digest catches changes no code path
bumps for: a card imported as lost, a pupil who left or moved school. Monotonic and
persisted (``school_sync``), so "the gate holds 41, the school is at 43" means behind.

Sections: pure rules (tested as tables), then SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hub.db import Conn
from hub.devices.tokens import Device
from protocol.sync import SyncCard, SyncDocument, SyncFace, encode_encoding

# Serialises read-compare-bump of the school_sync rows between the publisher and the API.
VERSION_LOCK_ID: Final = 0x5C5C_0108


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


# --- SQL --------------------------------------------------------------------------------


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
    """The document for ``device`` (the gallery only for a face gate). The version is
    read first, so the content is at least as new as the version says; a change in
    between bumps it again at the next check and the gate is told once more (a spare
    fetch, never a missed change)."""
    version = sync_versions(conn, device.school).get(device.school, 0)
    # Checked here too, not only by the route: a card-only gate's document never holds
    # encodings, whoever builds it.
    faces = school_faces(conn, device.school) if gallery and device.face else None
    return sync_document(device, version=version, at=at,
                         cards=school_cards(conn, device.school), faces=faces)
