"""A realistic education-database export for one simulated school, for tests and demos.

Built from smartschool.demo.district (same seed, same file): pupils with their classes and
identifiers, parents named the way Vietnamese families are (the child carries the
father's family name), staff and cards. Pure: returns headers and rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from hub.records.cells import (
    CARD_STATUS_LABEL,
    CHANNEL_LABEL,
    GENDER_LABEL,
    RELATION_LABEL,
    YES_NO_LABEL,
    Channel,
    GuardianRelation,
)
from hub.records.columns import CARD_COLUMNS, GUARDIAN_COLUMNS, STAFF_COLUMNS, STUDENT_COLUMNS
from hub.records.identifiers import HAI_PHONG, Gender, make_personal_id
from smartschool.demo.district import (
    ADULT_MIDDLE,
    FAMILY_NAMES,
    GIVEN_NAMES,
    District,
    generate_district,
)

SAMPLE_SEED: Final = 2025
SAMPLE_TARGET: Final = 2100  # district pupils; its TH&THCS school then has about 200
SAMPLE_SCHOOL: Final = "th-thcs-da-phuc"
_POSITIONS: Final = ("Hiệu trưởng", "Phó hiệu trưởng", "Giáo viên", "Giáo viên", "Giáo viên",
                     "Giáo viên", "Nhân viên văn phòng", "Bảo vệ")


@dataclass(frozen=True, slots=True)
class Sample:
    school_id: str
    school_name: str
    level: str
    ward: str
    students: tuple[list[str], list[list[str]]]
    staff: tuple[list[str], list[list[str]]]
    cards: tuple[list[str], list[list[str]]]
    guardians: tuple[list[str], list[list[str]]]


def _adult(rng: random.Random, gender: Gender, family: str | None = None) -> str:
    middles = ADULT_MIDDLE[gender]
    given = rng.choice(GIVEN_NAMES[gender])
    middle = rng.choice(middles)[0]
    while middle == given:
        middle = rng.choice(middles)[0]
    return f"{family or rng.choice(FAMILY_NAMES)[0]} {middle} {given}"


def build_sample(district: District | None = None, school_id: str = SAMPLE_SCHOOL,
                 *, seed: int = SAMPLE_SEED) -> Sample:
    district = district or generate_district(seed, SAMPLE_TARGET)
    school = district.school(school_id)
    rng = random.Random(seed)
    pupils = [s for s in district.students if s.school_id == school_id]
    rows = []
    for n, st in enumerate(pupils, 1):
        family = st.full_name.split()[0]
        father = _adult(rng, "M", family)
        mother = _adult(rng, "F")
        rows.append([
            str(n), st.class_name, st.moet_id, st.full_name, st.birth_date.strftime("%d/%m/%Y"),
            GENDER_LABEL[st.gender], "Kinh", "Việt Nam", "Hải Phòng", "Dương Kinh", school.ward,
            father, str(st.birth_date.year - rng.randint(24, 38)),
            mother, str(st.birth_date.year - rng.randint(22, 35)), st.personal_id,
        ])
    staff_rows = []
    for n in range(1, 21):
        gender: Gender = "F" if rng.random() < 0.8 else "M"
        year = rng.randint(1968, 2000)
        staff_rows.append([
            str(n), f"CB{n:03d}", _adult(rng, gender), f"{rng.randint(1, 28):02d}/"
            f"{rng.randint(1, 12):02d}/{year}", GENDER_LABEL[gender],
            _POSITIONS[min(n - 1, len(_POSITIONS) - 1)],
            make_personal_id(HAI_PHONG, year, gender, rng.randrange(10**6)), "",
            f"09{rng.randrange(10**8):08d}",
        ])
    codes = {st.code: st for st in pupils}
    card_rows = [
        [str(n), card.uid, codes[card.student_code].moet_id, "", CARD_STATUS_LABEL[card.status]]
        for n, card in enumerate((c for c in district.cards if c.student_code in codes), 1)
    ]
    start = len(card_rows)
    for k, row in enumerate(staff_rows, 1):
        card_rows.append([str(start + k), f"{rng.getrandbits(32):08X}", "", row[1],
                          CARD_STATUS_LABEL["active"]])
    # Drawn after everything above, so adding this list left the other files unchanged.
    guardian_rows = _guardian_rows(rng, rows)
    return Sample(
        school_id=school.id,
        school_name=school.name,
        level=school.level,
        ward=school.ward,
        students=([c.header for c in STUDENT_COLUMNS], rows),
        staff=([c.header for c in STAFF_COLUMNS], staff_rows),
        cards=([c.header for c in CARD_COLUMNS], card_rows),
        guardians=([c.header for c in GUARDIAN_COLUMNS], guardian_rows),
    )


def _mobile(rng: random.Random) -> str:
    # Written the way parents give them on the school's form: 0xxx xxx xxx.
    digits = f"0{rng.choice('35789')}{rng.randrange(10**8):08d}"
    return f"{digits[:4]} {digits[4:7]} {digits[7:]}"


def _guardian_rows(rng: random.Random, students: list[list[str]]) -> list[list[str]]:
    """Both parents of every pupil: most mothers on Zalo, some parents on SMS, the rest
    (no contact given yet) not notified."""
    out: list[list[str]] = []
    for st in students:
        parents: tuple[tuple[GuardianRelation, str, str], ...] = (
            ("mother", st[13], st[14]), ("father", st[11], st[12]))
        for relation, name, year in parents:
            draw = rng.random()
            phone = _mobile(rng) if draw < 0.85 else ""
            channel: Channel = "none"
            address = ""
            if relation == "mother" and draw < 0.6:
                channel, address = "zalo", str(rng.randrange(10**18, 10**19))
            elif draw < 0.85 and (relation == "mother" or draw < 0.3):
                channel = "sms"
            out.append([str(len(out) + 1), st[2], st[1], st[3], RELATION_LABEL[relation], name,
                        year, phone, CHANNEL_LABEL[channel], address, YES_NO_LABEL[True]])
    return out
