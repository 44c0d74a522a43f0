"""Guardians' contacts against the real PostgreSQL: `records import --kind guardians` with a
precise error report, idempotent re-import and export round trip, the API update path,
and an imported contact ending up in the notification outbox."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.settings import Settings, get_settings
from hub.accounts.auth import create_user, ensure_admin
from hub.api.app import create_app
from hub.devices.registry import upsert_school
from hub.notify.outbox import enqueue_gate_notifications
from hub.records.cells import parse_mobile
from hub.records.tables import read_rows, write_rows
from smartschool.cli import app
from smartschool.demo.records_sample import build_sample

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "records"
SCHOOL = "th-thcs-da-phuc"
OTHER = "thcs-khac"
STUDENTS_CSV = FIXTURES / f"{SCHOOL}-students.csv"
PASSWORD = "guardian-pass-123"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2025, 9, 8)
SAMPLE = build_sample()
HEADERS, ROWS = SAMPLE.guardians
# Column positions in the sample guardians list (GUARDIAN_COLUMNS order).
MOET, CLASS, PUPIL, RELATION, NAME, YEAR, PHONE, CHANNEL, ADDRESS, NOTIFY = range(1, 11)


@pytest.fixture
def db(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường TH&THCS Đa Phúc", level="th_thcs",
                      ward="Đa Phúc")
    result = run("import", STUDENTS_CSV, "--school", SCHOOL)
    assert result.exit_code == 0, result.output
    yield pg_url
    get_settings.cache_clear()


def run(*args: str | Path):
    return CliRunner().invoke(app, ["records", *map(str, args)])


def rows_of(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def contacts(url: str) -> set[tuple[Any, ...]]:
    """(MOET id, relation, name) -> phone, channel, address, notify of every guardian."""
    return set(rows_of(url, "select s.moet_id, g.relation, g.full_name, g.phone, g.channel,"
                            " g.address, g.notify from guardians g"
                            " join students s on s.id = g.student_id"))


def expected(rows: list[list[str]]) -> set[tuple[Any, ...]]:
    relation = {"Cha": "father", "Mẹ": "mother"}
    channel = {"Zalo": "zalo", "SMS": "sms", "Không": "none"}
    return {(r[MOET], relation[r[RELATION]], r[NAME],
             parse_mobile(r[PHONE]) if r[PHONE] else None, channel[r[CHANNEL]],
             r[ADDRESS] or None, True) for r in rows}


def first(channel: str, relation: str = "Mẹ", *, phone: bool | None = None) -> list[str]:
    return next(r for r in ROWS if r[CHANNEL] == channel and r[RELATION] == relation
                and (phone is None or bool(r[PHONE]) == phone))


# --- import ------------------------------------------------------------------------------


def broken_rows() -> tuple[list[list[str]], list[str]]:
    """The sample list with one fault of each kind, and the report it must produce."""
    rows = [list(r) for r in ROWS]

    def at(line: int) -> list[str]:  # spreadsheet line (the header is line 1)
        return rows[line - 2]

    at(3)[PHONE] = "912345678"
    at(5)[CHANNEL], at(5)[PHONE] = "SMS", ""
    at(7)[CHANNEL], at(7)[ADDRESS] = "Zalo", ""
    at(9)[MOET] = "0319999999"
    right_pupil = at(11)[PUPIL]
    at(11)[PUPIL] = "Lê Văn Sai"
    father = at(13)[NAME]
    assert at(13)[RELATION] == "Cha"
    at(13)[NAME] = "Phạm Văn Khác"
    at(15)[CHANNEL], at(15)[ADDRESS] = "Webhook", "ftp://x.vn"
    rows.append([str(len(rows) + 1), *rows[0][1:]])
    report = [
        "{f}:3:Số điện thoại: '912345678': leading zero lost? format the column as Text",
        "{f}:5:Số điện thoại: missing: SMS needs the guardian's mobile number",
        "{f}:7:Địa chỉ nhận: missing: Zalo needs the guardian's Zalo user id",
        f"{{f}}:9:Mã học sinh: no pupil '0319999999' at school {SCHOOL}",
        f"{{f}}:11:Họ tên học sinh: pupil {at(11)[MOET]} is {right_pupil!r}, not 'Lê Văn Sai': "
        "check Mã học sinh",
        f"{{f}}:13:Họ và tên: the pupil's father is recorded as {father!r}: correct a "
        "parent's name on the student list, or enter another adult as Người giám hộ or Khác",
        "{f}:15:Địa chỉ nhận: 'ftp://x.vn' is not an http:// or https:// URL",
        f"{{f}}:{len(rows) + 1}:Họ và tên: {rows[0][NAME]!r} (Mẹ of {rows[0][MOET]}) "
        "repeats row 2",
    ]
    return rows, report


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_every_bad_row_is_reported_and_nothing_is_written(db: str, tmp_path: Path,
                                                          suffix: str) -> None:
    rows, report = broken_rows()
    path = tmp_path / f"guardians-errors{suffix}"
    write_rows(path, HEADERS, rows)
    before = contacts(db)
    assert {c[4] for c in before} == {"none"}  # the student list brings names only

    result = run("import", path, "--school", SCHOOL, "--kind", "guardians")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [line.format(f=path) for line in report]
    assert "8 errors; nothing written" in result.stdout
    assert contacts(db) == before

    # --skip-invalid writes the rest and still reports the same rows.
    result = run("import", path, "--school", SCHOOL, "--kind", "guardians", "--skip-invalid")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [line.format(f=path) for line in report]
    bad = {3, 5, 7, 9, 11, 13, 15}
    good = [r for n, r in enumerate(ROWS, 2) if n not in bad]
    written = contacts(db)
    assert expected(good) <= written
    # The guardians of the refused rows keep what the student list gave them: no channel.
    assert Counter(c[4] for c in written) == Counter(c[4] for c in expected(good)) + Counter(
        {"none": len(bad)})


def test_a_valid_list_imports_and_importing_it_again_changes_nothing(db: str,
                                                                     tmp_path: Path) -> None:
    csv_path, xlsx_path = tmp_path / "guardians.csv", tmp_path / "guardians.xlsx"
    write_rows(csv_path, HEADERS, ROWS)
    write_rows(xlsx_path, HEADERS, ROWS)
    with_contact = sum(1 for r in ROWS if r[PHONE] or r[CHANNEL] != "Không")

    dry = run("import", csv_path, "--school", SCHOOL, "--kind", "guardians", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"{with_contact} updated" in dry.stdout and "dry run, rolled back" in dry.stdout
    assert {c[4] for c in contacts(db)} == {"none"}

    first_run = run("import", csv_path, "--school", SCHOOL, "--kind", "guardians")
    assert first_run.exit_code == 0, first_run.output
    assert (f"{len(ROWS)} rows, 0 new, {with_contact} updated, "
            f"{len(ROWS) - with_contact} unchanged") in first_run.stdout
    assert contacts(db) == expected(ROWS)
    assert Counter(r[CHANNEL] for r in ROWS).keys() == {"Zalo", "SMS", "Không"}

    again = run("import", xlsx_path, "--school", SCHOOL, "--kind", "guardians")
    assert again.exit_code == 0, again.output
    assert f"0 new, 0 updated, {len(ROWS)} unchanged" in again.stdout
    assert contacts(db) == expected(ROWS)


def test_export_round_trips_and_adds_other_guardians(db: str, tmp_path: Path) -> None:
    source = tmp_path / "guardians.csv"
    grandmother = [str(len(ROWS) + 1), ROWS[0][MOET], "", ROWS[0][PUPIL], "Người giám hộ",
                   "Vũ Thị Hoa", "1958", "+84 98 765 4321", "Webhook",
                   "https://parents.example.vn/hook", "Không"]
    write_rows(source, HEADERS, [*ROWS, grandmother])
    result = run("import", source, "--school", SCHOOL, "--kind", "guardians")
    assert result.exit_code == 0, result.output
    assert "1 new" in result.stdout

    for suffix in (".csv", ".xlsx"):
        exported = tmp_path / f"export{suffix}"
        result = run("export", exported, "--school", SCHOOL, "--kind", "guardians")
        assert result.exit_code == 0, result.output
        table = read_rows(exported.read_bytes(), exported.name)
        assert table[0] == HEADERS and len(table) == len(ROWS) + 2
        # The pupil's father first, then mother, then other guardians; E.164 numbers.
        mine = [r for r in table[1:] if r[MOET] == ROWS[0][MOET]]
        assert [r[RELATION] for r in mine] == ["Cha", "Mẹ", "Người giám hộ"]
        assert mine[2][PHONE:] == ["+84987654321", "Webhook", "https://parents.example.vn/hook",
                                   "Không"]
        again = run("import", exported, "--school", SCHOOL, "--kind", "guardians")
        assert again.exit_code == 0, again.output
        assert f"0 new, 0 updated, {len(ROWS) + 1} unchanged" in again.stdout


# --- from an imported contact to the outbox ----------------------------------------------


def arrive(url: str, moet_ids: list[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into attendance_daily (student_id, day, school_id, first_in)"
            " select id, %s, school_id, %s from students where moet_id = any(%s)",
            (DAY, datetime(2025, 9, 8, 6, 50, tzinfo=ZONE), moet_ids),
        )


def outbox(url: str) -> set[tuple[Any, ...]]:
    return set(rows_of(
        url,
        "select s.moet_id, g.full_name, o.channel, o.kind, o.payload->'recipient'->>'phone',"
        " o.payload->'recipient'->>'address' from notification_outbox o"
        " join students s on s.id = o.student_id join guardians g on g.id = o.guardian_id"))


def test_an_imported_contact_is_notified(db: str, tmp_path: Path) -> None:
    zalo, sms, silent = first("Zalo"), first("SMS", "Cha"), first("Không", phone=False)
    pupils = [zalo[MOET], sms[MOET], silent[MOET]]
    arrive(db, pupils)
    with psycopg.connect(db, autocommit=True) as conn:
        # Before the guardians list: names only, nobody to tell.
        assert enqueue_gate_notifications(conn, day=DAY, tz=ZONE) == 0

    path = tmp_path / "guardians.csv"
    write_rows(path, HEADERS, ROWS)
    assert run("import", path, "--school", SCHOOL, "--kind", "guardians").exit_code == 0
    with psycopg.connect(db, autocommit=True) as conn:
        enqueue_gate_notifications(conn, day=DAY, tz=ZONE)
        assert enqueue_gate_notifications(conn, day=DAY, tz=ZONE) == 0  # once only

    want = {(r[MOET], r[NAME], {"Zalo": "zalo", "SMS": "sms"}[r[CHANNEL]], "entry",
             parse_mobile(r[PHONE]) if r[PHONE] else None, r[ADDRESS] or None)
            for r in ROWS if r[MOET] in pupils and r[CHANNEL] != "Không"}
    got = outbox(db)
    assert got == want
    assert (zalo[MOET], zalo[NAME], "zalo", "entry", parse_mobile(zalo[PHONE]),
            zalo[ADDRESS]) in got
    assert (sms[MOET], sms[NAME], "sms", "entry", parse_mobile(sms[PHONE]), None) in got
    assert not any(row[1] == silent[NAME] for row in got)


# --- API ---------------------------------------------------------------------------------


@pytest.fixture
def client(db: str, tmp_path: Path) -> Iterator[TestClient]:
    with psycopg.connect(db, autocommit=True) as conn:
        upsert_school(conn, code=OTHER, name="Trường THCS Khác", level="thcs", ward="Hòa Nghĩa")
        ensure_admin(conn, password=PASSWORD)
        for username, role, school in (("ht.daphuc", "school_admin", SCHOOL),
                                       ("ht.khac", "school_admin", OTHER),
                                       ("gv.daphuc", "teacher", SCHOOL)):
            create_user(conn, username=username, password=PASSWORD,
                        role=role,  # type: ignore[arg-type]  # a Role literal
                        school_id=school)
    settings = Settings(_env_file=None, data_dir=tmp_path, secret_key="k" * 48)
    api = create_app(settings, database_url=db, mqtt_display="mqtt://-")
    with TestClient(api) as c:
        yield c


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_admins_set_contacts_over_the_api(client: TestClient, db: str) -> None:
    admin = login(client, "ht.daphuc")
    # The guardians list goes through the API's import too.
    body = "\n".join(",".join(r) for r in [HEADERS, *ROWS]).encode()
    r = client.post("/api/v1/records/import", headers=admin,
                    files={"file": ("guardians.csv", body)},
                    data={"school": SCHOOL, "kind": "guardians"})
    assert r.status_code == 200 and r.json()["errors"] == [], r.text

    pupil_row = first("Không", "Cha", phone=False)
    (code,), = rows_of(db, "select code from students where moet_id = %s", (pupil_row[MOET],))
    r = client.get(f"/api/v1/students/{code}", headers=admin)
    assert r.status_code == 200, r.text
    father = next(g for g in r.json()["guardians"] if g["relation"] == "father")
    assert (father["phone"], father["channel"], father["notify"]) == (None, "none", True)
    url = f"/api/v1/students/{code}/guardians/{father['id']}"

    # Not deliverable, malformed, or not allowed: 4xx with a reason, nothing changed.
    refusals = [
        ({"channel": "sms"}, "phone: missing: SMS needs the guardian's mobile number"),
        ({"channel": "zalo", "phone": "0987654321"},
         "address: missing: Zalo needs the guardian's Zalo user id"),
        ({"channel": "sms", "phone": "12345"},
         "phone: '12345' is not a Vietnamese phone number"),
        ({"channel": "webhook", "address": "a\x00b"},
         "address: 'a\\x00b' is neither a Zalo user id (letters, digits, - and _, at most 64) "
         "nor an http:// or https:// URL"),
        ({"notify": None}, "channel and notify cannot be null (channel 'none' stops messages)"),
    ]
    for patch, detail in refusals:
        r = client.patch(url, headers=admin, json=patch)
        assert (r.status_code, r.json()["detail"]) == (422, detail), patch
    assert client.patch(url, headers=admin, json={"colour": "red"}).status_code == 422
    assert client.patch(url, headers=login(client, "ht.khac"),
                        json={"notify": False}).status_code == 404
    assert client.patch(url, headers=login(client, "gv.daphuc"),
                        json={"notify": False}).status_code == 403
    (other,), = rows_of(db, "select code from students where moet_id = %s", (ROWS[0][MOET],))
    assert client.patch(f"/api/v1/students/{other}/guardians/{father['id']}", headers=admin,
                        json={"notify": False}).status_code == 404
    assert client.patch(f"/api/v1/students/{code}/guardians/{2**63}", headers=admin,
                        json={"notify": False}).status_code == 422
    assert client.patch(f"/api/v1/students/{code}%00/guardians/{father['id']}", headers=admin,
                        json={"notify": False}).status_code == 404

    r = client.patch(url, headers=admin, json={"channel": "sms", "phone": "0987.654.321"})
    assert r.status_code == 200, r.text
    assert (r.json()["phone"], r.json()["channel"], r.json()["address"]) == (
        "+84987654321", "sms", None)
    # Only the fields sent change.
    r = client.patch(url, headers=login(client, "admin"), json={"address": "zalo-77"})
    assert (r.json()["phone"], r.json()["channel"], r.json()["address"]) == (
        "+84987654321", "sms", "zalo-77")

    # A new guardian; the same one again, or a second father, is a conflict.
    guardians = f"/api/v1/students/{code}/guardians"
    grandmother = {"relation": "guardian", "full_name": "Vũ Thị  Hoa", "birth_year": 1958,
                   "channel": "webhook", "address": "https://parents.example.vn/hook"}
    r = client.post(guardians, headers=admin, json=grandmother)
    assert r.status_code == 201, r.text
    assert (r.json()["full_name"], r.json()["channel"]) == ("Vũ Thị Hoa", "webhook")
    r = client.post(guardians, headers=admin, json=grandmother | {"full_name": "VŨ THỊ HOA"})
    assert r.status_code == 409 and "already recorded" in r.json()["detail"]
    r = client.post(guardians, headers=admin, json={"relation": "father", "full_name": "Lê Văn A"})
    assert r.status_code == 409
    recorded = father["full_name"]
    assert r.json()["detail"].startswith(f"the pupil's father is recorded as {recorded!r}")
    r = client.post(guardians, headers=admin, json={"relation": "mother", "full_name": "Mẹ 2"})
    assert r.status_code == 422 and r.json()["detail"].startswith("full_name:")
    r = client.post(guardians, headers=admin, json={"relation": "other", "full_name": "Lê Thị B",
                                                     "channel": "sms"})
    assert (r.status_code, r.json()["detail"]) == (
        422, "phone: missing: SMS needs the guardian's mobile number")
    assert client.post(guardians, headers=login(client, "ht.khac"),
                       json=grandmother).status_code == 404

    # The contact set through the API is told of the next arrival.
    arrive(db, [pupil_row[MOET]])
    with psycopg.connect(db, autocommit=True) as conn:
        enqueue_gate_notifications(conn, day=DAY, tz=ZONE)
    sent = {row for row in outbox(db) if row[0] == pupil_row[MOET]}
    assert (pupil_row[MOET], pupil_row[NAME], "sms", "entry", "+84987654321", "zalo-77") in sent
    assert (pupil_row[MOET], "Vũ Thị Hoa", "webhook", "entry", None,
            "https://parents.example.vn/hook") in sent
