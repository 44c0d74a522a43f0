"""The demo's records, incomplete the way a real district's are (issue #13).

A district that reached every target would leave the plan's page nothing to say. Here,
as in the registers schools hand in: some pupils lack their MOET id or personal id, one
homeroom teacher per class is on the staff list but not all with both ids, guardians are
on record but not all reachable on a digital channel, and classrooms have a computer
beside their projector except where it is missing or the projector is in repair.

Deterministic (each choice hashes the record's own key) and idempotent, so a restarted
demo writes the same gaps. Kept apart from `seed.py`, whose district is complete on
purpose (its tests compare every seeded field with the generator's).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from typing import Final

from hub.db import Conn
from hub.records.codes import staff_code
from hub.records.identifiers import PERSONAL_SERIAL_LIMIT, make_moet_id, make_personal_id
from smartschool.demo.district import District

# Shares of records with each gap; small, as in a district well on its way.
NO_MOET_ID: Final = 0.05
NO_PERSONAL_ID: Final = 0.02
TEACHER_NO_PERSONAL_ID: Final = 0.08
TEACHER_NO_MOET_ID: Final = 0.10
GUARDIAN_ZALO: Final = 0.55
GUARDIAN_SMS: Final = 0.20  # the rest chose no channel: on record, not reachable
ROOM_WITHOUT_PC: Final = 0.08
PROJECTOR_IN_REPAIR: Final = 0.05
PC_WITHOUT_PAPERS: Final = 0.15
# Teachers come from elsewhere than the pupils (Thái Bình), born in the 1970s-90s, so
# their generated personal ids never meet a pupil's.
TEACHER_PROVINCE: Final = "034"
TEACHER_MOET_SERIAL_BASE: Final = 9_000_000


def _share(key: str, salt: str) -> float:
    return (zlib.crc32(f"{salt}:{key}".encode()) % 10_000) / 10_000


@dataclass(frozen=True, slots=True)
class GapCounts:
    pupils_without_moet_id: int
    pupils_without_personal_id: int
    teachers: int
    guardians: int
    computers: int
    projectors_in_repair: int


def seed_records_gaps(conn: Conn, district: District) -> GapCounts:
    no_moet = [s.code for s in district.students if _share(s.code, "moet") < NO_MOET_ID]
    no_pid = [s.code for s in district.students if _share(s.code, "pid") < NO_PERSONAL_ID]
    teachers = []
    for n, klass in enumerate(district.classes):
        code = staff_code(klass.school_id, f"{n + 1:05d}")
        year = 1970 + zlib.crc32(code.encode()) % 30
        pid = (None if _share(code, "pid") < TEACHER_NO_PERSONAL_ID
               else make_personal_id(TEACHER_PROVINCE, year, "F", n % PERSONAL_SERIAL_LIMIT))
        moet = (None if _share(code, "moet") < TEACHER_NO_MOET_ID
                else make_moet_id(TEACHER_PROVINCE, TEACHER_MOET_SERIAL_BASE + n))
        teachers.append((code, klass.school_id, klass.homeroom_teacher, pid, moet))
    guardians = []
    for s in district.students:
        pick = _share(s.code, "guardian")
        h = zlib.crc32(s.code.encode())
        if pick < GUARDIAN_ZALO:
            channel, phone, address = "zalo", None, f"{h:010d}{h % 997:06d}"
        elif pick < GUARDIAN_ZALO + GUARDIAN_SMS:
            channel, phone, address = "sms", f"+8491{h % 10_000_000:07d}", None
        else:
            channel, phone, address = "none", None, None
        guardians.append((s.code, channel, phone, address))
    computers = []
    for d in district.devices:
        if not (d.projector_asset and d.room_name) \
                or _share(d.projector_asset, "pc") < ROOM_WITHOUT_PC:
            continue
        tag = f"PC-{d.school_id}-{d.projector_asset.rsplit('-', 1)[-1]}"
        h = zlib.crc32(tag.encode())
        # Most computers arrived with their papers; some records lack the purchase.
        bought = None if _share(tag, "papers") < PC_WITHOUT_PAPERS else date(2020 + h % 5, 9, 1)
        computers.append((tag, f"PC{h:08X}", bought, d.school_id, d.room_name, d.id))
    repair = [d.projector_asset for d in district.devices
              if d.projector_asset and _share(d.projector_asset, "repair") < PROJECTOR_IN_REPAIR]
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("update students set moet_id = null where code = any(%s)", (no_moet,))
        cur.execute("update students set personal_id = null where code = any(%s)", (no_pid,))
        cur.executemany(
            """insert into staff (code, school_id, full_name, personal_id, moet_id, position)
               values (%s, %s, %s, %s, %s, 'Giáo viên') on conflict do nothing""",
            teachers)
        cur.execute(
            """insert into guardians (student_id, full_name, relation, phone, channel, address)
               select st.id, 'Phụ huynh ' || st.full_name, 'mother', x.phone, x.channel,
                      x.address
               from unnest(%s::text[], %s::text[], %s::text[], %s::text[])
                    as x(code, channel, phone, address)
               join students st on st.code = x.code
               on conflict do nothing""",
            [list(column) for column in zip(*guardians, strict=True)] if guardians
            else [[], [], [], []])
        cur.executemany(
            """insert into assets (tag, type, model, serial, school_id, room_id, purchase_date,
                                  warranty_end, device_id)
               select %s, 'pc', 'Dell OptiPlex 3000', %s, %s,
                      (select id from rooms where school_id = %s and name = %s),
                      %s, %s, (select id from devices where id = %s)
               on conflict (tag) do nothing""",
            [(tag, serial, school, school, room, bought,
              None if bought is None else bought.replace(year=bought.year + 3), dev)
             for tag, serial, bought, school, room, dev in computers])
        cur.execute("update assets set status = 'repair' where tag = any(%s)", (repair,))
    return GapCounts(len(no_moet), len(no_pid), len(teachers), len(guardians),
                     len(computers), len(repair))
