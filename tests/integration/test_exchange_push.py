"""The push (issue 15) against a real HTTP receiver on loopback and a real PostgreSQL: it
arrives signed and once per (endpoint, kind, period) even when the receiver fails first;
retries carry the same delivery id and body; a wrong key or an edited body is detected by
the same verify function receivers are told to use; a receiver that keeps failing, or
refuses, ends dead; the state is in /api/v1/exchange/deliveries; the commands work."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.settings import Settings, get_settings
from hub.accounts.auth import create_user
from hub.api.app import create_app
from hub.exchange import push
from hub.exchange.push_documents import push_schema_files
from hub.exchange.push_settings import PushSettings
from hub.exchange.push_signing import Verdict, verify
from hub.exchange.push_worker import ExchangePushWorker
from hub.kpi import snapshots
from smartschool.cli import app as cli_app
from tests.integration.test_notify_support import (
    VN,
    RecordingServer,
    gate_payload,
    ingest,
    recording_server,
    seed,
)

pytestmark = pytest.mark.integration

SECRET = "city-push-key-0123456789"
PASSWORD = "pass-123456"
DAY = "2025-09-08"  # a Monday; both schools' absent cutoff is 07:15


def at(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=VN)


@pytest.fixture
def district(pg_url: str) -> str:
    """Two schools; at THCS A one pupil on time, one late, two absent."""
    seed(pg_url)
    ingest(pg_url, [("gate-a1", gate_payload(1, "C0001", at(DAY, "06:50"))),
                    ("gate-a1", gate_payload(2, "C0002", at(DAY, "07:10")))])
    return pg_url


@pytest.fixture
def receiver() -> Iterator[RecordingServer]:
    yield from recording_server(fail_first=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings(**kw: Any) -> PushSettings:
    # No wait between tries, so a test retries at once; the backoff itself is the
    # notification worker's (tests/unit/test_notify_pure.py).
    base: dict[str, Any] = {"backoff_base_s": 0.0, "lookback_days": 0, "lookback_months": 1}
    return PushSettings(_env_file=None, **(base | kw))


def add(url: str, target: str, kinds: list[str], name: str = "csdl") -> push.Endpoint:
    with psycopg.connect(url, autocommit=True) as conn:
        return push.add_endpoint(conn, name=name, url=target, kinds=kinds, secret=SECRET,
                                 created_by="test")


def deliveries(url: str, **kw: Any) -> list[push.Delivery]:
    with psycopg.connect(url, autocommit=True) as conn:
        return push.list_deliveries(conn, limit=100, **kw)


def worker(url: str, clock: Clock, **kw: Any) -> ExchangePushWorker:
    return ExchangePushWorker(url, settings=settings(**kw), tz=VN, clock=clock)


def test_daily_aggregates_arrive_signed_and_once_though_the_receiver_fails_first(
        district: str, receiver: RecordingServer) -> None:
    add(district, receiver.url("/push"), ["attendance_daily_aggregate"])
    clock = Clock(at(DAY, "07:40"))  # past the cutoff, within the 30-minute grace
    w = worker(district, clock)
    try:
        assert w.run_once() == 0 and receiver.requests == []
        clock.now = at(DAY, "07:45")
        w.run_once()  # enqueued and tried: the receiver answers 500
        assert receiver.answered == [500]
        [d] = deliveries(district)
        assert (d.state, d.attempts, d.next_try is not None) == ("failed", 1, True)
        assert d.last_error is not None and "HTTP 500" in d.last_error
        w.run_once()  # retried: 200
        w.run_once()  # nothing left, nothing new
        # another hub process, later the same day, pushes nothing again
        other = worker(district, Clock(at(DAY, "15:00")))
        try:
            assert other.run_once() == 0
        finally:
            other.stop()
    finally:
        w.stop()
    assert receiver.answered == [500, 200]
    first, second = receiver.requests
    ids = {r.headers["x-smartschool-delivery"] for r in receiver.requests}
    assert len(ids) == 1 and first.body == second.body
    assert first.headers["idempotency-key"] == first.headers["x-smartschool-delivery"]
    assert first.headers["x-smartschool-kind"] == "attendance_daily_aggregate"
    for r in receiver.requests:
        assert r.path == "/push"
        assert verify(SECRET, r.headers, r.body, now=time.time()) is Verdict.OK
    # what a receiver must refuse: another key, an edited body, a replay much later
    assert verify("another-key-0123456789", first.headers, first.body,
                  now=time.time()) is Verdict.MISMATCH
    edited = first.body.replace(b'"absent":2', b'"absent":0')
    assert edited != first.body
    assert verify(SECRET, first.headers, edited, now=time.time()) is Verdict.MISMATCH
    assert verify(SECRET, first.headers, first.body,
                  now=time.time() + 3600) is Verdict.STALE

    body = receiver.delivered[0].json()
    assert body["delivery_id"] == ids.pop()
    assert (body["kind"], body["period"], body["period_type"], body["endpoint"]) == (
        "attendance_daily_aggregate", DAY, "day", "csdl")
    assert body["documents"] == [{
        "school": "thcs-a", "day": DAY, "school_day": True, "enrolled": 4, "present": 1,
        "late": 1, "absent": 2, "excused": 0, "pending": 0}]
    schema = push_schema_files()["v1/push-delivery.schema.json"]
    jsonschema.Draft202012Validator(schema).validate(body)
    [d] = deliveries(district)
    assert (d.state, d.attempts, d.next_try, d.endpoint) == ("sent", 2, None, "csdl")
    assert d.delivery_id == body["delivery_id"] and d.sent_at is not None


def test_monthly_kpis_go_after_the_month_is_over_with_its_snapshot(
        district: str) -> None:
    with psycopg.connect(district, autocommit=True) as conn:
        _, taken = snapshots.take(conn, now=at("2025-08-31", "22:00"), tz=VN)
        rows = conn.execute("select count(*) from kpi_snapshots where month = '2025-08-01'"
                            ).fetchone()
    assert taken > 0 and rows == (taken,)
    for server in recording_server():
        add(district, server.url(), ["attendance_daily_aggregate", "kpi_snapshot"])
        clock = Clock(at("2025-08-31", "23:30"))  # the last day: still being retaken
        w = worker(district, clock)
        try:
            w.run_once()
            assert server.requests == []
            clock.now = at("2025-09-01", "01:00")  # over, plus the hour's grace
            w.run_once()
            w.run_once()
        finally:
            w.stop()
        [kpi] = [r.json() for r in server.delivered]  # Sept 1st before its cutoff: no day
        assert (kpi["kind"], kpi["period"], kpi["period_type"]) == (
            "kpi_snapshot", "2025-08-01", "month")
        assert len(kpi["documents"]) == taken
        assert {d["month"] for d in kpi["documents"]} == {"2025-08-01"}
        assert kpi["schema_id"] == "urn:smartschool:exchange:v1:kpi-snapshots"
        jsonschema.Draft202012Validator(
            push_schema_files()["v1/push-delivery.schema.json"]).validate(kpi)


def test_a_receiver_that_keeps_failing_or_refuses_ends_dead(district: str) -> None:
    for failing, refusing in zip(recording_server(fail_first=99),
                                 recording_server(fail_first=99, fail_status=400),
                                 strict=True):
        add(district, failing.url(), ["attendance_daily_aggregate"], name="down")
        add(district, refusing.url(), ["attendance_daily_aggregate"], name="refuses")
        w = worker(district, Clock(at(DAY, "09:00")), max_attempts=3)
        try:
            for _ in range(5):
                w.run_once()
        finally:
            w.stop()
        assert failing.answered == [500, 500, 500]  # 3 tries, then given up
        assert refusing.answered == [400]  # a 4xx will not change on a retry
        by_name = {d.endpoint: d for d in deliveries(district)}
        assert (by_name["down"].state, by_name["down"].attempts) == ("dead", 3)
        assert (by_name["refuses"].state, by_name["refuses"].attempts) == ("dead", 1)
        assert by_name["down"].next_try is None
        assert "HTTP 400" in (by_name["refuses"].last_error or "")
        assert [d.endpoint for d in deliveries(district, state="dead")] == ["refuses", "down"]


def test_removing_an_endpoint_gives_up_its_pending_deliveries(district: str) -> None:
    for server in recording_server(fail_first=99):
        add(district, server.url(), ["attendance_daily_aggregate"])
        w = worker(district, Clock(at(DAY, "09:00")), backoff_base_s=3600.0)
        try:
            w.run_once()
            assert deliveries(district)[0].state == "failed"
            with psycopg.connect(district, autocommit=True) as conn:
                assert push.remove_endpoint(conn, "csdl")
                assert not push.remove_endpoint(conn, "csdl")
            w.run_once()
        finally:
            w.stop()
        [d] = deliveries(district)
        assert (d.state, d.endpoint, d.last_error) == ("dead", None, push.REMOVED)
        assert len(server.requests) == 1


@pytest.fixture
def api(district: str, tmp_path: Path) -> Iterator[TestClient]:
    with psycopg.connect(district, autocommit=True) as conn:
        for name, role, school in (("da", "district_admin", None), ("city", "exchange", None),
                                   ("sa", "school_admin", "thcs-a"),
                                   ("cr", "control_room", None)):
            create_user(conn, username=name, password=PASSWORD, role=role,  # type: ignore[arg-type]
                        school_id=school)
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key="k" * 48),
                     database_url=district, mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as c:
        yield c


def auth(c: TestClient, user: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_endpoints_and_deliveries_through_the_api(api: TestClient, district: str) -> None:
    da, city, sa, cr = (auth(api, u) for u in ("da", "city", "sa", "cr"))
    new = {"name": "dss", "url": "http://127.0.0.1:9/push",
           "kinds": ["attendance_daily_aggregate"]}
    assert api.post("/api/v1/exchange/endpoints", json=new, headers=sa).status_code == 403
    assert api.post("/api/v1/exchange/endpoints", json=new, headers=city).status_code == 403
    r = api.post("/api/v1/exchange/endpoints", json=new, headers=da)
    assert r.status_code == 201, r.text
    made = r.json()
    assert len(made["secret"]) >= 16 and made["created_by"] == "da"
    assert made["deliveries"] == {"queued": 0, "sent": 0, "failed": 0, "dead": 0}
    assert api.post("/api/v1/exchange/endpoints", json=new, headers=da).status_code == 409
    bad = api.post("/api/v1/exchange/endpoints", headers=da,
                   json=new | {"name": "x2", "url": "http://[::1/push"})
    assert bad.status_code == 422 and "url" in bad.json()["detail"]
    listed = api.get("/api/v1/exchange/endpoints", headers=da).json()
    assert [e["name"] for e in listed] == ["dss"] and "secret" not in listed[0]
    assert api.get("/api/v1/exchange/endpoints", headers=cr).status_code == 403

    # three days due at once (a hub back after two days off), to an unreachable port
    w = worker(district, Clock(at("2025-09-10", "09:00")), lookback_days=2,
               backoff_base_s=3600.0, timeout_s=2.0, max_attempts=1)
    try:
        w.run_once()
    finally:
        w.stop()
    for who, code in ((sa, 403), (cr, 403), ({}, 401)):
        assert api.get("/api/v1/exchange/deliveries", headers=who).status_code == code
    page = api.get("/api/v1/exchange/deliveries", params={"limit": 2}, headers=city)
    assert page.status_code == 200
    rest = api.get("/api/v1/exchange/deliveries", headers=city,
                   params={"limit": 2, "cursor": page.headers["X-Next-Cursor"]})
    rows = page.json() + rest.json()
    assert "X-Next-Cursor" not in rest.headers
    assert [r["period"] for r in rows] == ["2025-09-10", "2025-09-09", "2025-09-08"]
    assert {(r["state"], r["attempts"], r["endpoint"]) for r in rows} == {("dead", 1, "dss")}
    assert all(r["next_try"] is None and r["last_error"] for r in rows)
    assert api.get("/api/v1/exchange/deliveries", params={"state": "sent"},
                   headers=da).json() == []
    # a dead one tried again (the receiver is fixed): same delivery, a new round of tries
    oldest = rows[-1]
    retry = f"/api/v1/exchange/deliveries/{oldest['id']}/retry"
    assert api.post(retry, headers=sa).status_code == 403
    assert api.post(retry, headers=city).status_code == 403
    again = api.post(retry, headers=da)
    assert again.status_code == 200, again.text
    assert (again.json()["state"], again.json()["attempts"], again.json()["delivery_id"]) == (
        "failed", 0, oldest["delivery_id"])
    assert again.json()["next_try"] is not None
    assert api.post(retry, headers=da).status_code == 404  # not dead any more
    assert api.post("/api/v1/exchange/deliveries/999999/retry", headers=da).status_code == 404
    edited = page.headers["X-Next-Cursor"][:-2] + "xx"
    assert api.get("/api/v1/exchange/deliveries", params={"cursor": edited},
                   headers=da).status_code == 422
    counts = api.get("/api/v1/exchange/endpoints", headers=da).json()[0]["deliveries"]
    assert counts == {"queued": 0, "sent": 0, "failed": 1, "dead": 2}

    assert api.delete("/api/v1/exchange/endpoints/dss", headers=sa).status_code == 403
    assert api.delete("/api/v1/exchange/endpoints/dss", headers=da).status_code == 204
    assert api.delete("/api/v1/exchange/endpoints/dss", headers=da).status_code == 404
    after = api.get("/api/v1/exchange/deliveries", headers=da).json()
    assert {(r["state"], r["endpoint"]) for r in after} == {("dead", None)}
    # without its endpoint a delivery has nowhere to go
    assert api.post(retry, headers=da).status_code == 404


@pytest.fixture
def cli_db(district: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", district)
    monkeypatch.setenv("SMARTSCHOOL_TIMEZONE", "Asia/Ho_Chi_Minh")
    get_settings.cache_clear()
    yield district
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_commands(cli_db: str, receiver: RecordingServer) -> None:
    code, out, _ = run("exchange", "endpoints", "add", "csdl", "--url", receiver.url(),
                       "--kind", "attendance_daily_aggregate")
    assert code == 0, out
    secret = out.split("secret: ", 1)[1].strip()
    assert len(secret) >= 32
    code, _, err = run("exchange", "endpoints", "add", "csdl", "--url", receiver.url(),
                       "--kind", "attendance_daily_aggregate")
    assert code == 2 and "exists already" in err
    code, _, err = run("exchange", "endpoints", "add", "x", "--url", receiver.url(),
                       "--kind", "learner")
    assert code == 2 and "kinds" in err
    code, out, _ = run("exchange", "push", "--day", DAY)
    assert code == 0 and f"due: csdl attendance_daily_aggregate {DAY}" in out
    assert receiver.requests == []  # without --now only shown
    code, out, _ = run("exchange", "push", "--now", "--day", DAY)
    # the receiver fails the first try: retried later by the hub, exit 1
    assert code == 1 and "enqueued 1" in out and "retrying later 1" in out, out
    with psycopg.connect(cli_db, autocommit=True) as conn:
        conn.execute("update notification_outbox set next_attempt_at = now()"
                     " where channel = 'exchange'")
    code, out, _ = run("exchange", "push", "--now", "--day", DAY)
    assert code == 0 and "enqueued 0" in out and "sent 1" in out, out
    assert receiver.answered == [500, 200]
    assert verify(secret, receiver.requests[1].headers, receiver.requests[1].body,
                  now=time.time()) is Verdict.OK
    code, out, _ = run("exchange", "endpoints", "list")
    assert code == 0 and "csdl" in out and "sent=1" in out and secret not in out
    with psycopg.connect(cli_db, autocommit=True) as conn:  # as if given up
        conn.execute("update notification_outbox set status = 'failed'"
                     " where channel = 'exchange'")
    code, out, _ = run("exchange", "push", "--now", "--retry-dead", "--day", DAY)
    assert code == 0 and "dead deliveries tried again: 1" in out and "sent 1" in out, out
    assert receiver.answered == [500, 200, 200]  # the same delivery once more
    assert len({r.headers["x-smartschool-delivery"] for r in receiver.requests}) == 1
    assert run("exchange", "endpoints", "remove", "csdl")[0] == 0
    assert run("exchange", "endpoints", "remove", "csdl")[0] == 1
    code, out, _ = run("exchange", "push", "--day", DAY)
    assert code == 0 and "0 due" in out


def test_the_schema_command_writes_the_push_schemas(tmp_path: Path) -> None:
    code, out, _ = run("exchange", "schema", "--out", str(tmp_path))
    assert code == 0 and "push-delivery.schema.json" in out
    written = json.loads((tmp_path / "v1" / "daily-attendance-aggregates.schema.json")
                         .read_text(encoding="utf-8"))
    assert written["$id"] == "urn:smartschool:exchange:v1:daily-attendance-aggregates"
    assert (tmp_path / "v1" / "push-delivery.schema.json").exists()


def test_the_demo_receiver_checks_and_applies_once(district: str) -> None:
    import httpx

    from smartschool.demo.receiver import NAME, DemoReceiver

    receiver = DemoReceiver()
    try:
        with psycopg.connect(district, autocommit=True) as conn:
            receiver.start(conn)
            assert [e.name for e in push.list_endpoints(conn)] == [NAME]
        w = worker(district, Clock(at(DAY, "09:00")))
        try:
            w.run_once()
        finally:
            w.stop()
        [doc] = receiver.applied.values()
        assert (doc["kind"], doc["period"]) == ("attendance_daily_aggregate", DAY)
        # a forged request is refused and applies nothing
        forged = httpx.post(receiver.url, content=b"{}", headers={
            "X-Smartschool-Timestamp": str(int(time.time())),
            "X-Smartschool-Signature": "v1=" + "0" * 64})
        assert forged.status_code == 401 and receiver.refused == 1
        assert len(receiver.applied) == 1
    finally:
        receiver.stop()
