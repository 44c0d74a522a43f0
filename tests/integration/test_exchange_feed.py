"""The change feed (issue 15) through the real API on a real PostgreSQL: a consumer that
follows it from the empty cursor while writers change the records ends with exactly the
documents the database holds, no change delivered twice; a transaction that commits after
a later one is not skipped; cursors are opaque and signed; exchange accounts read the
feed and nothing else."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from hub.accounts.auth import create_user
from hub.api.app import create_app
from hub.exchange import feed
from hub.exchange.documents import KINDS, MODELS, LearnerDoc
from hub.models import ApiModel
from hub.records.retention import compact_exchange_changes
from tests.conftest import wait_until

pytestmark = pytest.mark.integration

PASSWORD = "pass-123456"
USERS = {
    "city": ("exchange", None),
    "da": ("district_admin", None),
    "cr": ("control_room", None),
    "sa": ("school_admin", "a"),
    "gv": ("teacher", "a"),
}

SEED = """
insert into schools (id, name, level, ward) values ('a', 'THCS A', 'thcs', 'Hải Thành'),
    ('b', 'TH B', 'tieu_hoc', 'Đằng Hải');
insert into rooms (school_id, name) values ('a', 'P101');
insert into classes (school_id, name, grade) values ('a', '6A1', 6), ('a', '6A2', 6);
"""


@pytest.fixture
def client(pg_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        for name, (role, school) in USERS.items():
            create_user(conn, username=name, password=PASSWORD, role=role,  # type: ignore[arg-type]
                        school_id=school)
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key="k" * 48),
                     database_url=pg_url, mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as c:
        yield c


def auth(c: TestClient, user: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class Consumer:
    """An outside system: applies each page, then stores the next cursor."""

    def __init__(self, c: TestClient, headers: dict[str, str], limit: int = 7) -> None:
        self.c, self.headers, self.limit = c, headers, limit
        self.cursor: str | None = None
        self.state: dict[tuple[str, str], ApiModel] = {}
        self.seen: list[str] = []

    def poll(self) -> bool:
        """One page; whether the feed said more was ready."""
        params: dict[str, Any] = {"limit": self.limit}
        if self.cursor is not None:
            params["since"] = self.cursor
        r = self.c.get("/api/v1/feed", params=params, headers=self.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["schema_version"] == 1
        for change in body["changes"]:
            self.seen.append(change["id"])
            if change["op"] == "delete":
                assert change["document"] is None
                self.state.pop((change["kind"], change["key"]), None)
            else:
                model = MODELS[change["kind"]]
                self.state[(change["kind"], change["key"])] = model.model_validate(
                    change["document"])
        self.cursor = body["next_cursor"]
        return bool(body["more"])


def database_documents(url: str) -> dict[tuple[str, str], ApiModel]:
    with psycopg.connect(url) as conn:
        return {(kind, key): doc
                for kind in KINDS for key, doc in feed.current_documents(conn, kind).items()}


def test_a_transaction_that_commits_late_is_not_skipped(client: TestClient, pg_url: str) -> None:
    """seq 1 is taken by a transaction still open when seq 2 commits: a keyset on the
    sequence alone would hand out a cursor past 2 and never deliver 1."""
    city = Consumer(client, auth(client, "city"), limit=100)
    city.poll()  # the seeded schools
    with psycopg.connect(pg_url) as slow, psycopg.connect(pg_url, autocommit=True) as fast:
        slow.execute("insert into students (code, school_id, full_name, birth_date, gender)"
                     " values ('a-late', 'a', 'Lê Văn Muộn', '2012-01-01', 'M')")
        fast.execute("insert into students (code, school_id, full_name, birth_date, gender)"
                     " values ('a-early', 'a', 'Phạm Thị Sớm', '2012-02-02', 'F')")
        city.poll()
        # Behind the open transaction: nothing past it is handed out yet.
        assert ("learner", "a-early") not in city.state
        assert ("learner", "a-late") not in city.state
        slow.commit()

    # Writing transactions elsewhere in the cluster (xids are the cluster's) may hold the
    # feed back a moment longer; it delivers both once they are done.
    def both() -> bool:
        city.poll()
        return {("learner", "a-late"), ("learner", "a-early")} <= set(city.state)

    wait_until(both, timeout=60, what="both learners in the feed")
    assert len(city.seen) == len(set(city.seen))


def _writer(url: str, seed: int, rounds: int, failures: list[BaseException]) -> None:
    rnd = random.Random(seed)
    tag = f"w{seed}"
    try:
        with psycopg.connect(url) as conn:
            for i in range(rounds):
                with conn.transaction():
                    step = rnd.randrange(7)
                    conn.execute(
                        "insert into students (code, school_id, class_id, full_name,"
                        " birth_date, gender, personal_id) select %s, 'a', min(id),"
                        " %s, '2012-05-06', 'F', %s from classes",
                        (f"a-{tag}-{i}", f"Học sinh {tag} {i}", f"{seed:02d}{i:010d}"))
                    if step == 0:
                        conn.execute("update students set full_name = full_name || ' *'"
                                     " where code = %s", (f"a-{tag}-{rnd.randrange(i + 1)}",))
                    elif step == 1:
                        conn.execute(
                            "insert into attendance_daily (student_id, day, school_id, first_in)"
                            " select id, date '2025-09-08' + %s, 'a', now() from students"
                            " where code = %s on conflict (student_id, day) do update"
                            " set last_out = now()",
                            (rnd.randrange(3), f"a-{tag}-{rnd.randrange(i + 1)}"))
                    elif step == 2:
                        conn.execute(
                            "insert into assets (tag, type, school_id) values (%s, 'projector',"
                            " 'a') on conflict (tag) do update set status = 'repair',"
                            " updated_at = now()", (f"PJ-{tag}-{rnd.randrange(5)}",))
                    elif step == 3:
                        conn.execute("insert into staff (code, school_id, full_name) values"
                                     " (%s, 'a', 'Giáo viên') on conflict do nothing",
                                     (f"a-s-{tag}-{rnd.randrange(5)}",))
                    elif step == 4:
                        conn.execute("delete from staff where code = %s",
                                     (f"a-s-{tag}-{rnd.randrange(5)}",))
                    elif step == 5:
                        # A new person code: the old document goes, a new one comes.
                        conn.execute("update students set code = code || 'x'"
                                     " where code = %s", (f"a-{tag}-{rnd.randrange(i + 1)}",))
                    else:
                        conn.execute("update students set class_id = (select max(id) from"
                                     " classes), active = false, left_on = '2025-10-01'"
                                     " where code = %s", (f"a-{tag}-{rnd.randrange(i + 1)}",))
    except BaseException as exc:  # reported by the test
        failures.append(exc)


def test_a_consumer_following_concurrent_writers_ends_with_the_database(
        client: TestClient, pg_url: str) -> None:
    city = Consumer(client, auth(client, "city"), limit=7)
    failures: list[BaseException] = []
    writers = [threading.Thread(target=_writer, args=(pg_url, n, 150, failures))
               for n in (1, 2, 3)]
    for w in writers:
        w.start()
    polls = 0
    while any(w.is_alive() for w in writers):
        city.poll()
        polls += 1
    for w in writers:
        w.join()
    assert not failures, failures
    expected = database_documents(pg_url)

    # Other transactions of the cluster can hold the feed back for a moment after the
    # writers are done; it catches up when they end.
    def caught_up() -> bool:
        while city.poll():
            pass
        return city.state == expected

    wait_until(caught_up, timeout=60, what="the consumer to hold what the database holds")
    assert polls > 1  # the consumer did read while the writers wrote
    assert len(city.seen) == len(set(city.seen)), "a change was delivered twice"
    assert sum(k == "learner" for k, _ in expected) == 450 and any(
        k == "attendance_daily" for k, _ in expected)
    # A consumer starting afresh now reaches the same state.
    late = Consumer(client, auth(client, "city"), limit=1000)
    while late.poll():
        pass
    assert late.state == expected


def test_compaction_while_a_consumer_follows_loses_nothing(
        client: TestClient, pg_url: str) -> None:
    """The hourly compaction (only the newest change of each key stays) runs again and
    again while writers write and a consumer follows: the consumer still ends with the
    database, and afterwards the log holds one change per key."""
    city = Consumer(client, auth(client, "city"), limit=7)
    failures: list[BaseException] = []
    writers = [threading.Thread(target=_writer, args=(pg_url, n, 100, failures))
               for n in (1, 2)]
    for w in writers:
        w.start()
    compacted = 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        while any(w.is_alive() for w in writers):
            city.poll()
            compacted += compact_exchange_changes(conn)
        for w in writers:
            w.join()
        assert not failures, failures
        expected = database_documents(pg_url)

        def caught_up() -> bool:
            while city.poll():
                pass
            return city.state == expected

        wait_until(caught_up, timeout=60, what="the consumer to hold what the database holds")
        wait_until(lambda: (compact_exchange_changes(conn), _duplicated_keys(conn) == 0)[1],
                   timeout=30, what="the log to hold one change per key")
    assert compacted > 0  # the compaction did remove changes while the consumer read
    late = Consumer(client, auth(client, "city"), limit=1000)
    while late.poll():
        pass
    assert late.state == expected
    assert len(late.seen) == len({(k, key) for k, key in expected}) + _deletes(pg_url)


def _duplicated_keys(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    row = conn.execute("select count(*) - count(distinct (kind, key)) from exchange_changes"
                       ).fetchone()
    assert row is not None
    return int(str(row[0]))


def _deletes(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from exchange_changes where op = 'delete'"
                           ).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_tampered_cursors_are_refused(client: TestClient) -> None:
    h = auth(client, "city")
    good = client.get("/api/v1/feed", params={"limit": 1}, headers=h).json()["next_cursor"]
    body, mac = good.split(".")
    edited_body = ("B" if body[2] != "B" else "C").join((body[:2], body[3:]))
    for bad in (f"{edited_body}.{mac}", f"{body}.{mac[:-2]}", "1.2", "nonsense",
                f"{body}.{mac}.", "c1.0.0"):
        r = client.get("/api/v1/feed", params={"since": bad}, headers=h)
        assert r.status_code == 422, (bad, r.text)
        assert "cursor" in r.json()["detail"]
    for params in ({"since": good + "A" * 300}, {"since": ""}, {"kinds": "learner,pupils"},
                   {"kinds": ""}, {"limit": 0}, {"limit": 1001}):
        r = client.get("/api/v1/feed", params=params, headers=h)
        assert r.status_code == 422, (params, r.text)
    assert client.get("/api/v1/feed", params={"since": good}, headers=h).status_code == 200


def test_kinds_narrow_the_feed(client: TestClient, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into assets (tag, type, school_id) values ('PJ-1', 'projector', 'a')")
        conn.execute("insert into kpi_snapshots (month, scope, scope_id, indicator, numerator,"
                     " denominator, target) values ('2025-09-01', 'district', '', 'rate', 9,"
                     " 10, 0.95)")
    h = auth(client, "city")

    def narrowed() -> list[tuple[str, str]]:
        r = client.get("/api/v1/feed", params={"kinds": "equipment,kpi_snapshot,staff"},
                       headers=h)
        assert r.status_code == 200
        return [(c["kind"], c["key"]) for c in r.json()["changes"]]

    # (Other writers of the cluster may hold the feed back a moment: see the first test.)
    assert wait_until(lambda: len(got := narrowed()) == 2 and got, timeout=60,
                      what="the asset and the snapshot in the feed") == [
        ("equipment", "PJ-1"), ("kpi_snapshot", "2025-09-01/district//rate")]


EXCHANGE_REFUSED = [
    ("GET", "/api/v1/me"), ("GET", "/api/v1/schools"), ("GET", "/api/v1/events"),
    ("GET", "/api/v1/users"), ("GET", "/api/v1/classes"), ("GET", "/api/v1/assets"),
    ("GET", "/api/v1/notifications"), ("GET", "/api/v1/attendance/summary"),
    ("GET", "/api/v1/dead-letters"), ("GET", "/api/v1/alarms"),
]


def test_the_exchange_role_reads_the_feed_and_nothing_else(client: TestClient) -> None:
    city = auth(client, "city")
    assert client.get("/api/v1/feed", headers=city).status_code == 200
    for method, path in EXCHANGE_REFUSED:
        r = client.request(method, path, headers=city)
        assert r.status_code == 403, (path, r.status_code, r.text)
    r = client.post("/api/v1/users", headers=city,
                    json={"username": "x1", "password": "pass-123456789", "role": "exchange"})
    assert r.status_code == 403, r.text
    for user, expected in (("da", 200), ("cr", 403), ("sa", 403), ("gv", 403)):
        r = client.get("/api/v1/feed", headers=auth(client, user))
        assert r.status_code == expected, (user, r.text)
        # The people keep their own routes.
        assert client.get("/api/v1/me", headers=auth(client, user)).status_code == 200
    assert client.get("/api/v1/feed").status_code == 401


def test_the_dashboard_refuses_an_exchange_account(pg_url: str, tmp_path: Path) -> None:
    """A machine's password opens no page: its sign-in fails like a wrong password, while
    a person's succeeds on the same dashboard."""
    import re

    from dashboard.app import close_app
    from dashboard.app import create_app as create_dashboard

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        create_user(conn, username="city", password=PASSWORD, role="exchange")
        create_user(conn, username="da", password=PASSWORD, role="district_admin")
    app = create_dashboard(Settings(_env_file=None, data_dir=tmp_path, secret_key="k" * 48),
                           database_url=pg_url)
    try:
        client = app.server.test_client()

        def sign_in(user: str) -> Any:
            form = client.get("/login").get_data(as_text=True)
            match = re.search(r'name="csrf" value="([^"]+)"', form)
            assert match is not None
            return client.post("/login", data={"username": user, "password": PASSWORD,
                                               "csrf": match.group(1)})

        refused = sign_in("city")
        assert refused.status_code == 401
        assert "Set-Cookie" not in refused.headers or "smartschool_dashboard=" not in \
            refused.headers["Set-Cookie"]
        assert sign_in("da").status_code == 302
    finally:
        close_app(app)


def test_a_national_id_off_the_schema_is_left_out_not_a_failure(
        client: TestClient, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into students (code, school_id, full_name, birth_date, gender,"
                     " personal_id) values ('a-odd', 'a', 'X', '2012-01-01', 'M', 'not-an-id')")
    city = Consumer(client, auth(client, "city"), limit=1000)

    def arrived() -> bool:
        city.poll()
        return ("learner", "a-odd") in city.state

    wait_until(arrived, timeout=60, what="the learner in the feed")
    doc = city.state[("learner", "a-odd")]
    assert isinstance(doc, LearnerDoc) and doc.national_id is None
