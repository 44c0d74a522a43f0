"""The timetable import against real PostgreSQL: CLI and library, CSV and XLSX, errors as
FILE:ROW:COLUMN, dry run, idempotent re-import, a corrected file keeping lesson ids."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from hub.devices.registry import upsert_school
from hub.timetable.importer import import_timetable, load_lessons

pytestmark = pytest.mark.integration

SCHOOL = "thcs-lich"
SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "timetable_sample.csv"


def seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        upsert_school(conn, code=SCHOOL, name="THCS Thử Lịch", level="thcs", ward="Hải Thành")
        room = conn.execute("insert into rooms (school_id, name) values (%s, 'P201')"
                            " returning id", (SCHOOL,)).fetchone()
        assert room is not None
        for name, room_id in (("6A1", None), ("6A2", room[0])):
            conn.execute("insert into classes (school_id, name, grade, room_id)"
                         " values (%s, %s, 6, %s)", (SCHOOL, name, room_id))


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMARTSCHOOL_DATABASE_URL": url}
    entry = str(Path(sys.executable).parent / "smartschool")  # the installed command
    return subprocess.run([entry, "timetable", *args],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from timetable_lessons").fetchone()
    assert row is not None
    return int(row[0])


def test_cli_dry_run_then_import_then_again(pg_url: str) -> None:
    seed(pg_url)
    dry = cli(pg_url, "import", str(SAMPLE), "--school", SCHOOL, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "6 rows, 6 new" in dry.stdout and "dry run, rolled back" in dry.stdout
    assert count(pg_url) == 0

    done = cli(pg_url, "import", str(SAMPLE), "--school", SCHOOL)
    assert done.returncode == 0, done.stderr
    assert "6 new, 0 updated, 0 unchanged, 0 deleted, 3 rooms created" in done.stdout
    with psycopg.connect(pg_url) as conn:
        lessons = load_lessons(conn, school=SCHOOL)
    assert [(x.class_name, x.weekday, x.period, x.room) for x in lessons] == [
        ("6A1", 1, 1, "P101"), ("6A1", 1, 2, "P101"), ("6A1", 2, 1, "P101"),
        ("6A2", 1, 1, "P102"), ("6A2", 1, 2, "Phòng máy"),
        ("6A2", 7, 1, "P201"),  # no room written: the class's own
    ]
    again = cli(pg_url, "import", str(SAMPLE), "--school", SCHOOL)
    assert again.returncode == 0
    assert "0 new, 0 updated, 6 unchanged, 0 deleted, 0 rooms created" in again.stdout
    with psycopg.connect(pg_url) as conn:
        assert [x.id for x in load_lessons(conn, school=SCHOOL)] == [x.id for x in lessons]

    shown = cli(pg_url, "show", "--school", SCHOOL, "--class", "6a2")
    assert shown.returncode == 0
    assert "Chủ nhật\t1\t08:00-08:45\tNgoại khoá\tCô Hoa\tP201" in shown.stdout


def test_errors_write_nothing_and_name_row_and_column(pg_url: str, tmp_path: Path) -> None:
    seed(pg_url)
    bad = tmp_path / "tkb.csv"
    bad.write_text(
        "Lớp,Thứ,Tiết,Bắt đầu,Kết thúc,Môn,Phòng\n"
        "6A1,2,1,07:00,07:45,Toán,P101\n"
        "6A1,2,2,07:30,08:15,Văn,P101\n"       # overlaps period 1
        "9C9,2,1,07:00,07:45,Toán,P109\n"      # unknown class
        "6A2,2,1,7h,25:00,Toán,P102\n"         # bad time
        "6A2,2,3,09:00,09:45,Toán,P101\n",     # fine
        encoding="utf-8")
    result = cli(pg_url, "import", str(bad), "--school", SCHOOL)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{bad}:3:Bắt đầu: overlaps period 1 of 6A1 (row 2, 07:00-07:45)",
        f"{bad}:4:Lớp: class '9C9' is not in this school's records (import the pupils "
        "list first)",
        f"{bad}:5:Kết thúc: '25:00' is not a time of day (00:00 to 23:59)",
    ]
    assert "3 errors; nothing written" in result.stdout
    assert count(pg_url) == 0


def test_a_corrected_file_updates_keeps_ids_and_deletes_the_rest(pg_url: str) -> None:
    from openpyxl import Workbook

    seed(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        first = import_timetable(conn, SAMPLE.read_bytes(), file=SAMPLE.name, school=SCHOOL)
        assert first.written and first.inserted == 6
        before = {(x.class_name, x.weekday, x.period): x.id
                  for x in load_lessons(conn, school=SCHOOL)}
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["Lớp", "Thứ", "Tiết", "Bắt đầu", "Kết thúc", "Môn học", "GV", "Phòng"])
        sheet.append(["6A1", "Thứ hai", 1, "07:00", "07:45", "Chào cờ", "Cô Lan", "P101"])
        sheet.append(["6A1", "Thứ hai", 2, "07:50", "08:35", "Toán", "Thầy Nam", "P101"])
        buf = io.BytesIO()
        book.save(buf)
        second = import_timetable(conn, buf.getvalue(), file="tkb.xlsx", school=SCHOOL)
        assert (second.inserted, second.updated, second.unchanged, second.deleted) == (0, 1, 1, 4)
        after = load_lessons(conn, school=SCHOOL)
    assert [(x.class_name, x.period, x.teacher) for x in after] == [
        ("6A1", 1, "Cô Lan"), ("6A1", 2, "Thầy Nam")]
    assert [x.id for x in after] == [before[("6A1", 1, 1)], before[("6A1", 1, 2)]]


def test_unreadable_file_and_unknown_school(pg_url: str, tmp_path: Path) -> None:
    seed(pg_url)
    junk = tmp_path / "tkb.xlsx"
    junk.write_bytes(b"not a zip")
    result = cli(pg_url, "import", str(junk), "--school", SCHOOL)
    assert result.returncode == 1 and "not a readable .xlsx file" in result.stderr
    missing = cli(pg_url, "import", str(SAMPLE), "--school", "no-such")
    assert missing.returncode == 2 and "school 'no-such' does not exist" in missing.stderr
