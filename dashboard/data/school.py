"""What the school page reads: one school's day, a class register and the export tables.

Read through hub.attendance.reports and hub.read.queries, the code GET
/api/v1/attendance/... answers with, so the page, the district wall and the API agree
about cutoffs, holidays and corrections. Who may see a school is the page's check
(dashboard.access), made before any of these runs; a register also names its school so
the page can check a class it was handed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from dashboard.builders.school import (
    LATE_STATUSES,
    MISSING_STATUSES,
    ExportKind,
    SchoolView,
    daily_table,
)
from hub.attendance import reports
from hub.attendance.export import register_table
from hub.attendance.reports import ClassRegister
from hub.attendance.service import load_setups
from hub.db import Conn
from hub.read import queries

ARRIVAL_BUCKET_MIN: Final = 5


@dataclass(frozen=True, slots=True)
class ExportTable:
    """One export's rows before they become a file (dashboard.builders.school)."""

    name: str  # the file name without its extension
    columns: list[str]
    rows: list[list[Any]]
    # What the title row says (hub.attendance.labels.title): the kind, class or school, day.
    title_kind: str = "daily"
    subject: str | None = None
    day: date | None = None


def load_school(conn: Conn, school: str, tz: ZoneInfo,
                now: datetime) -> SchoolView | None:
    """The school's day so far; None for a school the database does not know."""
    day = now.date()
    setup = load_setups(conn, first=day, last=day, school=school).get(school)
    if setup is None:
        return None
    totals = reports.daily_summary(conn, day=day, tz=tz, now=now, school=school)
    return SchoolView(
        school=school, name=setup.name, level=setup.level, now=now,
        school_day=setup.calendar.is_school_day(day),
        start=datetime.combine(day, setup.rules.start_time, tz),
        late_cutoff=setup.rules.late_cutoff(day, tz),
        absent_cutoff=setup.rules.absent_cutoff(day, tz),
        total=totals[0] if totals else None,
        classes=reports.daily_summary(conn, day=day, tz=tz, now=now, school=school,
                                      by_class=True),
        late=reports.school_students(conn, school=school, day=day, tz=tz, now=now,
                                     statuses=LATE_STATUSES),
        missing=reports.school_students(conn, school=school, day=day, tz=tz, now=now,
                                        statuses=MISSING_STATUSES),
        arrivals=queries.arrivals_by_bucket(conn, day=day, tz=str(tz),
                                            bucket_minutes=ARRIVAL_BUCKET_MIN, school=school),
    )


def load_register(conn: Conn, class_id: int, tz: ZoneInfo,
                  now: datetime) -> ClassRegister | None:
    """Today's register of one class, whatever its school (the caller checks
    ``.school``); None for a class that does not exist."""
    try:
        return reports.class_register(conn, class_id=class_id, day=now.date(), tz=tz,
                                      now=now)
    except reports.NotFoundError:
        return None


def load_export(conn: Conn, kind: ExportKind, *, school: str,
                class_id: int | None, tz: ZoneInfo, now: datetime) -> ExportTable | None:
    """A class's register or the school's daily summary as a table; None when there is
    nothing to export (no class chosen, or a class of another school)."""
    day = now.date()
    if kind == "register":
        if class_id is None:
            return None
        found = load_register(conn, class_id, tz, now)
        if found is None or found.school != school:
            return None
        columns, rows = register_table(found, tz)
        return ExportTable(f"so-diem-danh-{found.class_name}-{day}", columns, rows,
                           "register", found.class_name, day)
    total = reports.daily_summary(conn, day=day, tz=tz, now=now, school=school)
    classes = reports.daily_summary(conn, day=day, tz=tz, now=now, school=school,
                                    by_class=True)
    columns, rows = daily_table(total[0] if total else None, classes)
    return ExportTable(f"diem-danh-{school}-{day}", columns, rows, "daily", school, day)
