"""`smartschool records import --full-roster` against the real PostgreSQL (issue #12): the
active pupils a full roster does not name have left. A dry run counts them first and the
import asks before marking anyone; a roster with errors marks nobody."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner, Result

from core.settings import get_settings
from hub.devices.registry import upsert_school
from smartschool.cli import app

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "records"
SCHOOL = "th-thcs-da-phuc"
STUDENTS_CSV = FIXTURES / f"{SCHOOL}-students.csv"
PUPILS = 198


@pytest.fixture
def db(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường TH&THCS Đa Phúc", level="th_thcs",
                      ward="Đa Phúc")
    yield pg_url
    get_settings.cache_clear()


def run(*args: str | Path, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["records", *map(str, args)], input=stdin)


def one(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def roster_without(tmp_path: Path, leaving: int, *, broken: bool = False) -> tuple[Path, list[str]]:
    """The sample list without its last ``leaving`` pupils; returns it and their MOET ids."""
    rows = list(csv.reader(STUDENTS_CSV.open(encoding="utf-8-sig", newline="")))
    kept, gone = rows[: len(rows) - leaving], rows[len(rows) - leaving:]
    if broken:
        kept[1][rows[0].index("Ngày sinh")] = "31/02/2019"
    path = tmp_path / ("broken.csv" if broken else "roster.csv")
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(kept)
    return path, [r[rows[0].index("Mã định danh Bộ GD&ĐT")] for r in gone]


def active(url: str) -> int:
    return int(str(one(url, "select count(*) from students where active")))


def test_a_full_roster_counts_then_marks_the_missing_as_left(db: str, tmp_path: Path) -> None:
    assert run("import", STUDENTS_CSV, "--school", SCHOOL).exit_code == 0
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("insert into attendance_daily (student_id, day, school_id, first_in)"
                     " select id, date '2026-11-30', school_id, now() from students")
    roster, gone = roster_without(tmp_path, 3)

    # the dry run counts and names, and changes nothing
    dry = run("import", roster, "--school", SCHOOL, "--full-roster", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "3 active pupils not on the roster would be marked as left" in dry.stderr
    assert active(db) == PUPILS

    # a real run counts first and asks; "no" writes nothing
    refused = run("import", roster, "--school", SCHOOL, "--full-roster", stdin="n\n")
    assert refused.exit_code == 1
    assert "3 active pupils not on the roster would be marked as left" in refused.stderr
    assert "nothing written" in refused.stderr
    assert active(db) == PUPILS

    done = run("import", roster, "--school", SCHOOL, "--full-roster", stdin="y\n")
    assert done.exit_code == 0, done.output
    assert "3 pupils not on the roster marked as left" in done.stdout
    assert active(db) == PUPILS - 3
    with psycopg.connect(db) as conn:
        left = {str(r[0]) for r in conn.execute(
            "select moet_id from students where not active and left_on is not null"
            " and left_reason like 'not on the full roster %'")}
    assert left == set(gone)
    assert one(db, "select count(*) from student_moves where kind = 'leave'") == 3
    assert one(db, "select count(*) from attendance_daily") == PUPILS  # registers stay

    # the same roster again: nobody else is missing
    again = run("import", roster, "--school", SCHOOL, "--full-roster", "--yes")
    assert again.exit_code == 0, again.output
    assert "every active pupil is on the roster" in again.stdout
    # a pupil back on a later roster is active again, with the leave cleared
    back = run("import", STUDENTS_CSV, "--school", SCHOOL, "--full-roster", "--yes")
    assert back.exit_code == 0, back.output
    assert active(db) == PUPILS
    assert one(db, "select count(*) from students where left_on is not null") == 0


def test_a_roster_with_errors_marks_nobody(db: str, tmp_path: Path) -> None:
    assert run("import", STUDENTS_CSV, "--school", SCHOOL).exit_code == 0
    broken, _ = roster_without(tmp_path, 3, broken=True)
    result = run("import", broken, "--school", SCHOOL, "--full-roster", "--skip-invalid",
                 "--yes")
    assert result.exit_code == 1
    assert "were not marked as left: a roster with errors" in result.stderr
    # the bad row's pupil looks missing too (4), yet nobody is marked
    assert "4 pupils not on the roster" in result.stderr
    assert active(db) == PUPILS
    assert one(db, "select count(*) from student_moves") == 0


def test_a_full_roster_is_a_list_of_students(db: str) -> None:
    result = run("import", STUDENTS_CSV, "--school", SCHOOL, "--kind", "staff",
                 "--full-roster")
    assert result.exit_code == 2
    assert "a full roster is a list of students" in result.stderr


def test_the_api_takes_a_full_roster_too(db: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from core.settings import Settings
    from hub.accounts.auth import create_user
    from hub.api.app import create_app

    assert run("import", STUDENTS_CSV, "--school", SCHOOL).exit_code == 0
    with psycopg.connect(db, autocommit=True) as conn:
        create_user(conn, username="sa.roster", password="roster-pass-123",
                    role="school_admin", school_id=SCHOOL)
    roster, gone = roster_without(tmp_path, 2)
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key="r" * 40),
                     database_url=db, mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", data={
            "username": "sa.roster", "password": "roster-pass-123"}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"

        def post(**form: str) -> object:
            return client.post("/api/v1/records/import",
                               files={"file": ("roster.csv", roster.read_bytes())},
                               data={"school": SCHOOL, "full_roster": "true", **form})

        dry = post(dry_run="true")
        assert dry.status_code == 200, dry.text  # type: ignore[attr-defined]
        body = dry.json()  # type: ignore[attr-defined]
        assert len(body["leavers"]) == 2 and not body["leavers_marked"]
        assert active(db) == PUPILS
        done = post()
        assert done.status_code == 200 and done.json()["leavers_marked"]  # type: ignore[attr-defined]
        assert active(db) == PUPILS - 2
        with psycopg.connect(db) as conn:
            left = {str(r[0]) for r in conn.execute("select moet_id from students"
                                                    " where not active")}
        assert left == set(gone)
        staff = post(kind="staff")
        assert staff.status_code == 422  # type: ignore[attr-defined]
        assert "list of students" in staff.json()["detail"]  # type: ignore[attr-defined]
