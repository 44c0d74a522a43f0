"""Upserting validated records into PostgreSQL.

The caller owns the transaction: an import either commits every row it wrote or none.
Checks that need the database (an identifier already held by a pupil of another school,
an unknown card holder) come back as ``RowError``s like the file's own problems. New
people get their person code (``hub.records.codes``) on insert; it never changes after.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from psycopg import sql

from hub.db import Conn
from hub.records.cells import same_name
from hub.records.codes import staff_code, student_code
from hub.records.columns import Layout
from hub.records.guardians import PARENTS, parent_year_problem
from hub.records.validate import (
    CardRecord,
    GuardianContactRecord,
    RowError,
    StaffRecord,
    StudentRecord,
)

Progress = Callable[[int], None]

# An identifier or card held at another school: the reason names neither the school nor
# the person (least knowledge, issue 12), also in a dry run; the district office can look.
ELSEWHERE = "already registered elsewhere; ask the district office"


@dataclass(slots=True)
class WriteResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    classes_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Ids of the persons the file named (written or unchanged): a full roster marks the
    # school's other active pupils as left (hub/records/leavers.py).
    seen: set[int] = field(default_factory=set)


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
            # district office, not a side effect of one school's spreadsheet. The message
            # names no school: a clerk learns nothing about another school's persons.
            return RowError(record.row, header(key), ELSEWHERE)
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
                (student_code(school), school, *values, record.personal_id, record.moet_id),
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
                " moet_id = coalesce(%s, moet_id), active = true,"
                # A pupil who left and is on a roster again is back (hub/records/leavers.py).
                " left_on = null, left_reason = null"
                " where id = %s and (class_id, full_name, birth_date, gender, personal_id,"
                " moet_id, active) is distinct from"
                " (%s, %s, %s, %s, coalesce(%s, personal_id), coalesce(%s, moet_id), true)",
                (*values, record.personal_id, record.moet_id, student_id,
                 *values, record.personal_id, record.moet_id),
            )
            changed = cur.rowcount > 0
        result.seen.add(student_id)
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
        return RowError(record.row, layout.header.get("uid", "uid"), ELSEWHERE)
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
