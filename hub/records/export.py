"""Reading the records back for export, in the import's own format: importing an export
back changes nothing."""

from __future__ import annotations

from hub.db import Conn
from hub.records.cells import (
    CARD_STATUS_LABEL,
    CHANNEL_LABEL,
    GENDER_LABEL,
    RELATION_LABEL,
    YES_NO_LABEL,
)
from hub.records.codes import staff_code
from hub.records.columns import COLUMNS, Kind


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
