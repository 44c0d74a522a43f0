"""The simulated district: shape, realism and determinism, without a database."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import astuple

import pytest

from hub.records.identifiers import HAI_PHONG, validate_moet_id, validate_personal_id
from protocol.ids import ID_PATTERN
from smartschool.demo.district import (
    DEFAULT_SCHOOL_YEAR,
    WARDS,
    District,
    birth_year,
    generate_district,
    slug,
)

VIETNAMESE_MARKS = re.compile(
    r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.I
)


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district()


def test_default_size(district):
    assert len(district.schools) >= 20
    assert 13_500 <= len(district.students) <= 16_500
    assert {s.level for s in district.schools} == {"mam_non", "tieu_hoc", "thcs", "th_thcs"}
    assert {s.ward for s in district.schools} == set(WARDS)
    assert len(district.rooms) == len(district.classes)
    assert district.counts()["students"] == len(district.students)


@pytest.mark.parametrize("target", [2_000, 15_000, 40_000])
def test_students_target_is_met_within_ten_percent(target):
    got = len(generate_district(seed=7, students_target=target).students)
    assert abs(got - target) <= target * 0.10


def test_same_seed_same_district_other_seed_other_district(district):
    assert generate_district() == district
    other = generate_district(seed=1)
    assert [s.full_name for s in other.students[:50]] != [
        s.full_name for s in district.students[:50]
    ]


def test_school_names_ids_and_start_times(district):
    labels = {"mam_non": "Mầm non", "tieu_hoc": "Tiểu học", "thcs": "THCS", "th_thcs": "TH&THCS"}
    prefixes = {"mam_non": "mn-", "tieu_hoc": "th-", "thcs": "thcs-", "th_thcs": "th-thcs-"}
    for school in district.schools:
        assert school.name.startswith(f"Trường {labels[school.level]} ")
        assert re.fullmatch(r"[a-z0-9-]+", school.id)
        assert school.id.startswith(prefixes[school.level])
        expected = "07:30" if school.level == "mam_non" else "07:00"
        assert school.start_time.strftime("%H:%M") == expected
    ids = {s.id for s in district.schools}
    assert {"th-hai-thanh", "thcs-tan-thanh", "mn-hoa-sen"} <= ids
    assert "Trường Tiểu học Hải Thành" in {s.name for s in district.schools}


def test_slug():
    assert slug("Hòa Nghĩa") == "hoa-nghia"
    assert slug("Đa Phúc") == "da-phuc"
    assert slug("Nguyễn Bỉnh Khiêm") == "nguyen-binh-khiem"


def test_ids_are_unique(district):
    for values in (
        [s.id for s in district.schools],
        [(r.school_id, r.name) for r in district.rooms],
        [(c.school_id, c.name) for c in district.classes],
        [s.code for s in district.students],
        [s.personal_id for s in district.students],
        [s.moet_id for s in district.students],
        [c.uid for c in district.cards],
        [d.id for d in district.devices],
        [d.projector_asset for d in district.devices if d.projector_asset],
    ):
        assert len(values) == len(set(values))


def test_every_string_is_nfc(district):
    for rows in (district.schools, district.classes, district.students):
        for row in rows:
            for value in astuple(row):
                if isinstance(value, str):
                    assert unicodedata.is_normalized("NFC", value), value


def test_names_look_vietnamese(district):
    names = [s.full_name for s in district.students]
    assert sum(bool(VIETNAMESE_MARKS.search(n)) for n in names) > 0.8 * len(names)
    assert all(len(n.split()) >= 3 for n in names)
    families = Counter(n.split()[0] for n in names)
    assert 0.33 < families["Nguyễn"] / len(names) < 0.44
    assert families.most_common(4)[1][0] == "Trần"
    assert len(families) >= 15
    # Văn / Thị are still given, but no longer to most children.
    middles = Counter(n.split()[1] for n in names)
    assert 0 < middles["Văn"] + middles["Thị"] < 0.15 * len(names)
    # Common names repeat across a district, but not among one school's staff.
    teachers = [(c.school_id, c.homeroom_teacher) for c in district.classes]
    assert len(set(teachers)) == len(teachers)
    assert all(len(name.split()) >= 3 for _, name in teachers)


def test_gender_is_about_even(district):
    males = sum(s.gender == "M" for s in district.students)
    assert 0.46 < males / len(district.students) < 0.56


def test_classes_grades_and_sizes(district):
    by_school = {s.id: s for s in district.schools}
    expected_grades = {
        "mam_non": {0},
        "tieu_hoc": {1, 2, 3, 4, 5},
        "thcs": {6, 7, 8, 9},
        "th_thcs": set(range(1, 10)),
    }
    grades: dict[str, set[int]] = {}
    for c in district.classes:
        grades.setdefault(c.school_id, set()).add(c.grade)
        if c.grade == 0:
            assert re.fullmatch(r"Lớp (Mầm|Chồi|Lá) \d+", c.name)
        else:
            assert re.fullmatch(rf"{c.grade}A\d+", c.name)
    for school_id, found in grades.items():
        assert found == expected_grades[by_school[school_id].level]
    assert {"6A1", "1A2", "Lớp Mầm 1"} <= {c.name for c in district.classes}

    sizes = Counter((s.school_id, s.class_name) for s in district.students)
    kinder = [n for (school, _), n in sizes.items() if by_school[school].level == "mam_non"]
    others = [n for (school, _), n in sizes.items() if by_school[school].level != "mam_non"]
    assert 20 <= sum(kinder) / len(kinder) <= 30
    assert 30 <= sum(others) / len(others) <= 40
    assert len(sizes) == len(district.classes)  # no empty class


def test_rooms_one_per_class(district):
    rooms = {(r.school_id, r.name) for r in district.rooms}
    assert {(c.school_id, c.room_name) for c in district.classes} == rooms
    for room in district.rooms:
        assert room.name == f"P.{room.number}"
        assert room.number % 100 >= 1


def test_birth_dates_match_grades(district):
    classes = {(c.school_id, c.name): c for c in district.classes}
    for student in district.students:
        cls = classes[student.school_id, student.class_name]
        year = student.birth_date.year
        assert year == district.school_year - cls.age
        if cls.grade >= 1:
            assert year == birth_year(district.school_year, cls.grade)
        else:
            assert 3 <= cls.age <= 5
    assert birth_year(DEFAULT_SCHOOL_YEAR, 1) == 2019  # 6 in the year grade 1 starts


def test_personal_and_moet_ids(district):
    for s in district.students:
        assert s.personal_id.startswith(HAI_PHONG)
        assert (
            validate_personal_id(s.personal_id, birth_year=s.birth_date.year, gender=s.gender) == []
        )
        assert validate_moet_id(s.moet_id, province=HAI_PHONG) == []


def test_student_codes(district):
    for s in district.students:
        assert re.fullmatch(rf"{re.escape(s.school_id)}-\d{{5}}", s.code)


def test_cards(district):
    codes = {s.code for s in district.students}
    active = Counter(c.student_code for c in district.cards if c.status == "active")
    assert set(active) == codes and set(active.values()) == {1}
    assert all(re.fullmatch(r"[0-9A-F]{8}", c.uid) for c in district.cards)
    inactive = [c for c in district.cards if c.status != "active"]
    assert {c.status for c in inactive} == {"lost", "blocked"}
    assert 0.002 < len(inactive) / len(codes) < 0.01
    assert all(c.student_code in codes for c in inactive)


def test_devices(district):
    by_school = Counter(d.school_id for d in district.devices if d.role == "gate")
    assert set(by_school) == {s.id for s in district.schools}
    assert set(by_school.values()) <= {1, 2} and 2 in by_school.values()
    rooms = {(r.school_id, r.name): r for r in district.rooms}
    classroom = [d for d in district.devices if d.role == "classroom"]
    assert len(classroom) == len(district.rooms)
    for d in district.devices:
        assert ID_PATTERN.fullmatch(d.id), d.id
        if d.role == "gate":
            assert re.fullmatch(rf"{re.escape(d.school_id)}-gate-[12]", d.id)
            assert d.room_name is None and d.projector_asset is None
        else:
            assert d.room_name is not None
            room = rooms[d.school_id, d.room_name]
            assert d.id == f"{d.school_id}-r{room.number}"
            assert d.projector_asset == f"PJ-{d.school_id}-{room.number}"


def test_tiny_district_still_has_every_school_and_class():
    small = generate_district(seed=3, students_target=500)
    assert len(small.schools) == len(generate_district().schools)
    assert len(small.students) >= len(small.classes)


def test_refuses_nonsense_target():
    with pytest.raises(ValueError):
        generate_district(students_target=0)
