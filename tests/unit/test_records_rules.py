"""Consent rules, record access and retention: pure tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hub.access import may_manage
from hub.records.consent import age_on, check_consent_input, consent_refusal, required_roles
from hub.records.retention import retention_cutoff

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(("birth", "day", "age"), [
    (date(2019, 11, 29), TODAY, 7), (date(2019, 11, 30), TODAY, 6),
    (date(2016, 2, 29), date(2023, 2, 28), 6), (date(2016, 2, 29), date(2023, 3, 1), 7),
])
def test_age_in_completed_years(birth, day, age) -> None:
    assert age_on(birth, day) == age


CONSENT_CASES = [
    # (kind, birth date, roles given, refusal or None)
    ("student", date(2020, 5, 1), [], "face enrollment needs the guardian's recorded consent"),
    ("student", date(2020, 5, 1), ["guardian"], None),
    ("student", date(2020, 5, 1), ["self"], "face enrollment needs the guardian's recorded "
                                            "consent"),
    ("student", date(2019, 11, 29), ["guardian"],
     "face enrollment needs the person's own recorded consent (aged 7: 7 or over must agree "
     "too)"),
    ("student", date(2012, 1, 1), [],
     "face enrollment needs the guardian's and the person's own recorded consent (aged 14: 7 "
     "or over must agree too)"),
    ("student", date(2012, 1, 1), ["guardian", "self"], None),
    ("student", None, ["guardian"], "face enrollment needs the person's own recorded consent"),
    ("staff", date(1980, 1, 1), [], "face enrollment needs the person's own recorded consent"),
    ("staff", None, ["self"], None),
]


@pytest.mark.parametrize(("kind", "birth", "given", "refusal"), CONSENT_CASES)
def test_who_must_consent(kind, birth, given, refusal) -> None:
    assert consent_refusal(kind, birth, TODAY, given) == refusal


def test_required_roles_flip_on_the_seventh_birthday() -> None:
    assert required_roles("student", date(2019, 11, 30), TODAY) == {"guardian"}
    assert required_roles("student", date(2019, 11, 29), TODAY) == {"guardian", "self"}


def test_consent_input() -> None:
    now = datetime(2026, 11, 29, 8, tzinfo=UTC)
    assert check_consent_input(given_by="Nguyễn Văn Bình", method="paper form 12",
                               given_at=now, now=now) == []
    assert check_consent_input(given_by=" ", method="", given_at=now + timedelta(hours=1),
                               now=now) == [
        "given_by: a name of 1 to 100 characters",
        "method: how consent was given, 1 to 100 characters",
        "given_at: in the future",
    ]
    naive = datetime(2026, 11, 29, 8)
    assert check_consent_input(given_by="A", method="B", given_at=naive, now=now) == [
        "given_at: needs a time zone offset"]


@pytest.mark.parametrize(("role", "user_school", "school", "allowed"), [
    ("district_admin", None, "thcs-a", True),
    ("school_admin", "thcs-a", "thcs-a", True),
    ("school_admin", "thcs-a", "th-b", False),
    ("school_admin", None, "thcs-a", False),
    ("teacher", "thcs-a", "thcs-a", False),
    ("control_room", None, "thcs-a", False),
    ("facility_manager", "thcs-a", "thcs-a", False),
])
def test_who_may_manage_records(role, user_school, school, allowed) -> None:
    assert may_manage(role, user_school, school) is allowed


def test_retention_cutoff() -> None:
    now = datetime(2026, 11, 29, 8, tzinfo=UTC)
    assert retention_cutoff(now, 30) == datetime(2026, 10, 30, 8, tzinfo=UTC)
    with pytest.raises(ValueError):
        retention_cutoff(now, 0)
    with pytest.raises(ValueError):
        retention_cutoff(now.replace(tzinfo=None), 30)
