"""Who hears of an alarm and when (hub/notify/alarm_rules.py): tables of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.notify.alarm_rules import (
    AlarmView,
    Contact,
    Stage,
    due_stages,
    idempotency_key,
    reachable,
    recipients,
    render,
)

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
ESCALATE = timedelta(minutes=15)
MAX_AGE = timedelta(hours=24)


def alarm(*, severity: str = "major", state: str = "active_unack",
          acked: bool = False) -> AlarmView:
    return AlarmView(1, "thcs-a", severity, state, T0, T0 + timedelta(minutes=1) if acked
                     else None)


@pytest.mark.parametrize(
    ("case", "view", "after", "school_reachable", "expected"),
    [
        ("new major: the school", alarm(), timedelta(0), True, ["alarm"]),
        ("new critical: the school", alarm(severity="critical"), timedelta(0), True,
         ["alarm"]),
        ("minor: nobody", alarm(severity="minor"), timedelta(hours=2), True, []),
        ("warning: nobody", alarm(severity="warning"), timedelta(hours=2), True, []),
        ("just before the deadline", alarm(), ESCALATE - timedelta(seconds=1), True,
         ["alarm"]),
        ("at the deadline: escalates", alarm(), ESCALATE, True,
         ["alarm", "alarm-escalation"]),
        ("condition gone but unacknowledged still escalates",
         alarm(state="cleared_unack"), ESCALATE, True, ["alarm", "alarm-escalation"]),
        ("acknowledged in time: no escalation", alarm(state="active_ack", acked=True),
         ESCALATE * 4, True, []),
        ("cleared by a person: nothing", alarm(state="cleared", acked=True), ESCALATE, True,
         []),
        ("nobody at the school: the district at once", alarm(), timedelta(0), False,
         ["alarm", "alarm-escalation"]),
        ("older than the max age: nothing", alarm(), MAX_AGE + timedelta(seconds=1), True,
         []),
        ("at the max age: still sent", alarm(), MAX_AGE, True, ["alarm", "alarm-escalation"]),
    ],
)
def test_due_stages(case: str, view: AlarmView, after: timedelta, school_reachable: bool,
                    expected: list[Stage]) -> None:
    got = due_stages(view, now=T0 + after, escalate_after=ESCALATE, max_age=MAX_AGE,
                     school_reachable=school_reachable)
    assert got == expected, case


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        (Contact("a", "facility_manager", "thcs-a", "webhook"), True),
        (Contact("a", "facility_manager", "thcs-a", "none"), False),
        (Contact("a", "facility_manager", "thcs-a", "sms", phone="0912345678"), True),
        (Contact("a", "facility_manager", "thcs-a", "sms"), False),
        (Contact("a", "facility_manager", "thcs-a", "zalo", zalo_id="z1"), True),
        (Contact("a", "facility_manager", "thcs-a", "zalo", phone="0912345678"), False),
        (Contact("a", "facility_manager", "thcs-a", "webhook", disabled=True), False),
        (Contact("a", "facility_manager", "thcs-a", "fax"), False),
    ],
)
def test_reachable(contact: Contact, expected: bool) -> None:
    assert reachable(contact) is expected


PEOPLE = [
    Contact("fm.a2", "facility_manager", "thcs-a", "webhook"),
    Contact("fm.a1", "facility_manager", "thcs-a", "sms", phone="0912345678"),
    Contact("fm.a-off", "facility_manager", "thcs-a", "none"),
    Contact("fm.b", "facility_manager", "thcs-b", "webhook"),
    Contact("sa.a", "school_admin", "thcs-a", "webhook"),
    Contact("gv.a", "teacher", "thcs-a", "webhook"),
    Contact("admin", "district_admin", None, "webhook"),
    Contact("room", "control_room", None, "zalo", zalo_id="z9"),
    Contact("admin-off", "district_admin", None, "webhook", disabled=True),
]


@pytest.mark.parametrize(
    ("stage", "school", "expected"),
    [
        ("alarm", "thcs-a", ["fm.a1", "fm.a2"]),
        ("alarm", "thcs-b", ["fm.b"]),
        ("alarm", "thcs-c", []),
        ("alarm-escalation", "thcs-a", ["admin", "room"]),
        ("alarm-escalation", "thcs-c", ["admin", "room"]),
    ],
)
def test_recipients(stage: Stage, school: str, expected: list[str]) -> None:
    assert [c.username for c in recipients(stage, school, PEOPLE)] == expected


def test_keys_differ_by_stage_alarm_and_account() -> None:
    keys = {idempotency_key(s, a, u) for s in ("alarm", "alarm-escalation")
            for a in (1, 2) for u in ("fm.a", "admin")}
    assert len(keys) == 8


@pytest.mark.parametrize(
    ("stage", "needle"),
    [("alarm", "Vui lòng kiểm tra"), ("alarm-escalation", "sau 20 phút")],
)
def test_render(stage: Stage, needle: str) -> None:
    text = render(stage, school="thcs-a", subject="PRJ-101", message="lamp failure",
                  severity="major", raised_at=T0, minutes_unacked=20)
    assert needle in text and "PRJ-101" in text and "thcs-a" in text


@pytest.mark.parametrize(
    ("escalate_s", "max_age_s", "ok"),
    [(900.0, 86400.0, True), (900.0, 901.0, True), (900.0, 900.0, False),
     (3600.0, 600.0, False)],
)
def test_settings_refuse_a_max_age_that_would_never_escalate(
        escalate_s: float, max_age_s: float, ok: bool) -> None:
    from pydantic import ValidationError

    from hub.notify.settings import NotifySettings

    def build() -> NotifySettings:
        return NotifySettings(_env_file=None, alarm_escalate_after_s=escalate_s,
                              alarm_max_age_s=max_age_s)
    if ok:
        assert build().alarm_max_age_s == max_age_s
    else:
        with pytest.raises(ValidationError, match="would ever escalate"):
            build()
