"""A simulated Dương Kinh-like district for the demo, the edge simulator and the benchmarks.

Pure and deterministic: the same seed and target give the same district on any
machine (one private ``random.Random``, no clock, no set iteration), so a demo
restarting on the same data dir regenerates exactly the records it seeded.
Python only promises ``random()`` itself stable across versions, so a district
generated under another Python may differ; the seeder never regenerates on top
of existing data, so that only matters for comparisons across machines.
"""

from __future__ import annotations

import random
import re
import unicodedata
from bisect import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from itertools import accumulate
from typing import Final, Literal

from hub.records.identifiers import (
    HAI_PHONG,
    MOET_SERIAL_LIMIT,
    PERSONAL_SERIAL_LIMIT,
    Gender,
    make_moet_id,
    make_personal_id,
)
from hub.schools import LEVEL_GRADES, LEVEL_LABEL, Level


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


DeviceRole = Literal["gate", "classroom"]
CardStatus = Literal["active", "blocked", "lost"]

DEFAULT_SEED: Final = 2025
DEFAULT_STUDENTS: Final = 15_000
# A fixed default rather than today's date: the district must not change when the
# calendar does, or a restarted demo would no longer match its own database.
DEFAULT_SCHOOL_YEAR: Final = 2025
PROVINCE: Final = HAI_PHONG

WARDS: Final = tuple(
    nfc(w) for w in ("Hải Thành", "Hòa Nghĩa", "Tân Thành", "Anh Dũng", "Hưng Đạo", "Đa Phúc")
)

LEVEL_SLUG: Final[dict[Level, str]] = {
    "mam_non": "mn",
    "tieu_hoc": "th",
    "thcs": "thcs",
    "th_thcs": "th-thcs",
}
# Class-size caps of the MOET school charters are 35 (primary), 45 (lower
# secondary) and 25 for 3-4-year-olds; urban schools run close to them.
CLASS_SIZE: Final[dict[Level, int]] = {"mam_non": 25, "tieu_hoc": 35, "thcs": 35, "th_thcs": 35}
START_TIME: Final[dict[Level, time]] = {
    "mam_non": time(7, 30),
    "tieu_hoc": time(7, 0),
    "thcs": time(7, 0),
    "th_thcs": time(7, 0),
}
# Kindergarten is grade 0 in the records, but its groups are by age: Mầm (3),
# Chồi (4), Lá (5), counted in calendar years as schools do.
KINDERGARTEN_AGE: Final[dict[str, int]] = {nfc("Mầm"): 3, nfc("Chồi"): 4, nfc("Lá"): 5}
# Grade 1 starts in the calendar year a child turns 6 (Luật Giáo dục 2019, Điều 28).
GRADE_1_AGE: Final = 6

# Typical enrolment per school at the default target; each school gets ±25%.
_NOMINAL_PUPILS: Final[dict[Level, int]] = {
    "mam_non": 280,
    "tieu_hoc": 900,
    "thcs": 700,
    "th_thcs": 1200,
}
ROOMS_PER_FLOOR: Final = 10
TWO_GATES_FROM: Final = 700  # pupils; bigger schools open a second gate
LOST_OR_BLOCKED_SHARE: Final = 0.005
MALE_SHARE: Final = 0.51  # Hải Phòng's sex ratio at birth leans male
MAX_STUDENTS_PER_SCHOOL: Final = 99_999  # the 5-digit student code


def slug(text: str) -> str:
    """``"Hòa Nghĩa"`` -> ``"hoa-nghia"``: ASCII for ids and MQTT topic segments."""
    # đ is a letter of its own, not d plus a mark, so NFD leaves it alone.
    bare = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in bare if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")


# (level, name after the level label, ward). Public schools carry their ward's
# name; private kindergartens and some schools are named after flowers or people.
SCHOOL_CATALOG: Final[tuple[tuple[Level, str, str], ...]] = (
    ("mam_non", "Hải Thành", "Hải Thành"),
    ("mam_non", "Hòa Nghĩa", "Hòa Nghĩa"),
    ("mam_non", "Tân Thành", "Tân Thành"),
    ("mam_non", "Anh Dũng", "Anh Dũng"),
    ("mam_non", "Hưng Đạo", "Hưng Đạo"),
    ("mam_non", "Đa Phúc", "Đa Phúc"),
    ("mam_non", "Hoa Sen", "Hải Thành"),
    ("mam_non", "Họa Mi", "Hòa Nghĩa"),
    ("mam_non", "Sao Mai", "Anh Dũng"),
    ("mam_non", "Bình Minh", "Hưng Đạo"),
    ("tieu_hoc", "Hải Thành", "Hải Thành"),
    ("tieu_hoc", "Hòa Nghĩa", "Hòa Nghĩa"),
    ("tieu_hoc", "Tân Thành", "Tân Thành"),
    ("tieu_hoc", "Anh Dũng", "Anh Dũng"),
    ("tieu_hoc", "Hưng Đạo", "Hưng Đạo"),
    ("tieu_hoc", "Trần Quốc Toản", "Hải Thành"),
    ("thcs", "Hải Thành", "Hải Thành"),
    ("thcs", "Hòa Nghĩa", "Hòa Nghĩa"),
    ("thcs", "Tân Thành", "Tân Thành"),
    ("thcs", "Anh Dũng", "Anh Dũng"),
    ("thcs", "Hưng Đạo", "Hưng Đạo"),
    ("thcs", "Dương Kinh", "Anh Dũng"),
    ("th_thcs", "Đa Phúc", "Đa Phúc"),
    ("th_thcs", "Nguyễn Bỉnh Khiêm", "Tân Thành"),
)

# fmt: off
# Shares in percent of the population (national census figures); the north has
# Hoàng and Vũ where the south writes Huỳnh and Võ, so Hải Phòng gets mostly the former.
FAMILY_NAMES: Final[tuple[tuple[str, float], ...]] = (
    ("Nguyễn", 38.4), ("Trần", 12.1), ("Lê", 9.5), ("Phạm", 7.0), ("Hoàng", 4.6),
    ("Huỳnh", 0.5), ("Vũ", 3.5), ("Võ", 0.4), ("Phan", 4.5), ("Đặng", 2.1), ("Bùi", 2.0),
    ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Đào", 1.0),
    ("Đoàn", 0.9), ("Trịnh", 0.8), ("Đinh", 0.8), ("Lương", 0.6), ("Mai", 0.6),
    ("Cao", 0.5), ("Tạ", 0.4), ("Phùng", 0.4), ("Hà", 0.4), ("Tô", 0.3), ("Lưu", 0.3),
    ("Nghiêm", 0.2), ("Khúc", 0.2), ("Vương", 0.2),
)
# Văn and Thị, once near universal, are now a minority choice for children.
CHILD_MIDDLE: Final[dict[Gender, tuple[tuple[str, float], ...]]] = {
    "M": (
        ("Minh", 10), ("Gia", 8), ("Đức", 8), ("Bảo", 7), ("Quang", 6), ("Văn", 6),
        ("Hoàng", 5), ("Anh", 4), ("Đăng", 4), ("Nhật", 4), ("Tuấn", 4), ("Trung", 3),
        ("Hải", 3), ("Khánh", 3), ("Duy", 3), ("Thành", 3), ("Hữu", 2), ("Đình", 2),
        ("Tiến", 2), ("Công", 2), ("Thanh", 2), ("Phúc", 2),
    ),
    "F": (
        ("Ngọc", 10), ("Minh", 7), ("Thị", 7), ("Khánh", 6), ("Bảo", 6), ("Thanh", 5),
        ("Gia", 5), ("Phương", 5), ("Thu", 4), ("Hà", 4), ("Mai", 4), ("Thùy", 4),
        ("Hoài", 3), ("Tuệ", 3), ("Diệu", 3), ("Quỳnh", 3), ("Hải", 2), ("Kim", 2),
        ("Tường", 2), ("An", 2),
    ),
}
ADULT_MIDDLE: Final[dict[Gender, tuple[tuple[str, float], ...]]] = {
    "M": (
        ("Văn", 35), ("Đức", 10), ("Minh", 10), ("Quang", 8), ("Hữu", 8), ("Xuân", 6),
        ("Ngọc", 5), ("Mạnh", 5), ("Thanh", 5), ("Đình", 8),
    ),
    "F": (
        ("Thị", 50), ("Thu", 8), ("Thanh", 8), ("Ngọc", 7), ("Minh", 5), ("Thúy", 5),
        ("Hồng", 5), ("Kim", 5), ("Phương", 4), ("Lan", 3),
    ),
}
GIVEN_NAMES: Final[dict[Gender, tuple[str, ...]]] = {
    "M": (
        "An", "Anh", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đức", "Dương", "Hải",
        "Hiếu", "Hoàng", "Huy", "Hùng", "Khang", "Khánh", "Khôi", "Kiên", "Lâm", "Long",
        "Lộc", "Minh", "Nam", "Nghĩa", "Nguyên", "Phát", "Phong", "Phúc", "Quân", "Quang",
        "Sơn", "Tài", "Thắng", "Thành", "Thịnh", "Tiến", "Toàn", "Trí", "Trung", "Tuấn",
        "Tùng", "Việt", "Vinh", "Vũ",
    ),
    "F": (
        "An", "Anh", "Châu", "Chi", "Diệp", "Dung", "Giang", "Hà", "Hân", "Hằng", "Hạnh",
        "Hoa", "Huyền", "Hương", "Lan", "Linh", "Ly", "Mai", "My", "Ngân", "Ngọc", "Nhi",
        "Nhung", "Oanh", "Phương", "Quyên", "Quỳnh", "Thảo", "Thư", "Trâm", "Trang",
        "Uyên", "Vân", "Vy", "Yến",
    ),
}


# fmt: on


@dataclass(frozen=True, slots=True)
class School:
    id: str
    name: str
    level: Level
    ward: str
    start_time: time


@dataclass(frozen=True, slots=True)
class Room:
    school_id: str
    name: str  # "P.101"
    number: int  # 101: floor 1, room 1


@dataclass(frozen=True, slots=True)
class SchoolClass:
    school_id: str
    name: str  # "6A1", "Lớp Mầm 1"
    grade: int  # 0: kindergarten
    age: int  # the age its pupils reach in the calendar year the school year starts
    room_name: str
    homeroom_teacher: str


@dataclass(frozen=True, slots=True)
class Student:
    code: str  # "<school-id>-00001", the person id of the edge galleries
    school_id: str
    class_name: str
    full_name: str
    birth_date: date
    gender: Gender
    personal_id: str
    moet_id: str


@dataclass(frozen=True, slots=True)
class Card:
    uid: str  # 4-byte MIFARE UID as 8 upper-case hex digits
    student_code: str
    status: CardStatus


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    school_id: str
    role: DeviceRole
    room_name: str | None = None
    projector_asset: str | None = None


@dataclass(frozen=True, slots=True)
class District:
    seed: int
    school_year: int  # the calendar year the school year starts in
    schools: tuple[School, ...]
    rooms: tuple[Room, ...]
    classes: tuple[SchoolClass, ...]
    students: tuple[Student, ...]
    cards: tuple[Card, ...]
    devices: tuple[Device, ...]
    name: str = "Quận Dương Kinh"

    def school(self, school_id: str) -> School:
        for school in self.schools:
            if school.id == school_id:
                return school
        raise KeyError(school_id)

    def counts(self) -> dict[str, int]:
        return {
            "schools": len(self.schools),
            "rooms": len(self.rooms),
            "classes": len(self.classes),
            "students": len(self.students),
            "cards": len(self.cards),
            "devices": len(self.devices),
        }


class _Picker:
    """Weighted choice by bisection over cumulative weights.

    ``random.choices`` would do, but rebuilding its cumulative table on every call
    costs more than the rest of a student's generation.
    """

    def __init__(self, items: Iterable[tuple[str, float]]) -> None:
        pairs = list(items)
        self.names = tuple(nfc(name) for name, _ in pairs)
        self.cum = tuple(accumulate(weight for _, weight in pairs))

    def __call__(self, rng: random.Random) -> str:
        return self.names[bisect(self.cum, rng.random() * self.cum[-1])]


_FAMILY = _Picker(FAMILY_NAMES)
_CHILD_MIDDLE = {g: _Picker(table) for g, table in CHILD_MIDDLE.items()}
_ADULT_MIDDLE = {g: _Picker(table) for g, table in ADULT_MIDDLE.items()}
_GIVEN = {g: _Picker((name, 1.0) for name in names) for g, names in GIVEN_NAMES.items()}


def _full_name(rng: random.Random, gender: Gender, middle: dict[Gender, _Picker]) -> str:
    given = _GIVEN[gender](rng)
    mid = middle[gender](rng)
    while mid == given:  # "Minh Minh" is not a name anyone gives
        mid = middle[gender](rng)
    return f"{_FAMILY(rng)} {mid} {given}"


def birth_year(school_year: int, grade: int) -> int:
    """Birth year of a pupil in grade 1-12 who has never repeated or skipped a year."""
    return school_year - (GRADE_1_AGE - 1) - grade


def _school_classes(level: Level, pupils: float) -> list[tuple[str, int, int]]:
    """(name, grade, age) of the classes a school of this many pupils runs."""
    size = CLASS_SIZE[level]
    if level == "mam_non":
        per_group = max(1, round(pupils / (size * len(KINDERGARTEN_AGE))))
        return [
            (nfc(f"Lớp {group} {k}"), 0, age)
            for group, age in KINDERGARTEN_AGE.items()
            for k in range(1, per_group + 1)
        ]
    grades = LEVEL_GRADES[level]
    per_grade = max(1, round(pupils / (size * len(grades))))
    return [
        (f"{grade}A{k}", grade, GRADE_1_AGE - 1 + grade)
        for grade in grades
        for k in range(1, per_grade + 1)
    ]


def _distribute(total: int, sizes: Sequence[int], rng: random.Random) -> list[int]:
    """Class sizes near their nominal values, scaled so they add up to about ``total``."""
    scale = total / sum(sizes)
    return [max(1, round(size * scale) + rng.randint(-3, 3)) for size in sizes]


class _Builder:
    """Accumulates the district school by school; owns the one RNG and the uniqueness sets."""

    def __init__(self, rng: random.Random, school_year: int) -> None:
        self.rng = rng
        self.school_year = school_year
        self.rooms: list[Room] = []
        self.classes: list[SchoolClass] = []
        self.students: list[Student] = []
        self.cards: list[Card] = []
        self.devices: list[Device] = []
        self._pids: set[str] = set()
        self._moet_serials: set[int] = set()
        self._uids: set[int] = set()

    def _unique(self, used: set[int], limit: int) -> int:
        value = self.rng.randrange(limit)
        while value in used:
            value = self.rng.randrange(limit)
        used.add(value)
        return value

    def _card(self, code: str, status: CardStatus) -> None:
        uid = self._unique(self._uids, 1 << 32)
        self.cards.append(Card(f"{uid:08X}", code, status))

    def add_school(self, school: School, plan: Sequence[tuple[str, int, int, int]]) -> None:
        """``plan``: (class name, grade, age, pupils) per class, in the order rooms are numbered."""
        teachers: set[str] = set()
        rooms: list[Room] = []
        pupils = 0
        for index, (class_name, grade, age, size) in enumerate(plan):
            number = (index // ROOMS_PER_FLOOR + 1) * 100 + index % ROOMS_PER_FLOOR + 1
            rooms.append(Room(school.id, f"P.{number}", number))
            female = school.level == "mam_non" or self.rng.random() < 0.85
            teacher = _full_name(self.rng, "F" if female else "M", _ADULT_MIDDLE)
            while teacher in teachers:
                teacher = _full_name(self.rng, "F" if female else "M", _ADULT_MIDDLE)
            teachers.add(teacher)
            klass = SchoolClass(school.id, class_name, grade, age, rooms[-1].name, teacher)
            self.classes.append(klass)
            for _ in range(size):
                pupils += 1
                if pupils > MAX_STUDENTS_PER_SCHOOL:
                    raise ValueError(f"{school.id}: more pupils than a 5-digit code can number")
                self._student(klass, f"{school.id}-{pupils:05d}")
        self.rooms += rooms
        gates = 2 if pupils >= TWO_GATES_FROM else 1
        self.devices += [
            Device(f"{school.id}-gate-{n}", school.id, "gate") for n in range(1, gates + 1)
        ]
        self.devices += [
            Device(
                f"{school.id}-r{room.number}",
                school.id,
                "classroom",
                room_name=room.name,
                projector_asset=f"PJ-{school.id}-{room.number}",
            )
            for room in rooms
        ]

    def _student(self, klass: SchoolClass, code: str) -> None:
        rng = self.rng
        year = self.school_year - klass.age
        gender: Gender = "M" if rng.random() < MALE_SHARE else "F"
        pid = make_personal_id(PROVINCE, year, gender, rng.randrange(PERSONAL_SERIAL_LIMIT))
        while pid in self._pids:
            pid = make_personal_id(PROVINCE, year, gender, rng.randrange(PERSONAL_SERIAL_LIMIT))
        self._pids.add(pid)
        year_days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
        self.students.append(
            Student(
                code=code,
                school_id=klass.school_id,
                class_name=klass.name,
                full_name=_full_name(rng, gender, _CHILD_MIDDLE),
                birth_date=date(year, 1, 1) + timedelta(days=rng.randrange(year_days)),
                gender=gender,
                personal_id=pid,
                moet_id=make_moet_id(PROVINCE, self._unique(self._moet_serials, MOET_SERIAL_LIMIT)),
            )
        )
        if rng.random() < LOST_OR_BLOCKED_SHARE:
            # The replaced card stays on record so a reader can be shown refusing it.
            self._card(code, "lost" if rng.random() < 0.7 else "blocked")
        self._card(code, "active")


def generate_district(
    seed: int = DEFAULT_SEED,
    students_target: int = DEFAULT_STUDENTS,
    *,
    school_year: int = DEFAULT_SCHOOL_YEAR,
) -> District:
    """The whole simulated district; the same arguments give the same district."""
    if students_target < 1:
        raise ValueError("students_target must be positive")
    rng = random.Random(seed)
    base_total = sum(_NOMINAL_PUPILS[level] for level, _, _ in SCHOOL_CATALOG)

    schools: list[School] = []
    plans: list[list[tuple[str, int, int]]] = []
    nominal: list[int] = []
    for level, short, ward in SCHOOL_CATALOG:
        name = nfc(f"Trường {LEVEL_LABEL[level]} {short}")
        school_id = f"{LEVEL_SLUG[level]}-{slug(short)}"
        schools.append(School(school_id, name, level, nfc(ward), START_TIME[level]))
        pupils = _NOMINAL_PUPILS[level] * rng.uniform(0.75, 1.25) * students_target / base_total
        plan = _school_classes(level, pupils)
        plans.append(plan)
        nominal += [CLASS_SIZE[level]] * len(plan)

    sizes = iter(_distribute(students_target, nominal, rng))
    builder = _Builder(rng, school_year)
    for school, plan in zip(schools, plans, strict=True):
        builder.add_school(school, [(*klass, next(sizes)) for klass in plan])

    return District(
        seed=seed,
        school_year=school_year,
        schools=tuple(schools),
        rooms=tuple(builder.rooms),
        classes=tuple(builder.classes),
        students=tuple(builder.students),
        cards=tuple(builder.cards),
        devices=tuple(builder.devices),
    )
