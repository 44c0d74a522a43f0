"""The push's pure parts (issue 15): the signature a receiver checks, when a period is due,
what is pushed once, which endpoints are refused, and the schema files of its documents."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from hub.exchange.push import endpoint_problem, render_body
from hub.exchange.push_documents import (
    AttendanceDailyAggregateDoc,
    PushEnvelope,
    push_schema_files,
)
from hub.exchange.push_signing import Verdict, signature, signed_headers, verify
from hub.exchange.schedule import (
    DayPlan,
    Push,
    due_days,
    due_months,
    last_cutoff,
    pushes_to_make,
    recent_days,
    recent_months,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "s3cret-key-of-the-city-0001"
BODY = '{"kind":"kpi_snapshot","documents":[{"school":"Trường A"}]}'.encode()
T0 = 1_796_000_000


def _headers(**over: str) -> dict[str, str]:
    h = signed_headers(SECRET, body=BODY, timestamp=T0, delivery_id="d-1", kind="kpi_snapshot")
    h.update(over)
    return h


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # The README's recipe, computed independently of the module.
    mac = hmac.new(SECRET.encode(), str(T0).encode() + b"." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, str(T0), BODY) == f"v1={mac}"
    h = _headers()
    assert h["X-Smartschool-Signature"] == f"v1={mac}"
    assert h["X-Smartschool-Timestamp"] == str(T0)
    assert h["X-Smartschool-Delivery"] == h["Idempotency-Key"] == "d-1"


GOOD = signature(SECRET, str(T0), BODY)
VERIFY_CASES = [
    # (headers, body, secret, receiver's now, verdict)
    ("as sent", _headers(), BODY, SECRET, T0 + 5, Verdict.OK),
    ("lower-case header names", {k.lower(): v for k, v in _headers().items()}, BODY, SECRET,
     T0, Verdict.OK),
    ("a later scheme beside v1", _headers(**{"X-Smartschool-Signature": f"v2=abc, {GOOD}"}),
     BODY, SECRET, T0, Verdict.OK),
    ("at the edge of the tolerance", _headers(), BODY, SECRET, T0 + 300, Verdict.OK),
    ("the receiver's clock behind", _headers(), BODY, SECRET, T0 - 300, Verdict.OK),
    ("too old: a replay", _headers(), BODY, SECRET, T0 + 301, Verdict.STALE),
    ("from the future", _headers(), BODY, SECRET, T0 - 301, Verdict.STALE),
    ("body changed", _headers(), BODY.replace(b"A", b"B"), SECRET, T0, Verdict.MISMATCH),
    ("body re-serialised", _headers(), json.dumps(json.loads(BODY)).encode(), SECRET, T0,
     Verdict.MISMATCH),
    ("timestamp changed", _headers(**{"X-Smartschool-Timestamp": str(T0 + 1)}), BODY, SECRET,
     T0, Verdict.MISMATCH),
    ("wrong secret", _headers(), BODY, SECRET + "x", T0, Verdict.MISMATCH),
    ("signature without its scheme", _headers(**{"X-Smartschool-Signature": GOOD[3:]}), BODY,
     SECRET, T0, Verdict.MISMATCH),
    ("non-ASCII signature", _headers(**{"X-Smartschool-Signature": "v1=ä"}), BODY, SECRET,
     T0, Verdict.MISMATCH),
    ("no signature", {"X-Smartschool-Timestamp": str(T0)}, BODY, SECRET, T0, Verdict.MISSING),
    ("no timestamp", {"X-Smartschool-Signature": GOOD}, BODY, SECRET, T0, Verdict.MISSING),
    ("timestamp not seconds", _headers(**{"X-Smartschool-Timestamp": "2026-12-07T10:00"}),
     BODY, SECRET, T0, Verdict.MALFORMED),
    ("negative timestamp", _headers(**{"X-Smartschool-Timestamp": "-5"}), BODY, SECRET, T0,
     Verdict.MALFORMED),
]


@pytest.mark.parametrize(("headers", "body", "secret", "now", "verdict"),
                         [c[1:] for c in VERIFY_CASES], ids=[c[0] for c in VERIFY_CASES])
def test_verify(headers: dict[str, str], body: bytes, secret: str, now: int,
                verdict: Verdict) -> None:
    assert verify(secret, headers, body, now=now) is verdict


def _at(day: str, hm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=VN)


GRACE = dt.timedelta(minutes=30)
MON, TUE = dt.date(2026, 12, 7), dt.date(2026, 12, 8)
DAY_CASES = [
    # (now, plans, due)
    ("before the last cutoff", _at("2026-12-07", "07:20"),
     [DayPlan(MON, _at("2026-12-07", "07:30"))], []),
    ("past the cutoff but within the grace", _at("2026-12-07", "07:59"),
     [DayPlan(MON, _at("2026-12-07", "07:30"))], []),
    ("cutoff plus grace exactly", _at("2026-12-07", "08:00"),
     [DayPlan(MON, _at("2026-12-07", "07:30"))], [MON]),
    ("a day without school anywhere", _at("2026-12-08", "12:00"),
     [DayPlan(MON, None)], []),
    ("yesterday and today", _at("2026-12-08", "09:00"),
     [DayPlan(MON, _at("2026-12-07", "07:30")), DayPlan(TUE, _at("2026-12-08", "07:15"))],
     [MON, TUE]),
    ("today not yet", _at("2026-12-08", "07:00"),
     [DayPlan(MON, _at("2026-12-07", "07:30")), DayPlan(TUE, _at("2026-12-08", "07:15"))],
     [MON]),
]


@pytest.mark.parametrize(("now", "plans", "due"), [c[1:] for c in DAY_CASES],
                         ids=[c[0] for c in DAY_CASES])
def test_due_days(now: dt.datetime, plans: list[DayPlan], due: list[dt.date]) -> None:
    assert due_days(now, plans, grace=GRACE) == due


@pytest.mark.parametrize(("cutoffs", "last"), [
    ([], None),
    ([(False, _at("2026-12-07", "07:15"))], None),
    # the kindergarten's later cutoff is the one that counts...
    ([(True, _at("2026-12-07", "07:15")), (True, _at("2026-12-07", "08:00"))],
     _at("2026-12-07", "08:00")),
    # ...unless it has no school that day
    ([(True, _at("2026-12-07", "07:15")), (False, _at("2026-12-07", "08:00"))],
     _at("2026-12-07", "07:15")),
])
def test_last_cutoff(cutoffs: list[tuple[bool, dt.datetime]], last: dt.datetime | None) -> None:
    assert last_cutoff(cutoffs) == last


def test_recent_days_are_today_and_the_lookback_in_district_time() -> None:
    # 18:00 UTC on the 7th is already the 8th in Vietnam.
    now = dt.datetime(2026, 12, 7, 18, 0, tzinfo=dt.UTC)
    assert recent_days(now, VN, 2) == [dt.date(2026, 12, 6), MON, TUE]
    assert recent_days(now, VN, 0) == [TUE]


NOV, OCT, DEC = dt.date(2026, 11, 1), dt.date(2026, 10, 1), dt.date(2026, 12, 1)
HOUR = dt.timedelta(hours=1)
MONTH_CASES = [
    # (now, months, snapshots, due)
    ("the last day itself: the snapshot is still retaken", _at("2026-11-30", "23:30"),
     [OCT, NOV], {OCT, NOV}, [OCT]),
    ("just after midnight, within the grace", _at("2026-12-01", "00:59"), [NOV], {NOV}, []),
    ("after the grace", _at("2026-12-01", "01:00"), [NOV], {NOV}, [NOV]),
    ("no snapshot was taken", _at("2026-12-05", "10:00"), [NOV], set(), []),
    ("the current month never", _at("2026-12-31", "23:59"), [DEC], {DEC}, []),
]


@pytest.mark.parametrize(("now", "months", "snapshots", "due"), [c[1:] for c in MONTH_CASES],
                         ids=[c[0] for c in MONTH_CASES])
def test_due_months(now: dt.datetime, months: list[dt.date], snapshots: set[dt.date],
                    due: list[dt.date]) -> None:
    assert due_months(now, VN, months, snapshots=snapshots, grace=HOUR) == due


def test_recent_months_cross_the_year() -> None:
    now = _at("2027-01-10", "09:00")
    assert recent_months(now, VN, 1) == [DEC]
    assert recent_months(now, VN, 3) == [OCT, NOV, DEC]
    # midnight UTC on Dec 31st is already January in Vietnam
    assert recent_months(dt.datetime(2026, 12, 31, 18, tzinfo=dt.UTC), VN, 1) == [DEC]


PUSH_CASES = [
    # (endpoints, due, done, expected)
    ("nothing due", [(1, ("kpi_snapshot",))], {}, set(), []),
    ("each endpoint its own kinds",
     [(1, ("attendance_daily_aggregate",)), (2, ("attendance_daily_aggregate",
                                                 "kpi_snapshot"))],
     {"attendance_daily_aggregate": [MON], "kpi_snapshot": [NOV]}, set(),
     [Push(1, "attendance_daily_aggregate", MON), Push(2, "attendance_daily_aggregate", MON),
      Push(2, "kpi_snapshot", NOV)]),
    ("what the ledger holds is not pushed again",
     [(1, ("attendance_daily_aggregate",)), (2, ("attendance_daily_aggregate",))],
     {"attendance_daily_aggregate": [MON, TUE]},
     {Push(1, "attendance_daily_aggregate", MON), Push(2, "attendance_daily_aggregate", TUE)},
     [Push(1, "attendance_daily_aggregate", TUE), Push(2, "attendance_daily_aggregate", MON)]),
    ("the ledger of another kind does not count",
     [(1, ("attendance_daily_aggregate", "kpi_snapshot"))],
     {"kpi_snapshot": [DEC]}, {Push(1, "attendance_daily_aggregate", DEC)},
     [Push(1, "kpi_snapshot", DEC)]),
]


@pytest.mark.parametrize(("endpoints", "due", "done", "expected"),
                         [c[1:] for c in PUSH_CASES], ids=[c[0] for c in PUSH_CASES])
def test_pushes_to_make(endpoints: list[tuple[int, tuple[str, ...]]],
                        due: dict[str, list[dt.date]], done: set[Push],
                        expected: list[Push]) -> None:
    assert pushes_to_make(endpoints, due, done) == expected  # type: ignore[arg-type]


OK_ENDPOINT = {"name": "csdl-haiphong", "url": "https://csdl.example.vn/push",
               "kinds": ["kpi_snapshot"], "secret": "x" * 16}
ENDPOINT_CASES = [
    ("fine", {}, None),
    ("upper case name", {"name": "CSDL"}, "name:"),
    ("name with a space", {"name": "csdl hp"}, "name:"),
    ("ftp url", {"url": "ftp://csdl.example.vn/"}, "url:"),
    ("url without host", {"url": "https:///push"}, "url:"),
    ("url with a space", {"url": "https://csdl.example.vn/a b"}, "url:"),
    ("broken IPv6 host", {"url": "http://[::1/push"}, "url:"),
    ("url with a NUL", {"url": "http://e.vn/\x00"}, "url:"),
    ("url too long", {"url": "https://e.vn/" + "a" * 500}, "url:"),
    ("no kind", {"kinds": []}, "kinds:"),
    ("unknown kind", {"kinds": ["learner"]}, "kinds: learner unknown"),
    ("short secret", {"secret": "x" * 15}, "secret:"),
    ("secret with a newline", {"secret": "x" * 16 + "\n"}, "secret:"),
]


@pytest.mark.parametrize(("change", "problem"), [c[1:] for c in ENDPOINT_CASES],
                         ids=[c[0] for c in ENDPOINT_CASES])
def test_endpoint_problem(change: dict[str, object], problem: str | None) -> None:
    found = endpoint_problem(**(OK_ENDPOINT | change))  # type: ignore[arg-type]
    assert (found is None) if problem is None else (found or "").startswith(problem)


ROOT = Path(__file__).resolve().parents[2] / "docs" / "exchange"


@pytest.mark.parametrize("name", sorted(push_schema_files()))
def test_push_schema_files_match_the_models(name: str) -> None:
    on_disk = json.loads((ROOT / name).read_text(encoding="utf-8"))
    assert on_disk == push_schema_files()[name], (
        f"{name} differs: run smartschool exchange schema --out docs/exchange")


def test_a_rendered_body_validates_against_the_delivery_schema() -> None:
    envelope = PushEnvelope(
        schema_version=1, delivery_id="d-1", endpoint="csdl", kind="attendance_daily_aggregate",
        schema_id="urn:smartschool:exchange:v1:daily-attendance-aggregates", period=MON,
        period_type="day", generated_at=_at("2026-12-07", "08:00"),
        documents=[AttendanceDailyAggregateDoc(school="thcs-a", day=MON, school_day=True,
                                               enrolled=4, present=2, late=1, absent=1,
                                               excused=0, pending=0)])
    body = json.loads(render_body(envelope))
    schema = push_schema_files()["v1/push-delivery.schema.json"]
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    assert validator.is_valid(body)
    body["documents"][0]["absent"] = -1
    assert not validator.is_valid(body)


README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_recipe() -> object:
    """The README's receiver check, run as a receiver would copy it."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("    import hashlib, hmac, time")
    block = []
    for line in lines[start:]:
        if line and not line.startswith("    "):
            break
        block.append(line[4:])
    scope: dict[str, object] = {}
    exec("\n".join(block), scope)  # the README's own snippet, as a receiver copies it
    return scope["push_is_genuine"]


def test_the_readme_recipe_accepts_what_the_hub_signs_and_nothing_else() -> None:
    import time

    genuine = _readme_recipe()
    assert callable(genuine)
    now = int(time.time())
    sent = {k.lower(): v for k, v in signed_headers(
        SECRET, body=BODY, timestamp=now, delivery_id="d-1", kind="kpi_snapshot").items()}
    assert genuine(SECRET.encode(), sent, BODY) is True
    assert verify(SECRET, sent, BODY, now=now) is Verdict.OK
    for headers, body, secret in (
            (sent, BODY + b" ", SECRET),
            (sent, BODY, SECRET + "x"),
            (sent | {"x-smartschool-timestamp": str(now - 3600)}, BODY, SECRET)):
        assert genuine(secret.encode(), headers, body) is False
        assert verify(secret, headers, body, now=now) is not Verdict.OK
