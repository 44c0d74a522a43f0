"""The documents the city receives, one model per kind, and their JSON Schemas. No I/O.

Named for what the city's education database (csdl.haiphong.edu.vn) holds: schools,
learners by national id, staff, daily attendance and the equipment inventory, and the
plan's monthly KPI snapshots. The
schemas are versioned: a change a consumer could trip over (a field removed, renamed or
retyped) is a new SCHEMA_VERSION with its own directory under docs/exchange/; adding an
optional field is not. ``smartschool exchange schema`` prints or writes them, and
tests/unit/test_exchange_documents.py keeps the files in the repository equal to these
models.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal

from pydantic import Field

from hub.models import ApiModel

SCHEMA_VERSION: Final = 1

Kind = Literal["school", "learner", "staff", "attendance_daily", "equipment", "kpi_snapshot",
               "lesson_attendance"]
KINDS: Final[tuple[Kind, ...]] = ("school", "learner", "staff", "attendance_daily", "equipment",
                                  "kpi_snapshot", "lesson_attendance")

_NATIONAL_ID = Field(
    default=None, pattern=r"^[0-9]{12}$",
    description="Số định danh cá nhân (12 digits), when the school holds it")


class SchoolDoc(ApiModel):
    """A school of the district."""

    code: str = Field(description="The district's school code")
    name: str
    level: Literal["mam_non", "tieu_hoc", "thcs", "th_thcs"]
    ward: str


class LearnerDoc(ApiModel):
    """A pupil, keyed by the hub's person code, with the national identifiers."""

    code: str = Field(description="Person code (random; the key of this document)")
    school: str
    class_name: str | None = None
    full_name: str
    birth_date: dt.date
    gender: Literal["M", "F"]
    national_id: str | None = _NATIONAL_ID
    moet_id: str | None = Field(default=None, description="Mã định danh Bộ GD&ĐT")
    active: bool
    left_on: dt.date | None = None


class StaffDoc(ApiModel):
    """A member of staff (no phone number: the city's register does not need it)."""

    code: str
    school: str
    full_name: str
    birth_date: dt.date | None = None
    gender: Literal["M", "F"] | None = None
    national_id: str | None = _NATIONAL_ID
    moet_id: str | None = None
    position: str | None = None
    active: bool


class AttendanceDailyDoc(ApiModel):
    """A pupil's school day as the gates saw it: first entry and last exit."""

    learner: str = Field(description="The learner's person code (their national id is in "
                                      "the learner document)")
    school: str
    day: dt.date
    first_in: dt.datetime | None = None
    last_out: dt.datetime | None = None


class EquipmentDoc(ApiModel):
    """An asset of the equipment inventory and its state."""

    tag: str
    type: Literal["projector", "tv", "pc", "sensor", "network", "other"]
    model: str | None = None
    serial: str | None = None
    school: str
    room: str | None = None
    purchase_date: dt.date | None = None
    warranty_end: dt.date | None = None
    rated_lamp_hours: int | None = None
    status: Literal["in_service", "spare", "repair", "retired"]
    updated_at: dt.datetime


class KpiSnapshotDoc(ApiModel):
    """One indicator of the plan for one month and scope, as snapshotted (migration 0016)."""

    month: dt.date = Field(description="The month's first day")
    scope: Literal["district", "ward", "school"]
    scope_id: str = Field(description="Empty for the district, else the ward or school code")
    indicator: str
    numerator: int
    denominator: int
    target: float
    taken_at: dt.datetime


class LessonDoc(ApiModel):
    """One lesson of the learner's day and their status in it (issue 14)."""

    period: int
    start: dt.time
    end: dt.time
    subject: str
    room: str
    status: Literal["present", "late", "absent", "excused", "pending", "no-school"]
    seen_at: dt.datetime | None = Field(default=None,
                                        description="First sighting at the room's door")


class LessonAttendanceDoc(ApiModel):
    """A learner's lessons of one day by the timetable, each with its status as the hub
    derives it (issue 14: seen at the room's door between the start and the cutoff)."""

    learner: str = Field(description="The learner's person code")
    school: str
    class_name: str
    day: dt.date
    lessons: list[LessonDoc]


Document = (SchoolDoc | LearnerDoc | StaffDoc | AttendanceDailyDoc | EquipmentDoc
            | KpiSnapshotDoc | LessonAttendanceDoc)

MODELS: Final[dict[Kind, type[ApiModel]]] = {
    "school": SchoolDoc,
    "learner": LearnerDoc,
    "staff": StaffDoc,
    "attendance_daily": AttendanceDailyDoc,
    "equipment": EquipmentDoc,
    "kpi_snapshot": KpiSnapshotDoc,
    "lesson_attendance": LessonAttendanceDoc,
}
# The file each schema is written to, named for what the city database holds.
FILE_NAMES: Final[dict[Kind, str]] = {
    "school": "schools",
    "learner": "learners",
    "staff": "staff",
    "attendance_daily": "daily-attendance",
    "equipment": "equipment-inventory",
    "kpi_snapshot": "kpi-snapshots",
    "lesson_attendance": "lesson-attendance",
}


def json_schema(kind: Kind) -> dict[str, Any]:
    """The versioned JSON Schema (draft 2020-12) of one kind's document."""
    name = FILE_NAMES[kind]
    schema = MODELS[kind].model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:smartschool:exchange:v{SCHEMA_VERSION}:{name}",
        **schema,
    }


def schema_files() -> dict[str, dict[str, Any]]:
    """Relative path (under docs/exchange/) -> schema, for every kind."""
    return {f"v{SCHEMA_VERSION}/{FILE_NAMES[k]}.schema.json": json_schema(k) for k in KINDS}
