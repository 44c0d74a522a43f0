"""Consent to biometric processing (Decree 13/2023/NĐ-CP; the Personal Data Protection Law
in force from 2026-01-01): who must agree before a face is enrolled, and what withdrawal
undoes.

A child's face encoding is sensitive personal data. Before enrollment the guardian must
have agreed, and the child too from age 7 (Decree 13, Art. 20: the consent of a child
aged 7 or over is needed as well). Withdrawal by either deletes the person's encodings
in the same transaction and bumps the school's gallery version, the hub-side marker that
the gates' galleries must be rebuilt; hub.devices.publisher sees the new version
within seconds and tells the school's gates to fetch their gallery again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

from psycopg import sql

from hub.db import Conn

ConsentRole = Literal["guardian", "self"]
PersonKind = Literal["student", "staff"]

SELF_CONSENT_AGE: Final = 7
MAX_METHOD_LEN: Final = 100
MAX_GIVEN_BY_LEN: Final = 100


# --- rules (pure) ------------------------------------------------------------------------


def age_on(birth: date, day: date) -> int:
    """Age in completed years on ``day`` (a 29 February birthday counts from 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def required_roles(kind: PersonKind, birth_date: date | None, today: date) -> frozenset[str]:
    if kind == "staff":
        return frozenset({"self"})
    if birth_date is None or age_on(birth_date, today) >= SELF_CONSENT_AGE:
        # Without a birth date the child may be 7 or over: ask for both.
        return frozenset({"guardian", "self"})
    return frozenset({"guardian"})


def missing_roles(required: Iterable[str], given: Iterable[str]) -> list[str]:
    return sorted(set(required) - set(given))


def consent_refusal(kind: PersonKind, birth_date: date | None, today: date,
                    given: Iterable[str]) -> str | None:
    """Why enrollment is refused for lack of consent, or None when it may go ahead."""
    missing = missing_roles(required_roles(kind, birth_date, today), given)
    if not missing:
        return None
    words = {"guardian": "the guardian's", "self": "the person's own"}
    message = f"face enrollment needs {' and '.join(words[m] for m in missing)} recorded consent"
    if kind == "student" and "self" in missing and birth_date is not None:
        age = age_on(birth_date, today)
        message += f" (aged {age}: {SELF_CONSENT_AGE} or over must agree too)"
    return message


def check_consent_input(*, given_by: str, method: str, given_at: datetime,
                        now: datetime) -> list[str]:
    problems = []
    if not given_by.strip() or len(given_by) > MAX_GIVEN_BY_LEN:
        problems.append(f"given_by: a name of 1 to {MAX_GIVEN_BY_LEN} characters")
    if not method.strip() or len(method) > MAX_METHOD_LEN:
        problems.append(f"method: how consent was given, 1 to {MAX_METHOD_LEN} characters")
    if given_at.tzinfo is None:
        problems.append("given_at: needs a time zone offset")
    elif given_at > now:
        problems.append("given_at: in the future")
    return problems


# --- records -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    kind: PersonKind
    id: int
    code: str
    school_id: str
    full_name: str
    birth_date: date | None

    @property
    def column(self) -> str:
        return "student_id" if self.kind == "student" else "staff_id"


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    id: int
    given_by: str
    given_by_role: str
    given_at: datetime
    method: str
    withdrawn_at: datetime | None
    recorded_by: str | None


@dataclass(frozen=True, slots=True)
class Withdrawal:
    consents: int
    encodings_deleted: int
    gallery_version: int


def find_person(conn: Conn, code: str, *, lock: bool = False) -> Person | None:
    kinds: tuple[tuple[PersonKind, str], ...] = (("student", "students"), ("staff", "staff"))
    for kind, table in kinds:
        query = sql.SQL(
            "select id, code, school_id, full_name, birth_date from {} where code = %s{}"
        ).format(sql.Identifier(table), sql.SQL(" for update" if lock else ""))
        row = conn.execute(query, (code,)).fetchone()
        if row is not None:
            return Person(kind, int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4])
    return None


def person_sql(template: str, person: Person) -> sql.Composed:
    """``template`` with ``{column}`` bound to the person's id column (student or staff)."""
    return sql.SQL(template).format(column=sql.Identifier(person.column))


def list_consents(conn: Conn, person: Person) -> list[ConsentRecord]:
    rows = conn.execute(
        person_sql("select id, given_by, given_by_role, given_at, method, withdrawn_at,"
                   " recorded_by from consents where {column} = %s and purpose = 'face'"
                   " order by given_at, id", person),
        (person.id,),
    ).fetchall()
    return [ConsentRecord(*row) for row in rows]


def active_consents(conn: Conn, person: Person) -> list[ConsentRecord]:
    return [c for c in list_consents(conn, person) if c.withdrawn_at is None]


def record_consent(conn: Conn, person: Person, *, given_by: str, role: ConsentRole,
                   given_at: datetime, method: str, recorded_by: str) -> int:
    row = conn.execute(
        person_sql("insert into consents ({column}, purpose, given_by, given_by_role,"
                   " given_at, method, recorded_by) values (%s, 'face', %s, %s, %s, %s, %s)"
                   " returning id", person),
        (person.id, given_by.strip(), role, given_at, method.strip(), recorded_by),
    ).fetchone()
    assert row is not None
    return int(row[0])


def bump_gallery(conn: Conn, school: str, reason: str) -> int:
    row = conn.execute(
        "insert into gallery_versions (school_id, version, reason) values (%s, 1, %s)"
        " on conflict (school_id) do update set version = gallery_versions.version + 1,"
        " changed_at = now(), reason = excluded.reason returning version",
        (school, reason),
    ).fetchone()
    assert row is not None
    return int(row[0])


def gallery_version(conn: Conn, school: str) -> int:
    row = conn.execute("select version from gallery_versions where school_id = %s",
                       (school,)).fetchone()
    return int(row[0]) if row else 0


def withdraw_consent(conn: Conn, code: str, *, at: datetime) -> Withdrawal | None:
    """Withdraw every face consent of ``code`` and delete their encodings, atomically.

    None when no such person exists. Withdrawing when nothing is active still deletes
    any encodings left over, so the call is safe to repeat.
    """
    with conn.transaction():
        # The row lock orders this against a concurrent enrollment of the same person.
        person = find_person(conn, code, lock=True)
        if person is None:
            return None
        withdrawn = conn.execute(
            person_sql("update consents set withdrawn_at = %s where {column} = %s"
                       " and purpose = 'face' and withdrawn_at is null", person),
            (at, person.id),
        ).rowcount
        deleted = conn.execute(
            person_sql("delete from face_enrollments where {column} = %s", person),
            (person.id,),
        ).rowcount
        version = (bump_gallery(conn, person.school_id, f"consent withdrawn: {person.code}")
                   if deleted or withdrawn else gallery_version(conn, person.school_id))
    return Withdrawal(withdrawn, deleted, version)
