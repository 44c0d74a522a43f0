"""The plan's indicators as pure decisions: what makes one record, room or school count.

The README's "The plan's targets" says each definition in words; this module is the one
place the rules are written, and `hub/kpi/read.py` only gathers their inputs. None of
these functions reads the database or the clock.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

from hub.records.cells import Channel
from hub.records.guardians import contact_problems
from hub.records.identifiers import validate_moet_id, validate_personal_id

IndicatorId = Literal[
    "learners_e_records", "teachers_e_records", "equipment_e_records", "classrooms_ready",
    "smart_gate_schools", "data_driven_schools", "parents_reachable",
]


@dataclass(frozen=True, slots=True)
class Indicator:
    id: IndicatorId
    name_vi: str
    name_en: str
    target: float  # percent
    target_year: int | None  # None: every year, no deadline


# The plan's targets (section II.2.b, appendix task 11), in the order.
INDICATORS: Final[tuple[Indicator, ...]] = (
    Indicator("learners_e_records", "Người học có hồ sơ số với định danh",
              "Learners with a digital record and national id", 100.0, 2025),
    Indicator("teachers_e_records", "Nhà giáo có hồ sơ số với định danh",
              "Teachers with a digital record and national id", 100.0, 2025),
    Indicator("equipment_e_records", "Cơ sở vật chất, thiết bị có hồ sơ số",
              "Equipment with a complete digital record", 80.0, 2025),
    Indicator("classrooms_ready", "Phòng học có máy tính và máy chiếu/TV hoạt động",
              "Classrooms with a working computer and projector or TV", 100.0, None),
    Indicator("smart_gate_schools", "Trường có cổng trường thông minh",
              "Schools with a smart gate", 100.0, None),
    Indicator("data_driven_schools", "Trường điểm danh từ dữ liệu",
              "Schools whose registers come from the data", 100.0, 2025),
    Indicator("parents_reachable", "Học sinh có phụ huynh liên lạc được qua kênh số",
              "Students with a guardian reachable on a digital channel", 100.0, None),
)
BY_ID: Final = {i.id: i for i in INDICATORS}

# Gate methods that take attendance without a person at a keyboard.
AUTOMATIC_METHODS: Final = frozenset({"card", "face", "card+face"})
# A school's register "comes from the data" when the gates recognised at least this share
# of its pupils on its last school day: below it, the register is mostly typed by hand.
DATA_DRIVEN_SHARE: Final = 0.5
# Equipment that gives a classroom its display; the computer is a `pc` asset.
DISPLAY_TYPES: Final = frozenset({"projector", "tv"})
# Words of a staff position that make its holder a teacher (nhà giáo), compared without
# case or accents so "Giáo viên", "GIAO VIEN" and "teacher" all count.
TEACHER_WORDS: Final = ("giao vien", "teacher")


def learner_counts(personal_id: str | None, moet_id: str | None, *,
                   birth_year: int | None, gender: Literal["M", "F"] | None) -> bool:
    """A valid 12-digit personal id that agrees with the pupil's birth year and gender,
    and a well-formed MOET id: the "định danh thống nhất toàn quốc" the plan asks for."""
    if not personal_id or not moet_id:
        return False
    return (not validate_personal_id(personal_id.strip(), birth_year=birth_year, gender=gender)
            and not validate_moet_id(moet_id.strip()))


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def is_teacher(position: str | None) -> bool:
    """Staff whose position is teaching; guards, accountants and nurses are not counted."""
    if not position:
        return False
    folded = _folded(position)
    return any(word in folded for word in TEACHER_WORDS)


def teacher_counts(personal_id: str | None, moet_id: str | None, *,
                   birth_year: int | None, gender: Literal["M", "F"] | None) -> bool:
    """The same two identifiers as a learner (staff birth data may be unknown)."""
    return learner_counts(personal_id, moet_id, birth_year=birth_year, gender=gender)


@dataclass(frozen=True, slots=True)
class RoomAsset:
    type: str
    status: str
    reported_at: datetime | None  # its latest telemetry or its device's latest message


def _working(asset: RoomAsset, since: datetime | None) -> bool:
    return (asset.status == "in_service" and asset.reported_at is not None
            and since is not None and asset.reported_at >= since)


def classroom_ready(assets: Iterable[RoomAsset], since: datetime | None) -> bool:
    """An in-service computer and an in-service projector or TV in the room, both heard
    from since ``since`` (the start of the school's last school day; None: no school day
    yet, so nothing has reported)."""
    working = [a for a in assets if _working(a, since)]
    return (any(a.type == "pc" for a in working)
            and any(a.type in DISPLAY_TYPES for a in working))


def smart_gate(automatic_passages: int) -> bool:
    """A gate took attendance by itself (card or face) on the school's last school day."""
    return automatic_passages > 0


def data_driven(recognised_pupils: int, active_pupils: int) -> bool:
    """The gates recognised at least DATA_DRIVEN_SHARE of the pupils on the last school
    day. A school without pupils has no register to feed: it does not count."""
    return active_pupils > 0 and recognised_pupils >= DATA_DRIVEN_SHARE * active_pupils


@dataclass(frozen=True, slots=True)
class Contact:
    channel: Channel
    phone: str | None
    address: str | None
    notify: bool


def guardian_reachable(contact: Contact) -> bool:
    """A guardian who wants messages, on a digital channel, with what it needs to reach
    them (the same rule the records import applies)."""
    return (contact.notify and contact.channel != "none"
            and not contact_problems(contact.channel, contact.phone, contact.address))


def parent_reachable(contacts: Iterable[Contact]) -> bool:
    return any(guardian_reachable(c) for c in contacts)


@dataclass(frozen=True, slots=True)
class Ratio:
    numerator: int
    denominator: int

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.numerator + other.numerator, self.denominator + other.denominator)


ZERO: Final = Ratio(0, 0)


def percent(ratio: Ratio) -> float | None:
    """The value in percent to one decimal; None when nothing is counted (0/0 is no 0 %)."""
    if ratio.denominator <= 0:
        return None
    return round(100.0 * ratio.numerator / ratio.denominator, 1)


def total(ratios: Iterable[Ratio]) -> Ratio:
    """A ward's or the district's ratio: numerators and denominators add up (schools
    weigh by their size, not one school one vote)."""
    out = ZERO
    for r in ratios:
        out = out + r
    return out


def met(indicator: Indicator, ratio: Ratio) -> bool:
    value = percent(ratio)
    return value is not None and value >= indicator.target


def shortfall(indicator: Indicator, ratio: Ratio) -> int:
    """How many more records, rooms or schools the target needs: what holds it back."""
    need = -(-int(indicator.target * ratio.denominator) // 100)  # ceil without floats
    return max(0, need - ratio.numerator)


def month_start(day: date) -> date:
    return day.replace(day=1)


def is_month_end(day: date) -> bool:
    """The last day of its month: the hourly maintenance snapshots the month then, and
    the last run of the day wins."""
    return (day.toordinal() + 1) == _next_month(day).toordinal()


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)

