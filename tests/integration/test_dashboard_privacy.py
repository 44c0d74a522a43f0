"""Public surfaces show no person (issue #12), tried the way an attacker would.

A real dashboard server on a free port, a real PostgreSQL seeded with a small district
and gate events whose names, person codes and card UIDs are known. Anyone reaching the
port can POST to Dash's callback endpoint with whatever inputs they like, so the sweep
calls every callback the app registers (from ``/_dash-dependencies``), with each input in
turn marked as the one that changed and with every school and class as the target, and
looks for any of those strings in every answer.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import psycopg
import pytest
import requests

from core.settings import Settings
from dashboard.app import DashboardServer, close_app, create_app
from dashboard.formatting import mask_name
from dashboard.login import KIOSK_LIFETIME
from hub.accounts.auth import create_user
from tests.e2e.test_dashboard_browser import STUDENTS, add_event, seed

pytestmark = pytest.mark.integration

SECRET = "privacy-secret-" + "s" * 40
KIOSK_TOKEN = "kiosk-token-for-the-wall-" + "k" * 20
ADMIN, ADMIN_PASSWORD = "district.admin", "district-admin-pass-1"
FACILITY, FACILITY_PASSWORD = "ql.anh-dung", "facility-pass-12345"
STUDENT_CARDS = {code: f"C0FFEE{i:02d}" for i, (code, *_rest) in enumerate(STUDENTS)}
UNKNOWN_CARD = "04A1B2C3"  # seed()'s refused card
FACE_REF = "face-ref-7Q2K"  # what a face gate sent for a person the records do not know

FULL_NAMES = [name for _code, _school, _cls, name, _mins in STUDENTS]
MASKED_NAMES = sorted({mask_name(name) for name in FULL_NAMES})
PERSON_CODES = [code for code, *_rest in STUDENTS]
SECRETS = [*FULL_NAMES, *MASKED_NAMES, *PERSON_CODES, *STUDENT_CARDS.values(),
           UNKNOWN_CARD, FACE_REF]


def leaks(text: str, forbidden: list[str] = SECRETS) -> list[str]:
    return [s for s in forbidden if s.casefold() in text.casefold()]


@pytest.fixture
def district(pg_url: str) -> dict[str, Any]:
    """seed()'s district, plus passages received just now (the public panel's window)
    carrying the students' card UIDs, and an account of each kind that matters here."""
    ids = seed(pg_url)
    now = datetime.now(UTC)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("update gate_events set card_uid = %s where student_id = %s",
                     (STUDENT_CARDS["HS001"], ids["HS001"]))
        for seq, code in enumerate(("HS003", "HS004", "HS006"), start=1000):
            school = next(s for c, s, *_ in STUDENTS if c == code)
            gate = {"TH-AD": "gate-th-ad-1", "THCS-HN": "gate-thcs-hn-1"}[school]
            add_event(conn, gate, school, seq, ids[code], now, card_uid=STUDENT_CARDS[code])
        add_event(conn, "gate-th-ad-1", "TH-AD", 1100, ids["HS003"], now, direction="out",
                  card_uid=STUDENT_CARDS["HS003"])
        add_event(conn, "gate-th-ad-1", "TH-AD", 1101, None, now, decision="denied",
                  card_uid="DEADBEEF")
        conn.execute(
            "insert into gate_events (device_id, seq, ts, received_at, school_id, direction,"
            " method, person_ref, decision, resolved)"
            " values ('gate-thcs-hn-1', 1102, %s, %s, 'THCS-HN', 'in', 'face', %s,"
            " 'unknown', false)", (now, now, FACE_REF))
        create_user(conn, username=ADMIN, password=ADMIN_PASSWORD, role="district_admin")
        create_user(conn, username=FACILITY, password=FACILITY_PASSWORD,
                    role="facility_manager", school_id="TH-AD")
        classes = {(school, name): cid for cid, school, name in conn.execute(
            "select id, school_id, name from classes").fetchall()}
    return {"ids": ids, "classes": classes}


def settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET, language="vi",
                    timezone="Asia/Ho_Chi_Minh", **extra)


@pytest.fixture
def serve(pg_url: str, tmp_path: Path) -> Iterator[Any]:
    servers: list[DashboardServer] = []

    def start(**extra: Any) -> DashboardServer:
        server = DashboardServer(settings(tmp_path, **extra), database_url=pg_url,
                                 host="127.0.0.1", port=0)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def sign_in(base: str, username: str, password: str) -> requests.Session:
    client = requests.Session()
    page = client.get(f"{base}login", timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text[:500]
    answer = client.post(f"{base}login", data={"username": username, "password": password,
                                               "csrf": csrf.group(1), "lang": "vi"},
                         allow_redirects=False, timeout=10)
    assert answer.status_code == 302, (answer.status_code, answer.text[:300])
    return client


# --- the callback sweep ------------------------------------------------------------------

def _parse_output(output: str) -> Any:
    def one(part: str) -> dict[str, Any]:
        ident, prop = part.rsplit(".", 1)
        return {"id": json.loads(ident) if ident.startswith("{") else ident,
                "property": prop}
    if output.startswith("..") and output.endswith(".."):
        return [one(p) for p in output[2:-2].split("...")]
    return one(output)


def _value(ident: str, prop: str, school: str, class_id: int) -> Any:
    # What an attacker would put in each input: the school and class they are after.
    table: dict[tuple[str, str], Any] = {
        ("page", "pathname"): f"/school/{school}",
        ("page", "search"): "?lang=vi",
        ("url", "search"): "?lang=vi",
        ("lang", "value"): "vi",
        ("eq-school", "value"): school,
        ("sc-school", "data"): school,
        ("sc-class", "value"): class_id,
        ("eq-comment", "value"): "x",
    }
    if (ident, prop) in table:
        return table[(ident, prop)]
    if prop in ("n_intervals", "n_clicks"):
        return 1
    if ident.startswith("{") and "lang-switch" in ident:
        return "vi"
    return None


def _entry(dep: dict[str, str], school: str, class_id: int) -> Any:
    ident = dep["id"]
    if ident.startswith("{") and '["ALL"]' in ident:
        return []  # a wildcard with no matching component on the page
    parsed: Any = json.loads(ident) if ident.startswith("{") else ident
    return {"id": parsed, "property": dep["property"],
            "value": _value(ident, dep["property"], school, class_id)}


def _downloads(node: Any) -> list[Any]:
    if isinstance(node, dict):
        found = [node] if "base64" in node and node.get("content") else []
        return found + [d for v in node.values() for d in _downloads(v)]
    if isinstance(node, list):
        return [d for v in node for d in _downloads(v)]
    return []


def sweep(client: requests.Session, base: str, classes: dict[tuple[str, str], int],
          ) -> list[tuple[str, int, str]]:
    """Every callback x every changed input x every school: (output, status, text)."""
    deps = client.get(f"{base}_dash-dependencies", timeout=10).json()
    targets = [(school, cid) for (school, _name), cid in sorted(classes.items())]
    answers = []
    for dep in deps:
        if dep.get("clientside_function"):
            continue  # runs in the browser: the server holds no function to answer it
        inputs, state = dep["inputs"], dep["state"]
        for school, class_id in targets:
            for changed in inputs:
                body = {
                    "output": dep["output"],
                    "outputs": _parse_output(dep["output"]),
                    "inputs": [_entry(i, school, class_id) for i in inputs],
                    "state": [_entry(s, school, class_id) for s in state],
                    "changedPropIds": [f"{changed['id']}.{changed['property']}"],
                }
                r = client.post(f"{base}_dash-update-component", json=body, timeout=30)
                text = r.text
                if r.headers.get("content-type", "").startswith("application/json"):
                    payload = r.json()
                    text = json.dumps(payload, ensure_ascii=False)
                    for download in _downloads(payload):
                        raw = download["content"]
                        text += (base64.b64decode(raw).decode("utf-8", "replace")
                                 if download.get("base64") else str(raw))
                answers.append((dep["output"], r.status_code, text))
    return answers


def render_answer(client: requests.Session, base: str) -> tuple[int, str]:
    """The district wall's refresh, as the browser sends it every two seconds."""
    deps = client.get(f"{base}_dash-dependencies", timeout=10).json()
    dep = next(d for d in deps if "clock-time.children" in d["output"])
    body = {"output": dep["output"], "outputs": _parse_output(dep["output"]),
            "inputs": [{"id": "tick", "property": "n_intervals", "value": 1},
                       {"id": "lang", "property": "value", "value": "vi"}],
            "changedPropIds": ["tick.n_intervals"]}
    r = client.post(f"{base}_dash-update-component", json=body, timeout=30)
    text = json.dumps(r.json(), ensure_ascii=False) if r.status_code == 200 else r.text
    return r.status_code, text


# --- the tests ---------------------------------------------------------------------------

def test_anonymous_callbacks_on_a_public_wall_carry_no_person(
        district: dict[str, Any], serve: Any) -> None:
    # Names allowed on the wall and a kiosk configured: still nothing for anonymous.
    server = serve(dashboard_public_wall=True, dashboard_wall_names=True,
                   dashboard_kiosk_token=KIOSK_TOKEN)
    client = requests.Session()
    assert client.get(server.url, timeout=10).status_code == 200
    layout = client.get(f"{server.url}_dash-layout", timeout=10).text
    assert not leaks(layout)

    answers = sweep(client, server.url, district["classes"])
    assert len(answers) > 50
    for output, status, text in answers:
        assert not leaks(text), (output, status, leaks(text))
        assert status in (200, 204, 401, 403), (output, status, text[:300])
    assert not client.cookies  # an anonymous wall gets no session either

    # What the public wall does show: counts per school for the last minutes.
    status, text = render_answer(client, server.url)
    assert status == 200
    assert "activity-total" in text and "feed-row" not in text
    assert "Lượt qua cổng trong 15 phút qua" in text
    assert "Tiểu học Anh Dũng" in text  # a school is not a person
    for klass in ("3A", "7A1"):
        assert f'"{klass}"' not in text  # nor a class next to a passage


def test_private_wall_sends_anonymous_to_login_and_refuses_callbacks(
        district: dict[str, Any], serve: Any) -> None:
    server = serve()  # the default: SMARTSCHOOL_DASHBOARD_PUBLIC_WALL off
    client = requests.Session()
    r = client.get(server.url, allow_redirects=False, timeout=10)
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?")
    status, text = render_answer(client, server.url)
    assert status == 401
    assert not leaks(text)
    for output, status, text in sweep(client, server.url, district["classes"]):
        assert not leaks(text), (output, leaks(text))
        assert status in (200, 204, 401, 403), (output, status)


def test_kiosk_sees_classes_and_decisions_but_no_names(
        district: dict[str, Any], serve: Any) -> None:
    server = serve(dashboard_kiosk_token=KIOSK_TOKEN)
    base = server.url

    # A wrong token is a failed sign-in like any other.
    client = requests.Session()
    page = client.get(f"{base}login", timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    wrong = client.post(f"{base}login", data={"username": "kiosk", "password": "guess" * 5,
                                              "csrf": csrf.group(1)},
                        allow_redirects=False, timeout=10)
    assert wrong.status_code == 401
    assert render_answer(client, base)[0] == 401

    kiosk = sign_in(base, "kiosk", KIOSK_TOKEN)
    assert kiosk.get(base, allow_redirects=False, timeout=10).status_code == 200
    status, text = render_answer(kiosk, base)
    assert status == 200, text[:300]
    assert "feed-row" in text and "col-student" not in text
    assert '"3A"' in text and '"7A1"' in text  # each passage's class
    assert "Hợp lệ" in text and "Từ chối" in text  # and its decision
    assert "Chưa xác định" in text  # the unknown card, as such
    assert not leaks(text), leaks(text)
    # Everything else a kiosk could ask for: no more than the wall.
    for output, status, text in sweep(kiosk, base, district["classes"]):
        assert not leaks(text), (output, leaks(text))
        assert status in (200, 204, 401, 403), (output, status)


def test_a_wall_screen_sent_from_kiosk_mode_signs_in_back_to_it(
        district: dict[str, Any], serve: Any) -> None:
    base = serve(dashboard_kiosk_token=KIOSK_TOKEN).url
    client = requests.Session()
    sent = client.get(f"{base}?kiosk=1", allow_redirects=False, timeout=10)
    assert sent.status_code == 302
    form_url = urljoin(base, sent.headers["Location"])
    assert parse_qs(urlsplit(form_url).query)["next"] == ["/?kiosk=1"]
    page = client.get(form_url, timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    nxt = re.search(r'name="next" value="([^"]+)"', page.text)
    assert csrf and nxt
    answer = client.post(f"{base}login", data={
        "username": "kiosk", "password": KIOSK_TOKEN, "csrf": csrf.group(1),
        "next": html.unescape(nxt.group(1)), "lang": "en"}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/?lang=en&kiosk=1"


def test_names_on_the_wall_only_when_the_district_allows(
        district: dict[str, Any], serve: Any) -> None:
    names_off = serve(dashboard_kiosk_token=KIOSK_TOKEN)
    admin = sign_in(names_off.url, ADMIN, ADMIN_PASSWORD)
    status, text = render_answer(admin, names_off.url)
    assert status == 200
    assert "feed-row" in text and not leaks(text), leaks(text)

    names_on = serve(dashboard_kiosk_token=KIOSK_TOKEN, dashboard_wall_names=True)
    for who, password in (("kiosk", KIOSK_TOKEN), (ADMIN, ADMIN_PASSWORD)):
        client = sign_in(names_on.url, who, password)
        status, text = render_answer(client, names_on.url)
        assert status == 200
        assert "col-student" in text
        assert "Nguyễn V. An" in text and "Lê H. Nam" not in text  # HS005 never passed
        # Masked, and never a code or a card, even then.
        assert not leaks(text, [*FULL_NAMES, *PERSON_CODES, *STUDENT_CARDS.values(),
                                UNKNOWN_CARD, FACE_REF]), who


def test_a_kiosk_session_ends_when_the_token_changes(
        district: dict[str, Any], serve: Any) -> None:
    first = serve(dashboard_kiosk_token=KIOSK_TOKEN)
    kiosk = sign_in(first.url, "kiosk", KIOSK_TOKEN)
    assert render_answer(kiosk, first.url)[0] == 200
    # Same secret key and data dir: only the token differs.
    second = serve(dashboard_kiosk_token="another-kiosk-token-" + "x" * 20)
    cookies = {c.name: c.value for c in kiosk.cookies}
    stranger = requests.Session()
    stranger.cookies.update(cookies)
    assert render_answer(stranger, second.url)[0] == 401
    assert stranger.get(second.url, allow_redirects=False, timeout=10).status_code == 302


def test_a_facility_manager_gets_equipment_not_children(
        district: dict[str, Any], serve: Any) -> None:
    # The API's registers rule (PERSON_ROLES) on the dashboard too: their own school's
    # page, registers and exports name pupils, so they are not theirs either.
    server = serve(dashboard_public_wall=True, dashboard_wall_names=True)
    manager = sign_in(server.url, FACILITY, FACILITY_PASSWORD)
    answers = sweep(manager, server.url, district["classes"])
    for output, status, text in answers:
        assert not leaks(text), (output, leaks(text))
        assert status in (200, 204, 401, 403), (output, status)
    status, text = render_answer(manager, server.url)
    assert status == 200 and "activity-total" in text and "feed-row" not in text


def test_a_kiosk_session_outlives_the_sign_in_lifetime_but_not_its_own(
        district: dict[str, Any], tmp_path: Path, pg_url: str) -> None:
    app = create_app(settings(tmp_path, dashboard_kiosk_token=KIOSK_TOKEN,
                              token_ttl_minutes=60), database_url=pg_url)
    try:
        client = app.server.test_client()
        form = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf
        signed = client.post("/login", data={"username": "kiosk", "password": KIOSK_TOKEN,
                                             "csrf": csrf.group(1)})
        assert signed.status_code == 302
        cookie = signed.headers["Set-Cookie"]
        expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
        assert expires - datetime.now(UTC) > KIOSK_LIFETIME - timedelta(minutes=5)
        # Two days on: past an account's 60 minutes, the wall screen still shows the feed.
        with client.session_transaction() as sess:
            sess["t"] = int(time.time()) - 2 * 24 * 3600
        assert client.get("/").status_code == 200
        deps = client.get("/_dash-dependencies").get_json()
        output = next(d["output"] for d in deps if "clock-time.children" in d["output"])
        body = {"output": output, "outputs": _parse_output(output),
                "inputs": [{"id": "tick", "property": "n_intervals", "value": 1},
                           {"id": "lang", "property": "value", "value": "vi"}],
                "changedPropIds": ["tick.n_intervals"]}
        answer = client.post("/_dash-update-component", json=body)
        assert answer.status_code == 200
        assert "feed-row" in answer.get_data(as_text=True)
        # Past KIOSK_LIFETIME: signed in again, like anyone.
        with client.session_transaction() as sess:
            sess["t"] = int(time.time()) - int(KIOSK_LIFETIME.total_seconds()) - 60
        assert client.get("/").status_code == 302
        assert client.post("/_dash-update-component", json=body).status_code == 401
    finally:
        close_app(app)
