"""Upserting validated records into PostgreSQL, and reading them back for export.

The caller owns the transaction: an import either commits every row it wrote or none.
Checks that need the database (an identifier already held by a pupil of another school,
an unknown card holder) come back as ``RowError``s like the file's own problems.

Person codes (the person id the gate galleries and gate events carry) are assigned once,
on insert, and never change afterwards, so a gallery built yesterday still names the
same pupil after a re-import that corrects a name or adds a missing identifier:

- pupil: ``<school>-<MOET id>``; without a MOET id, ``<school>-p<12 hex of a SHA-256 of
  the personal id>``, so the personal id itself never travels to the gates.
- staff: ``<school>-gv-<Mã cán bộ>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from psycopg import sql

from hub.records.columns import COLUMNS, Kind, Layout
from hub.records.validate import (
    CARD_STATUS_LABEL,
    CHANNEL_LABEL,
    GENDER_LABEL,
    RELATION_LABEL,
    YES_NO_LABEL,
    CardRecord,
    GuardianContactRecord,
    RowError,
    StaffRecord,
    StudentRecord,
    parent_year_problem,
    same_name,
)

Conn = psycopg.Connection[Any]
Progress = Callable[[int], None]

STAFF_CODE_INFIX: Final = "gv"
PARENTS: Final = frozenset({"father", "mother"})
_PID_CODE_SALT: Final = b"smartschool/personal-id/"


def student_code(school: str, *, moet_id: str | None, personal_id: str | None) -> str:
    if moet_id:
        return f"{school}-{moet_id}"
    if not personal_id:
        raise ValueError("a pupil needs a MOET id or a personal id for its code")
    digest = hashlib.sha256(_PID_CODE_SALT + personal_id.encode()).hexdigest()[:12]
    return f"{school}-p{digest}"


def staff_code(school: str, code: str) -> str:
    return f"{school}-{STAFF_CODE_INFIX}-{code}"


@dataclass(slots=True)
class WriteResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    classes_created: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SchoolInfo:
    id: str
    level: str


def load_school(conn: Conn, school: str) -> SchoolInfo | None:
    row = conn.execute("select id, level from schools where id = %s", (school,)).fetchone()
    return SchoolInfo(str(row[0]), str(row[1])) if row else None


def _class_id(conn: Conn, school: str, record: StudentRecord, cache: dict[str, int],
              result: WriteResult) -> int:
    cached = cache.get(record.class_name)
    if cached is not None:
        return cached
    row = conn.execute(
        "insert into classes (school_id, name, grade) values (%s, %s, %s)"
        " on conflict (school_id, name) do nothing returning id",
        (school, record.class_name, record.grade),
    ).fetchone()
    if row is not None:
        result.classes_created += 1
    else:
        row = conn.execute("select id from classes where school_id = %s and name = %s",
                           (school, record.class_name)).fetchone()
    assert row is not None
    cache[record.class_name] = int(row[0])
    return int(row[0])


def _find(conn: Conn, table: str, column: str, value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    query = sql.SQL("select id, school_id from {} where {} = %s").format(
        sql.Identifier(table), sql.Identifier(column)
    )
    row = conn.execute(query, (value,)).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _match(
    conn: Conn, table: str, school: str, record: StudentRecord | StaffRecord,
    header: Callable[[str], str],
) -> int | RowError | None:
    """The existing row this record updates (None: a new person), or why it cannot."""
    by_moet = _find(conn, table, "moet_id", record.moet_id)
    by_pid = _find(conn, table, "personal_id", record.personal_id)
    for found, key in ((by_moet, "moet_id"), (by_pid, "personal_id")):
        if found is not None and found[1] != school:
            # A transfer moves the pupil's history with them: a deliberate act of the
            # district office, not a side effect of one school's spreadsheet.
            return RowError(record.row, header(key),
                            f"belongs to a person of school {found[1]}; transfer them first")
    if by_moet and by_pid and by_moet[0] != by_pid[0]:
        return RowError(record.row, header("personal_id"),
                        "held by another person than the one with this MOET id")
    hit = by_moet or by_pid
    return hit[0] if hit else None


def write_students(conn: Conn, school: str, records: Sequence[StudentRecord], layout: Layout,
                   *, progress: Progress | None = None) -> WriteResult:
    result = WriteResult()
    classes: dict[str, int] = {}

    def header(key: str) -> str:
        return layout.header.get(key, key)

    for record in records:
        target = _match(conn, "students", school, record, header)
        if isinstance(target, RowError):
            result.errors.append(target)
            if progress:
                progress(1)
            continue
        class_id = _class_id(conn, school, record, classes, result)
        values = (class_id, record.full_name, record.birth_date, record.gender)
        if target is None:
            row = conn.execute(
                "insert into students (code, school_id, class_id, full_name, birth_date,"
                " gender, personal_id, moet_id) values (%s, %s, %s, %s, %s, %s, %s, %s)"
                " returning id",
                (student_code(school, moet_id=record.moet_id, personal_id=record.personal_id),
                 school, *values, record.personal_id, record.moet_id),
            ).fetchone()
            assert row is not None
            student_id = int(row[0])
            changed = True
            result.inserted += 1
        else:
            student_id = target
            # An identifier missing from this file keeps the stored one: a partial export
            # must not erase what an earlier import brought.
            cur = conn.execute(
                "update students set class_id = %s, full_name = %s, birth_date = %s,"
                " gender = %s, personal_id = coalesce(%s, personal_id),"
                " moet_id = coalesce(%s, moet_id), active = true"
                " where id = %s and (class_id, full_name, birth_date, gender, personal_id,"
                " moet_id, active) is distinct from"
                " (%s, %s, %s, %s, coalesce(%s, personal_id), coalesce(%s, moet_id), true)",
                (*values, record.personal_id, record.moet_id, student_id,
                 *values, record.personal_id, record.moet_id),
            )
            changed = cur.rowcount > 0
        for guardian in record.guardians:
            changed |= _upsert_guardian(conn, student_id, guardian.relation, guardian.full_name,
                                        guardian.birth_year)
        if target is not None:
            if changed:
                result.updated += 1
            else:
                result.unchanged += 1
        if progress:
            progress(1)
    return result


def _upsert_guardian(conn: Conn, student_id: int, relation: str, full_name: str,
                     birth_year: int | None) -> bool:
    # One father and one mother per pupil: a corrected name updates the row in place and
    # keeps the phone number and notification channel entered since.
    row = conn.execute(
        "select id, full_name, birth_year from guardians where student_id = %s"
        " and relation = %s order by id limit 1",
        (student_id, relation),
    ).fetchone()
    if row is None:
        conn.execute(
            "insert into guardians (student_id, full_name, relation, birth_year)"
            " values (%s, %s, %s, %s)",
            (student_id, full_name, relation, birth_year),
        )
        return True
    if (row[1], row[2]) == (full_name, birth_year if birth_year is not None else row[2]):
        return False
    conn.execute(
        "update guardians set full_name = %s, birth_year = coalesce(%s, birth_year)"
        " where id = %s",
        (full_name, birth_year, row[0]),
    )
    return True


def write_staff(conn: Conn, school: str, records: Sequence[StaffRecord], layout: Layout,
                *, progress: Progress | None = None) -> WriteResult:
    result = WriteResult()

    def header(key: str) -> str:
        return layout.header.get(key, key)

    for record in records:
        code = staff_code(school, record.staff_code)
        by_code = _find(conn, "staff", "code", code)
        target = _match(conn, "staff", school, record, header)
        if not isinstance(target, RowError) and by_code and target and by_code[0] != target:
            target = RowError(record.row, header("personal_id"),
                              "held by another staff member than this Mã cán bộ")
        if isinstance(target, RowError):
            result.errors.append(target)
        elif by_code is None and target is None:
            conn.execute(
                "insert into staff (code, school_id, full_name, birth_date, gender,"
                " personal_id, moet_id, position, phone)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (code, school, record.full_name, record.birth_date, record.gender,
                 record.personal_id, record.moet_id, record.position, record.phone),
            )
            result.inserted += 1
        else:
            ident = by_code[0] if by_code else target
            values = (record.full_name, record.birth_date, record.gender, record.personal_id,
                      record.moet_id, record.position, record.phone)
            cur = conn.execute(
                "update staff set full_name = %s, birth_date = coalesce(%s, birth_date),"
                " gender = coalesce(%s, gender), personal_id = coalesce(%s, personal_id),"
                " moet_id = coalesce(%s, moet_id), position = coalesce(%s, position),"
                " phone = coalesce(%s, phone), active = true"
                " where id = %s and (full_name, birth_date, gender, personal_id, moet_id,"
                " position, phone, active) is distinct from"
                " (%s, coalesce(%s, birth_date), coalesce(%s, gender),"
                " coalesce(%s, personal_id), coalesce(%s, moet_id), coalesce(%s, position),"
                " coalesce(%s, phone), true)",
                (*values, ident, *values),
            )
            if cur.rowcount:
                result.updated += 1
            else:
                result.unchanged += 1
        if progress:
            progress(1)
    return result


def write_cards(conn: Conn, school: str, records: Sequence[CardRecord], layout: Layout,
                *, changed_by: str, progress: Progress | None = None) -> WriteResult:
    result = WriteResult()
    for record in records:
        error = _write_card(conn, school, record, layout, changed_by, result)
        if error is not None:
            result.errors.append(error)
        if progress:
            progress(1)
    return result


def _write_card(conn: Conn, school: str, record: CardRecord, layout: Layout, changed_by: str,
                result: WriteResult) -> RowError | None:
    student_id = staff_id = None
    if record.student is not None:
        row = conn.execute(
            "select id from students where school_id = %s and (code = %s or moet_id = %s)"
            " order by code = %s desc limit 1",
            (school, record.student, record.student, record.student),
        ).fetchone()
        if row is None:
            return RowError(record.row, layout.header.get("student", "student"),
                            f"no pupil {record.student!r} at school {school}")
        student_id = int(row[0])
    else:
        assert record.staff is not None
        row = conn.execute(
            "select id from staff where school_id = %s and code in (%s, %s) limit 1",
            (school, record.staff, staff_code(school, record.staff)),
        ).fetchone()
        if row is None:
            return RowError(record.row, layout.header.get("staff", "staff"),
                            f"no staff member {record.staff!r} at school {school}")
        staff_id = int(row[0])
    existing = conn.execute(
        "select c.student_id, c.staff_id, c.status,"
        " coalesce(st.school_id, sf.school_id)"
        " from cards c left join students st on st.id = c.student_id"
        " left join staff sf on sf.id = c.staff_id where c.uid = %s for update of c",
        (record.uid,),
    ).fetchone()
    if existing is not None and existing[3] != school:
        return RowError(record.row, layout.header.get("uid", "uid"),
                        f"card of a person of school {existing[3]}")
    if existing is None:
        conn.execute(
            "insert into cards (uid, student_id, staff_id, status) values (%s, %s, %s, %s)",
            (record.uid, student_id, staff_id, record.status),
        )
        result.inserted += 1
    elif (existing[0], existing[1], existing[2]) == (student_id, staff_id, record.status):
        result.unchanged += 1
        return None
    else:
        conn.execute(
            "update cards set student_id = %s, staff_id = %s, status = %s where uid = %s",
            (student_id, staff_id, record.status, record.uid),
        )
        result.updated += 1
    conn.execute(
        "insert into card_history (uid, student_id, staff_id, status, changed_by, note)"
        " values (%s, %s, %s, %s, %s, 'import')",
        (record.uid, student_id, staff_id, record.status, changed_by),
    )
    return None


# --- guardians' contacts ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pupil:
    id: int
    full_name: str
    birth_year: int


def find_pupil(conn: Conn, school: str, ident: str) -> Pupil | None:
    """The pupil of ``school`` with person code or MOET id ``ident`` (as a card list names
    them)."""
    row = conn.execute(
        "select id, full_name, birth_date from students where school_id = %s"
        " and (code = %s or moet_id = %s) order by code = %s desc limit 1",
        (school, ident, ident, ident),
    ).fetchone()
    return Pupil(int(row[0]), str(row[1]), row[2].year) if row else None


def write_guardians(conn: Conn, school: str, records: Sequence[GuardianContactRecord],
                    layout: Layout, *, progress: Progress | None = None) -> WriteResult:
    result = WriteResult()
    pupils: dict[str, Pupil | None] = {}
    for record in records:
        if record.student not in pupils:
            pupils[record.student] = find_pupil(conn, school, record.student)
        error = _write_guardian(conn, school, record, pupils[record.student], layout, result)
        if error is not None:
            result.errors.append(error)
        if progress:
            progress(1)
    return result


def _guardian_problem(school: str, record: GuardianContactRecord, pupil: Pupil | None
                      ) -> tuple[str, str] | None:
    """(column key, reason) when the row does not fit the pupil it names."""
    if pupil is None:
        return "student", f"no pupil {record.student!r} at school {school}"
    if record.pupil_name is not None and not same_name(record.pupil_name, pupil.full_name):
        # A mistyped code would send a parent another child's arrivals: stop it here.
        return "pupil_name", (f"pupil {record.student} is {pupil.full_name!r}, not "
                              f"{record.pupil_name!r}: check Mã học sinh")
    too_young = parent_year_problem(record.relation, record.birth_year, pupil.birth_year)
    return ("birth_year", too_young) if too_young else None


def match_guardian(conn: Conn, student_id: int, relation: str,
                   full_name: str) -> int | str | None:
    """The guardian of the pupil that ``relation`` and ``full_name`` name (its id), None
    for a new one, or why it cannot be added. Locks the pupil's guardians of that relation.
    """
    rows = conn.execute(
        "select id, full_name from guardians where student_id = %s and relation = %s"
        " order by id for update",
        (student_id, relation),
    ).fetchall()
    match = next((int(r[0]) for r in rows if same_name(str(r[1]), full_name)), None)
    if match is None and relation in PARENTS and rows:
        # The student list owns parents' names (one father, one mother, corrected in
        # place); a second "father" here would be a typo that gets notified too.
        return (f"the pupil's {relation} is recorded as {rows[0][1]!r}: correct a parent's "
                "name on the student list, or enter another adult as Người giám hộ or Khác")
    return match


def _write_guardian(conn: Conn, school: str, record: GuardianContactRecord,
                    pupil: Pupil | None, layout: Layout, result: WriteResult) -> RowError | None:
    problem = _guardian_problem(school, record, pupil)
    if problem is not None:
        return RowError(record.row, layout.header.get(problem[0], problem[0]), problem[1])
    assert pupil is not None
    match = match_guardian(conn, pupil.id, record.relation, record.full_name)
    if isinstance(match, str):
        return RowError(record.row, layout.header.get("full_name", "full_name"), match)
    contact = (record.phone, record.channel, record.address, record.notify)
    if match is None:
        conn.execute(
            "insert into guardians (student_id, full_name, relation, birth_year, phone,"
            " channel, address, notify) values (%s, %s, %s, %s, %s, %s, %s,"
            " coalesce(%s, true))",
            (pupil.id, record.full_name, record.relation, record.birth_year, *contact),
        )
        result.inserted += 1
        return None
    # A birth year or notify flag missing from the file keeps the stored one; phone and
    # address are taken as written (the list is the school's record of how to reach them).
    values = (record.full_name, record.birth_year, *contact)
    cur = conn.execute(
        "update guardians set full_name = %s, birth_year = coalesce(%s, birth_year),"
        " phone = %s, channel = %s, address = %s, notify = coalesce(%s, notify)"
        " where id = %s and (full_name, birth_year, phone, channel, address, notify)"
        " is distinct from (%s, coalesce(%s, birth_year), %s, %s, %s, coalesce(%s, notify))",
        (*values, match, *values),
    )
    if cur.rowcount:
        result.updated += 1
    else:
        result.unchanged += 1
    return None


# --- export ------------------------------------------------------------------------------


def _date_text(value: object) -> str:
    return value.strftime("%d/%m/%Y") if value is not None else ""  # type: ignore[attr-defined]


def export_rows(conn: Conn, school: str, kind: Kind) -> tuple[list[str], list[list[str]]]:
    """The headers and rows of an export, in the import's own format."""
    headers = [c.header for c in COLUMNS[kind]]
    out: list[list[str]] = []
    if kind == "students":
        rows = conn.execute(
            """
            select c.name, s.moet_id, s.full_name, s.birth_date, s.gender,
                   f.full_name, f.birth_year, m.full_name, m.birth_year, s.personal_id
            from students s
            left join classes c on c.id = s.class_id
            left join lateral (select full_name, birth_year from guardians g
                               where g.student_id = s.id and g.relation = 'father'
                               order by g.id limit 1) f on true
            left join lateral (select full_name, birth_year from guardians g
                               where g.student_id = s.id and g.relation = 'mother'
                               order by g.id limit 1) m on true
            where s.school_id = %s and s.active
            order by c.name nulls last, s.id
            """,
            (school,),
        ).fetchall()
        for n, r in enumerate(rows, 1):
            out.append([
                str(n), r[0] or "", r[1] or "", r[2], _date_text(r[3]),
                GENDER_LABEL[r[4]], "", "", "", "", "",
                r[5] or "", str(r[6]) if r[6] is not None else "",
                r[7] or "", str(r[8]) if r[8] is not None else "", r[9] or "",
            ])
    elif kind == "staff":
        prefix = staff_code(school, "")
        rows = conn.execute(
            "select code, full_name, birth_date, gender, position, personal_id, moet_id, phone"
            " from staff where school_id = %s and active order by code",
            (school,),
        ).fetchall()
        for n, r in enumerate(rows, 1):
            code = str(r[0])
            out.append([
                str(n), code.removeprefix(prefix), r[1], _date_text(r[2]),
                GENDER_LABEL[r[3]] if r[3] else "", r[4] or "", r[5] or "", r[6] or "",
                r[7] or "",
            ])
    elif kind == "guardians":
        out = _guardian_rows(conn, school)
    else:
        prefix = staff_code(school, "")
        rows = conn.execute(
            """
            select c.uid, st.code, sf.code, c.status from cards c
            left join students st on st.id = c.student_id
            left join staff sf on sf.id = c.staff_id
            where coalesce(st.school_id, sf.school_id) = %s
            order by c.uid
            """,
            (school,),
        ).fetchall()
        for n, r in enumerate(rows, 1):
            out.append([str(n), r[0], r[1] or "", str(r[2]).removeprefix(prefix) if r[2] else "",
                        CARD_STATUS_LABEL[r[3]]])
    return headers, out


def _guardian_rows(conn: Conn, school: str) -> list[list[str]]:
    # The pupil is named by MOET id when known: the number the clerk's own lists carry.
    rows = conn.execute(
        """
        select coalesce(s.moet_id, s.code), c.name, s.full_name, g.relation, g.full_name,
               g.birth_year, g.phone, g.channel, g.address, g.notify
        from guardians g
        join students s on s.id = g.student_id
        left join classes c on c.id = s.class_id
        where s.school_id = %s and s.active
        order by c.name nulls last, s.id,
                 array_position(array['father', 'mother', 'guardian', 'other'], g.relation),
                 g.id
        """,
        (school,),
    ).fetchall()
    return [
        [str(n), r[0], r[1] or "", r[2], RELATION_LABEL[r[3]], r[4],
         str(r[5]) if r[5] is not None else "", r[6] or "", CHANNEL_LABEL[r[7]], r[8] or "",
         YES_NO_LABEL[r[9]]]
        for n, r in enumerate(rows, 1)
    ]
