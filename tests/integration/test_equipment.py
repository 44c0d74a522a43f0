"""Equipment on the real PostgreSQL: evaluator -> alarms and rollups, import, retention,
and the API with its roles. Telemetry rows are inserted as hub.ingest.store writes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from hub.accounts.auth import create_user, ensure_admin
from hub.api.app import create_app
from hub.equipment import alarms, assets, partitions, series, storage
from hub.equipment.evaluator import Evaluator
from hub.equipment.importer import import_file
from hub.equipment.rules import RuleSet

pytestmark = pytest.mark.integration

SECRET = "test-secret-" + "y" * 40
PASSWORD = "pass-word-123"

SEED = """
insert into schools (id, name, level, ward) values
    ('thcs-a', 'THCS A', 'thcs', 'P1'), ('th-b', 'TH B', 'tieu_hoc', 'P2');
insert into rooms (school_id, name) values ('thcs-a', 'P.101'), ('th-b', 'P.201');
insert into devices (id, school_id, role, room_id, last_seen, state) values
    ('a-r101', 'thcs-a', 'classroom', (select id from rooms where name = 'P.101'), now(),
     'online'),
    ('b-r201', 'th-b', 'classroom', (select id from rooms where name = 'P.201'), now(),
     'online');
insert into assets (tag, type, model, serial, school_id, room_id, purchase_date, warranty_end,
                    rated_lamp_hours, device_id) values
    ('PJ-A-101', 'projector', 'Epson', 'SN1', 'thcs-a', (select id from rooms
     where name = 'P.101'), '2022-01-01', '2025-01-01', 4000, 'a-r101'),
    ('PJ-B-201', 'projector', 'Sony', null, 'th-b', (select id from rooms
     where name = 'P.201'), '2022-01-01', '2025-01-01', 4000, 'b-r201');
"""


def put(conn: psycopg.Connection[Any], device: str, seq: int, asset: str | None,
        metrics: dict[str, object], ts: datetime | None = None) -> None:
    at = ts or datetime.now(UTC)
    for name, value in metrics.items():
        num = (1.0 if value else 0.0) if isinstance(value, bool) else (
            float(value) if isinstance(value, int | float) else None)
        conn.execute(
            "insert into telemetry (device_id, seq, metric, ts, received_at, asset, value_num,"
            " value_bool, value_text) values (%s, %s, %s, %s, clock_timestamp(), %s, %s, %s, %s)",
            (device, seq, name, at, asset, num, value if isinstance(value, bool) else None,
             value if isinstance(value, str) else None),
        )


@pytest.fixture
def db(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        yield conn


def evaluator(url: str) -> Evaluator:
    return Evaluator(url, offline_after_classroom_s=60, rules=RuleSet(no_data_after_s=3600))


def open_alarms(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str]]:
    return [(a.subject, a.type, a.state) for a in alarms.list_alarms(conn, state="open")]


def test_rows_received_together_are_read_in_message_order(pg_url: str,
                                                          db: psycopg.Connection[Any]) -> None:
    """A batch written in one go shares its receive time: each device's messages go
    in seq order, and a message's ERST level before its projector.error summary."""
    ev = evaluator(pg_url)
    at = datetime.now(UTC)
    rows = [(1, "projector.error", None, "ok"), (2, "projector.error", None, "ok"),
            (3, "projector.error", None, "filter"), (3, "projector.error.filter", 1.0, None)]
    for seq, metric, num, text in reversed(rows):  # stored out of order on purpose
        db.execute("insert into telemetry (device_id, seq, metric, ts, received_at, asset,"
                   " value_num, value_text) values ('a-r101', %s, %s, %s, %s, 'PJ-A-101',"
                   " %s, %s)", (seq, metric, at, at, num, text))
    ev.run_once(db)
    [err] = [a for a in alarms.list_alarms(db, state="open") if a.type == "projector_error"]
    assert (err.state, err.severity) == ("active_unack", "minor")  # a warning, still open


def test_evaluator_raises_clears_and_rolls_up(pg_url: str, db: psycopg.Connection[Any]) -> None:
    ev = evaluator(pg_url)
    put(db, "a-r101", 1, "PJ-A-101", {"projector.power": "on", "projector.lamp_hours": 3700,
                                      "projector.error": "ok"})
    put(db, "a-r101", 2, None, {"cpu.temp_c": 50.0})
    ev.run_once(db)
    assert open_alarms(db) == [("PJ-A-101", "lamp_life", "active_unack")]
    put(db, "a-r101", 3, "PJ-A-101", {"projector.error": "fan"})
    ev.run_once(db)
    assert ("PJ-A-101", "projector_error", "active_unack") in open_alarms(db)
    # the same rows again (overlap window) change nothing
    ev.run_once(db)
    assert len(open_alarms(db)) == 2
    put(db, "a-r101", 4, "PJ-A-101", {"projector.error": "ok"})
    ev.run_once(db)
    err = next(a for a in alarms.list_alarms(db, state="all") if a.type == "projector_error")
    assert err.state == "cleared_unack" and err.condition_cleared_at is not None
    # rollups and live state
    [asset] = [a for a in assets.list_assets(db) if a.tag == "PJ-A-101"]
    assert (asset.power, asset.lamp_hours, asset.error, asset.open_alarms) == (
        "on", 3700.0, "ok", 2)
    n5 = db.execute("select sum(n) from telemetry_5m where subject = 'PJ-A-101'"
                    " and metric = 'projector.lamp_hours'").fetchone()
    assert n5 is not None and n5[0] == 1
    on = db.execute("select sum(n) from telemetry_1h where metric = 'projector.on'").fetchone()
    assert on is not None and on[0] == 1
    # a restart resumes from the stored watermark and re-arms from open alarms
    ev2 = evaluator(pg_url)
    put(db, "a-r101", 5, "PJ-A-101", {"projector.lamp_hours": 10})
    ev2.run_once(db)
    lamp = next(a for a in alarms.list_alarms(db, state="all") if a.type == "lamp_life")
    assert lamp.state == "cleared_unack"


def test_device_offline_and_back(pg_url: str, db: psycopg.Connection[Any]) -> None:
    ev = evaluator(pg_url)
    db.execute("update devices set last_seen = now() - interval '2 minutes'"
               " where id = 'a-r101'")
    ev.run_once(db, now=datetime.now(UTC))
    assert open_alarms(db) == [("a-r101", "device_offline", "active_unack")]
    db.execute("update devices set last_seen = now() where id = 'a-r101'")
    ev.run_once(db, now=datetime.now(UTC))
    assert open_alarms(db) == [("a-r101", "device_offline", "cleared_unack")]


def test_lifecycle_ack_clear_reraise_work_order(pg_url: str,
                                                db: psycopg.Connection[Any]) -> None:
    ev = evaluator(pg_url)
    put(db, "a-r101", 1, "PJ-A-101", {"projector.error": "lamp"})
    ev.run_once(db)
    [a] = alarms.list_alarms(db)
    acked = alarms.acknowledge(db, a.id, actor="fm.a", comment="đã biết")
    assert (acked.state, acked.acked_by, acked.ack_comment) == ("active_ack", "fm.a", "đã biết")
    with pytest.raises(alarms.AlarmError, match="already acknowledged"):
        alarms.acknowledge(db, a.id, actor="fm.a")
    wo = alarms.open_work_order(db, a.id, actor="fm.a", assignee="kỹ thuật viên", note="thay")
    with pytest.raises(alarms.AlarmError, match="already has open work order"):
        alarms.open_work_order(db, a.id, actor="fm.a", assignee=None, note=None)
    closed = alarms.close_work_order(db, wo.id, actor="fm.a", note="xong")
    assert closed.state == "closed" and closed.closed_by == "fm.a"
    put(db, "a-r101", 2, "PJ-A-101", {"projector.error": "ok"})
    ev.run_once(db)
    assert alarms.get_alarm(db, a.id).state == "cleared"  # acked and condition gone: closed
    # the condition returns: a new alarm (the old one is closed)
    put(db, "a-r101", 3, "PJ-A-101", {"projector.error": "fan"})
    ev.run_once(db)
    [b] = alarms.list_alarms(db)
    assert b.id != a.id
    # cleared-unacknowledged then back: the same row re-arms
    put(db, "a-r101", 4, "PJ-A-101", {"projector.error": "ok"})
    ev.run_once(db)
    put(db, "a-r101", 5, "PJ-A-101", {"projector.error": "fan"})
    ev.run_once(db)
    again = alarms.get_alarm(db, b.id)
    assert (again.state, again.occurrences) == ("active_unack", 2)
    manual = alarms.clear(db, b.id, actor="fm.a", comment="đã sửa")
    assert (manual.state, manual.cleared_by, manual.clear_comment) == ("cleared", "fm.a", "đã sửa")
    with pytest.raises(alarms.AlarmError, match="already cleared"):
        alarms.clear(db, b.id, actor="fm.a")
    with pytest.raises(alarms.AlarmError, match="not found"):
        alarms.acknowledge(db, b.id, actor="fm.b", school="th-b")
    log = db.execute("select action from alarm_log where alarm_id = %s order by id",
                     (b.id,)).fetchall()
    assert [r[0] for r in log] == ["raised", "condition-cleared", "re-raised", "cleared"]


def test_import_all_or_nothing_and_skip_invalid(db: psycopg.Connection[Any],
                                                tmp_path: Path) -> None:
    f = tmp_path / "tai_san.csv"
    f.write_text(
        "tag,type,model,serial,room,purchase_date,warranty_end,rated_lamp_hours,device\n"
        "TV-A-1,tv,LG,SN9,P.105,01/01/2023,01/01/2026,,\n"
        "PJ-A-9,projector,Epson,SN8,P.101,01/01/2023,01/01/2022,4000,a-r101\n"
        "PJ-A-8,projector,Epson,SN7,P.101,01/01/2023,01/01/2026,4000,b-r201\n",
        encoding="utf-8")
    result = import_file(db, f, school="thcs-a")
    assert result.written == 0 and result.errors == (
        "tai_san.csv:3:warranty_end: before the purchase date",
        "tai_san.csv:4:device: 'b-r201' is not a device of thcs-a",
    )
    assert db.execute("select count(*) from assets").fetchone() == (2,)
    result = import_file(db, f, school="thcs-a", skip_invalid=True)
    assert (result.written, result.skipped) == (1, 2)
    row = db.execute("select r.name from assets a join rooms r on r.id = a.room_id"
                     " where tag = 'TV-A-1'").fetchone()
    assert row == ("P.105",)  # a room new to the school is created
    cov = assets.coverage(db)
    by = {r.school_id: r for r in cov.schools}
    assert (by["thcs-a"].assets, by["thcs-a"].complete) == (2, 2)
    assert (by["th-b"].assets, by["th-b"].complete) == (1, 0)  # no serial
    assert (cov.district.assets, cov.district.complete, cov.district.share) == (3, 2, 0.6667)


def test_partitions_retention_and_series_paths(pg_url: str, db: psycopg.Connection[Any]) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for i in range(12):
        put(db, "a-r101", 100 + i, None, {"env.temp_c": 20.0 + i},
            ts=now - timedelta(minutes=5 * i))
    ev = evaluator(pg_url)
    ev.run_once(db)
    start, end = now - timedelta(hours=2), now + timedelta(minutes=1)
    raw = series.raw_series(db, subjects=["PJ-A-101", "a-r101"], metric="env.temp_c",
                            start=start, end=end, width=timedelta(hours=1))
    rolled = series.series(db, subjects=["PJ-A-101", "a-r101"], metric="env.temp_c",
                           start=start, end=end, bucket="1h")
    assert [(p.bucket, p.n, p.min, p.max) for p in raw] == [
        (p.bucket, p.n, p.min, p.max) for p in rolled]
    assert sum(p.n for p in rolled) == 12
    school = series.school_series(db, school="thcs-a", metric="env.temp_c", start=start,
                                  end=end)
    assert sum(p.n for p in school) == 12
    # a partition far in the past is dropped by retention; the current one stays
    old = datetime(2020, 1, 1, tzinfo=UTC)
    partitions.Partitions().ensure(db, "telemetry_5m", [old.date()])
    db.execute("update timeseries_retention set keep = '30 days'")
    done = partitions.apply_retention(db, datetime.now(UTC))
    assert done["telemetry_5m"] >= 1
    names = {r[0] for r in db.execute(
        "select relname from pg_class where relname like 'telemetry_5m_p%'")}
    assert "telemetry_5m_p202001" not in names
    assert f"telemetry_5m_p{now:%Y%m}" in names


def test_timescale_path(pg_url: str, db: psycopg.Connection[Any]) -> None:
    info = storage.enable_timescale(db)
    if not info.available:
        pytest.skip("the timescaledb extension is not installable on this PostgreSQL "
                    "(Debian 12 ships no package); the plain path is tested above")
    now = datetime.now(UTC)
    put(db, "a-r101", 1, None, {"env.temp_c": 30.0}, ts=now)
    pts = series.raw_series(db, subjects=["a-r101"], metric="env.temp_c",
                            start=now - timedelta(hours=1), end=now + timedelta(hours=1),
                            width=timedelta(minutes=5), timescale=True)
    assert len(pts) == 1 and pts[0].avg == 30.0


# -- the API ---------------------------------------------------------------------------

@pytest.fixture
def client(pg_url: str, db: psycopg.Connection[Any], tmp_path: Path) -> Iterator[TestClient]:
    ensure_admin(db, password=PASSWORD)
    create_user(db, username="fm.a", password=PASSWORD, role="facility_manager",
                school_id="thcs-a")
    create_user(db, username="cr", password=PASSWORD, role="control_room")
    put(db, "a-r101", 1, "PJ-A-101", {"projector.error": "lamp", "projector.lamp_hours": 100,
                                      "projector.power": "on"})
    put(db, "b-r201", 1, "PJ-B-201", {"projector.error": "fan"})
    evaluator(pg_url).run_once(db)
    settings = Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET)
    app = create_app(settings, database_url=pg_url, mqtt_display="mqtt://x:1")
    with TestClient(app) as c:
        yield c


def login(c: TestClient, user: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_api_assets_metrics_coverage_utilisation(client: TestClient) -> None:
    admin, fm = login(client, "admin"), login(client, "fm.a")
    assert {a["tag"] for a in client.get("/api/v1/assets", headers=admin).json()} == {
        "PJ-A-101", "PJ-B-201"}
    mine = client.get("/api/v1/assets", headers=fm).json()
    assert [a["tag"] for a in mine] == ["PJ-A-101"] and mine[0]["room"] == "P.101"
    r = client.get("/api/v1/assets/PJ-A-101/metrics",
                   params={"metric": "projector.lamp_hours", "bucket": "5m"}, headers=fm)
    assert r.status_code == 200 and r.json()["points"][0]["last"] == 100.0
    assert client.get("/api/v1/assets/PJ-B-201/metrics", params={"metric": "x.y"},
                      headers=fm).status_code == 404
    bad = client.get("/api/v1/assets/PJ-A-101/metrics",
                     params={"metric": "x", "from": "2026-01-02T00:00", "to": "2026-01-01T00:00"},
                     headers=fm)
    assert bad.status_code == 422 and "before" in bad.json()["detail"]
    assert client.get("/api/v1/assets/bad%00tag/metrics", params={"metric": "x"},
                      headers=fm).status_code == 422
    cov = client.get("/api/v1/equipment/coverage", headers=admin).json()
    assert cov["district"] == {"school_id": "*", "assets": 2, "complete": 1, "share": 0.5}
    util = client.get("/api/v1/equipment/utilisation", headers=fm).json()
    assert [u["asset_tag"] for u in util] == ["PJ-A-101"]
    assert client.get("/api/v1/equipment/utilisation", params={"date": "nope"},
                      headers=fm).status_code == 422


def test_api_alarm_actions_and_roles(client: TestClient) -> None:
    fm, cr, admin = login(client, "fm.a"), login(client, "cr"), login(client, "admin")
    mine = client.get("/api/v1/alarms", headers=fm).json()
    assert [a["subject"] for a in mine] == ["PJ-A-101"]
    everything = client.get("/api/v1/alarms", params={"state": "all"}, headers=cr).json()
    assert len(everything) == 2
    a_id = mine[0]["id"]
    b_id = next(a["id"] for a in everything if a["subject"] == "PJ-B-201")
    assert client.post(f"/api/v1/alarms/{a_id}/ack", headers=cr).status_code == 403
    assert client.post(f"/api/v1/alarms/{b_id}/ack", headers=fm).status_code == 404
    r = client.post(f"/api/v1/alarms/{a_id}/ack", json={"comment": "đang xử lý"}, headers=fm)
    assert r.status_code == 200 and r.json()["acked_by"] == "fm.a"
    assert client.post(f"/api/v1/alarms/{a_id}/ack", headers=fm).status_code == 409
    wo = client.post(f"/api/v1/alarms/{a_id}/work-order",
                     json={"assignee": "anh Hùng", "note": "thay bóng"}, headers=fm)
    assert wo.status_code == 201 and wo.json()["assignee"] == "anh Hùng"
    assert client.get("/api/v1/alarms", headers=fm).json()[0]["work_order_id"] == wo.json()["id"]
    assert [w["id"] for w in client.get("/api/v1/work-orders", headers=fm).json()] == [
        wo.json()["id"]]
    order = wo.json()["id"]
    moved = client.post(f"/api/v1/work-orders/{order}/assign", json={"assignee": "chị Lan"},
                        headers=fm)
    assert moved.status_code == 200 and moved.json()["assignee"] == "chị Lan"
    assert client.post(f"/api/v1/work-orders/{order}/assign", json={"assignee": "x"},
                       headers=cr).status_code == 403  # the control room only watches
    assert client.post(f"/api/v1/work-orders/{order}/assign", json={},
                       headers=fm).status_code == 422
    assert client.post("/api/v1/work-orders/999999/assign", json={"assignee": None},
                       headers=fm).status_code == 404
    closed = client.post(f"/api/v1/work-orders/{wo.json()['id']}/close",
                         json={"note": "xong"}, headers=fm)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert client.post(f"/api/v1/work-orders/{wo.json()['id']}/close",
                       headers=fm).status_code == 409
    assert client.post(f"/api/v1/work-orders/{order}/assign", json={"assignee": "x"},
                       headers=fm).status_code == 409  # closed
    cleared = client.post(f"/api/v1/alarms/{a_id}/clear", json={"comment": "đã thay"},
                          headers=fm)
    assert cleared.status_code == 200 and cleared.json()["state"] == "cleared"
    assert client.get("/api/v1/alarms", headers=fm).json() == []
    assert client.post("/api/v1/alarms/999999/clear", headers=admin).status_code == 404
    assert client.post("/api/v1/alarms/0/clear", headers=admin).status_code == 422
    assert client.get("/api/v1/alarms", params={"state": "bogus"},
                      headers=admin).status_code == 422
    long = client.post(f"/api/v1/alarms/{b_id}/ack", json={"comment": "x" * 5000},
                       headers=admin)
    assert long.status_code == 422
    nul = client.post(f"/api/v1/alarms/{b_id}/ack", json={"comment": "a\u0000b"},
                      headers=admin)
    assert nul.status_code == 409 and "NUL" in nul.json()["detail"]


def test_seed_assets_for_the_demo(pg_url: str) -> None:
    from smartschool.demo.district import generate_district
    from smartschool.demo.seed import seed_assets, seed_district

    district = generate_district(students_target=2000)
    projectors = [d for d in district.devices if d.projector_asset]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        seed_district(conn, district)
        assert seed_assets(conn, district) == len(projectors)
        seed_assets(conn, district)  # idempotent
        row = conn.execute("select count(*), count(room_id), count(device_id),"
                           " min(rated_lamp_hours) from assets").fetchone()
        assert row == (len(projectors), len(projectors), len(projectors), 4000)
        share = assets.coverage(conn).district.share
        assert 0.7 < share < 1.0  # a few demo records lack their serial


def test_cli_import_reports_and_exit_codes(db: psycopg.Connection[Any], pg_url: str,
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from core.settings import get_settings
    from smartschool.cli.assets import app

    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    try:
        bad = tmp_path / "x.csv"
        bad.write_text("tag,type\nTV-1,toaster\n", encoding="utf-8")
        r = CliRunner().invoke(app, ["import", str(bad), "--school", "thcs-a"])
        assert r.exit_code == 1
        assert "x.csv:2:type: 'toaster' is not one of" in r.output
        good = tmp_path / "y.csv"
        good.write_text("tag,type\nTV-1,tv\n", encoding="utf-8")
        r = CliRunner().invoke(app, ["import", str(good), "--school", "thcs-a"])
        assert r.exit_code == 0 and "written 1" in r.output
        # retention per table, shown and set from the command line
        shown = CliRunner().invoke(app, ["retention"])
        assert shown.exit_code == 0
        assert shown.output.splitlines() == ["telemetry\t90 days", "telemetry_1h\t1825 days",
                                             "telemetry_5m\t400 days"]
        r = CliRunner().invoke(app, ["retention", "telemetry", "--days", "30"])
        assert r.exit_code == 0 and r.output == "telemetry\t30 days\n"
        assert partitions.retention(db)["telemetry"].days == 30
        assert CliRunner().invoke(app, ["retention", "nope"]).exit_code == 2
        assert CliRunner().invoke(app, ["retention", "--days", "3"]).exit_code == 2
    finally:
        get_settings.cache_clear()


def test_evaluator_thread_single_leader(pg_url: str, db: psycopg.Connection[Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import hub.equipment.evaluator as evaluator_module

    monkeypatch.setattr(evaluator_module, "STANDBY_RETRY_S", 0.2)
    first, second = evaluator(pg_url), evaluator(pg_url)
    try:
        first.start()
        second.start()
        put(db, "a-r101", 1, "PJ-A-101", {"projector.error": "lamp", "projector.lamp_hours": 7})
        deadline = time.monotonic() + 20
        while not open_alarms(db) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert open_alarms(db) == [("PJ-A-101", "projector_error", "active_unack")]
        time.sleep(1.0)
        # exactly one of the two works, so the reading is rolled up once, not twice
        assert {first.stats.polls > 0, second.stats.polls > 0} == {True, False}
        n = db.execute("select sum(n) from telemetry_5m where subject = 'PJ-A-101'"
                       " and metric = 'projector.lamp_hours'").fetchone()
        assert n == (1,)
        leader = first if first.stats.polls else second
        leader.stop()
        # whichever was standing by takes over once the leader's connection is gone
        put(db, "a-r101", 2, "PJ-A-101", {"projector.error": "ok"})
        deadline = time.monotonic() + 20
        while open_alarms(db)[0][2] != "cleared_unack" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert open_alarms(db) == [("PJ-A-101", "projector_error", "cleared_unack")]
    finally:
        first.stop()
        second.stop()
