"""The API honours its own OpenAPI document: schemathesis against the real app.

Every route and method, all of schemathesis' checks, as a district admin, as a school
admin (school-scoped) and without a token, over real HTTP (uvicorn) against a real
PostgreSQL holding a small generated district. Any 5xx, an undocumented status code or
media type, a body that breaks its schema, an invalid request accepted or a valid one
refused fails the run.

Each generated test gets its own database, cloned from a template seeded once per module
(POST, PATCH, PUT and DELETE cases mutate it freely). The run is bounded and reproducible:
a fixed number of examples per operation and role, derandomized, no deadline.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from core.settings import Settings
from hub.accounts.auth import create_token, create_user, ensure_admin
from hub.api.app import create_app
from hub.db import migrate
from smartschool.demo.district import generate_district
from smartschool.demo.seed import seed_district
from tests.conftest import ADMIN_PG, _db_url
from tests.integration.api_server import serving

pytestmark = pytest.mark.integration

SECRET = "contract-secret-" + "y" * 40
# Per operation and role: about 40 operations x 3 roles x this stays within ~3 minutes on
# two cores, while still reaching every documented answer of each route.
MAX_EXAMPLES = 8
# A district of this size has every level (kindergarten classes "Lớp Mầm 1" included) and
# answers each report quickly.
STUDENTS = 120
SCHOOL_ADMIN = "qt.truong"
# Rules a JSON schema cannot express answer 422 to schema-valid requests: an account's
# username, role and school checked together (hub/accounts/rules.py), `by_class` needing
# `school`, a photo upload needing at least one photo. Without this allowance those, and
# nothing else, fail the positive-data check (days carry their bounds in the schema).
POSITIVE_EXPECTED = ["2xx", "401", "403", "404", "409", "422"]


def _settings(tmp: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp, secret_key=SECRET)


@pytest.fixture(scope="module")
def template_db() -> Iterator[tuple[str, str]]:
    """A migrated, seeded database to clone; its name and the school-scoped school."""
    name = f"ss_contract_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_PG, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        url = _db_url(name)
        migrate(url)
        district = generate_district(seed=12, students_target=STUDENTS)
        school = district.schools[0].id
        with psycopg.connect(url, autocommit=True) as conn:
            seed_district(conn, district)
            ensure_admin(conn, password="contract-admin-pass")
            create_user(conn, username=SCHOOL_ADMIN, password="contract-school-pass",
                        role="school_admin", school_id=school, full_name="Quản trị trường")
        yield name, school
    finally:
        with psycopg.connect(ADMIN_PG, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@contextmanager
def _clone_served(template: str, tmp: Path) -> Iterator[str]:
    """A running API on a fresh clone of the template database."""
    name = f"ss_contract_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_PG, autocommit=True) as admin:
        admin.execute(f'create database "{name}" template "{template}"')
    try:
        app = create_app(_settings(tmp), database_url=_db_url(name),
                         mqtt_display="mqtt://127.0.0.1:1883")
        with serving(app) as url:
            yield url
    finally:
        with psycopg.connect(ADMIN_PG, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def reading_api(template_db: tuple[str, str],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # GET changes nothing: the read operations share one clone (a clone costs seconds).
    with _clone_served(template_db[0], tmp_path_factory.mktemp("reading")) as url:
        yield url


@pytest.fixture
def api_url(request: pytest.FixtureRequest, template_db: tuple[str, str],
            tmp_path: Path) -> Iterator[str]:
    """The API for one test: a clone of its own unless the operation is a GET."""
    if "[GET " in request.node.name:
        yield request.getfixturevalue("reading_api")
        return
    with _clone_served(template_db[0], tmp_path) as url:
        yield url


ROLES = {"district_admin": "admin", "school_admin": SCHOOL_ADMIN, "anonymous": None}


def _headers(username: str | None) -> dict[str, str]:
    if username is None:
        return {}
    token = create_token(username=username, secret=SECRET, ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


def _schema() -> Any:
    # The document only: building the app opens no connection and writes nothing.
    app = create_app(_settings(Path(tempfile.gettempdir())),
                     database_url="postgresql://unused/unused",
                     mqtt_display="mqtt://127.0.0.1:1883")
    config = schemathesis.config.SchemathesisConfig.from_dict({
        "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_EXPECTED}},
    })
    return schemathesis.openapi.from_dict(app.openapi(), config=config)


schema = _schema()


@schema.parametrize()  # type: ignore[untyped-decorator]
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_route_honours_its_contract(case: Any, api_url: str) -> None:
    # Each generated request is sent as every role: the admin sees data, the school
    # admin the scoping (403/404 for another school), the anonymous caller the 401s.
    for role, username in ROLES.items():
        try:
            case.call_and_validate(base_url=api_url, headers=_headers(username))
        except BaseException as exc:
            exc.add_note(f"as {role}")
            raise


# --- the two 500s the fuzzer found, pinned ------------------------------------------------


def _kindergarten_class(template_db: tuple[str, str]) -> tuple[int, str]:
    with psycopg.connect(_db_url(template_db[0])) as conn:
        row = conn.execute("select id, name from classes where name like 'Lớp Mầm %'"
                           " order by id limit 1").fetchone()
    assert row is not None, "the district has kindergarten classes"
    return row[0], row[1]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_register_of_a_class_with_a_vietnamese_name_downloads(
    api_url: str, template_db: tuple[str, str], fmt: str
) -> None:
    class_id, name = _kindergarten_class(template_db)
    r = httpx.get(f"{api_url}/api/v1/attendance/register",
                  params={"class_id": class_id, "date": "2026-12-07", "format": fmt},
                  headers=_headers("admin"))
    assert r.status_code == 200, r.text
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="so-diem-danh-Lop Mam ')
    assert f"filename*=UTF-8''{quote(f'so-diem-danh-{name}-2026-12-07.{fmt}', safe='')}" \
        in disposition
    assert r.content


@pytest.mark.parametrize("month", ["0000-01", "1999-12", "2101-01", "2026-13"])
def test_a_month_out_of_range_is_a_422(api_url: str, template_db: tuple[str, str],
                                        month: str) -> None:
    r = httpx.get(f"{api_url}/api/v1/attendance/monthly",
                  params={"school": template_db[1], "month": month}, headers=_headers("admin"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", "month"]


def test_a_day_out_of_range_is_a_422(api_url: str) -> None:
    r = httpx.get(f"{api_url}/api/v1/attendance/daily", params={"date": "0001-01-01"},
                  headers=_headers("admin"))
    assert r.status_code == 422, r.text


def test_a_405_names_every_method_of_the_path(api_url: str) -> None:
    r = httpx.request("OPTIONS", f"{api_url}/api/v1/students/HS1/consents",
                      headers=_headers("admin"))
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
