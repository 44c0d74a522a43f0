"""The account rules of hub/accounts/rules.py, as tables: shape, passwords, who may administer
whom, self-lockout, class teachers, and what a change does."""

from __future__ import annotations

import pytest

from hub.accounts.rules import (
    KEEP,
    MIN_PASSWORD_LEN,
    Account,
    Changes,
    UserInputError,
    account_problem,
    apply_changes,
    may_administer,
    may_see,
    normalise_full_name,
    password_problem,
    releases_classes,
    school_problem,
    self_change_problem,
    teacher_problem,
)
from smartschool.cli.users import table_lines

DA = Account("da", "district_admin", None)
CR = Account("cr", "control_room", None)
SA = Account("sa", "school_admin", "thcs-a")
SB = Account("sb", "school_admin", "th-b")
GV = Account("gv", "teacher", "thcs-a")
FM = Account("fm", "facility_manager", "thcs-a")
GV_B = Account("gv.b", "teacher", "th-b")
ORPHAN = Account("orphan", "school_admin", None)  # inserted by hand, without a school


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        (Account("gv.an", "teacher", "thcs-a"), None),
        (Account("bgh@thcs-a", "school_admin", "thcs-a"), None),
        (Account("kt_1", "facility_manager", "th-b"), None),
        (Account("admin2", "district_admin", None), None),
        (Account("trungtam", "control_room", None), None),
        (Account("", "teacher", "thcs-a"), "username ''"),
        (Account(".an", "teacher", "thcs-a"), "username '.an'"),
        (Account("gv an", "teacher", "thcs-a"), "username 'gv an'"),
        (Account("gv\x00", "teacher", "thcs-a"), "username"),
        (Account("a" * 65, "teacher", "thcs-a"), "at most 64"),
        (Account("gv", "principal", "thcs-a"), "role 'principal': one of control_room, "
         "district_admin, exchange, facility_manager, school_admin, teacher"),
        # Exchange with the city (issue 15): a machine account is district-wide.
        (Account("csdl-haiphong", "exchange", None), None),
        (Account("csdl-haiphong", "exchange", "thcs-a"), "acts for the whole district"),
        (Account("gv", "teacher", None), "a teacher acts for one school: give the school"),
        (Account("kt", "facility_manager", None), "a facility_manager acts for one school"),
        (Account("bgh", "school_admin", None), "a school_admin acts for one school"),
        (Account("gv", "teacher", "THCS A"), "school 'THCS A' is not a school code"),
        (Account("gv", "teacher", "thcs\x00"), "is not a school code"),
        (Account("tt", "control_room", "thcs-a"),
         "a control_room acts for the whole district: give no school"),
        (Account("pgd", "district_admin", "thcs-a"), "a district_admin acts for the whole"),
    ],
)
def test_account_shape(account: Account, problem: str | None) -> None:
    got = account_problem(account)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got, got


def test_school_problem_follows_the_scoped_roles_of_access() -> None:
    from hub.access import ROLES, SCHOOL_SCOPED_ROLES

    for role in ROLES:
        needs_school = school_problem(role, None) is not None
        assert needs_school == (role in SCHOOL_SCOPED_ROLES), role


@pytest.mark.parametrize(
    ("password", "username", "problem"),
    [
        ("x" * MIN_PASSWORD_LEN, "gv", None),
        ("mật khẩu dài 1", "gv", None),
        ("x" * (MIN_PASSWORD_LEN - 1), "gv", "at least 10"),
        ("", "gv", "at least 10"),
        ("x" * 1024, "gv", None),
        ("x" * 1025, "gv", "at most 1024"),
        ("GiaoVien.An", "giaovien.an", "must not be the username"),
    ],
)
def test_password(password: str, username: str, problem: str | None) -> None:
    got = password_problem(password, username=username)
    assert (got is None) if problem is None else (got is not None and problem in got)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("  Nguyễn Văn An ", "Nguyễn Văn An"),
        # decomposed (NFD) input is stored composed, as the records import stores names
        ("Nguye\u0302\u0303n", "Nguyễn"),
    ],
)
def test_full_name_normalised(given: str | None, stored: str | None) -> None:
    assert normalise_full_name(given) == stored


@pytest.mark.parametrize("bad", ["An\x00", "An\nB", "x" * 201])
def test_full_name_refused(bad: str) -> None:
    with pytest.raises(UserInputError, match="full name"):
        normalise_full_name(bad)


# (actor, target, may see, may administer): who manages whom.
PERMISSIONS = [
    (DA, GV, True, True),
    (DA, SA, True, True),
    (DA, CR, True, True),
    (DA, Account("da2", "district_admin", None), True, True),
    (SA, GV, True, True),
    (SA, FM, True, True),
    (SA, Account("sa2", "school_admin", "thcs-a"), True, False),  # no peers
    (SA, SA, True, False),
    (SA, GV_B, False, False),  # another school
    (SA, Account("gv.x", "teacher", None), False, False),
    (SA, DA, False, False),
    (SA, CR, False, False),
    (SB, GV, False, False),
    (ORPHAN, Account("gv.x", "teacher", None), False, False),  # no school matches nothing
    (CR, GV, False, False),  # read-only
    (GV, GV, False, False),
    (GV, FM, False, False),
    (FM, GV, False, False),
]


@pytest.mark.parametrize(("actor", "target", "sees", "administers"), PERMISSIONS,
                         ids=[f"{a.username}->{t.username}" for a, t, _, _ in PERMISSIONS])
def test_permissions(actor: Account, target: Account, sees: bool, administers: bool) -> None:
    assert may_see(actor, target) is sees
    assert may_administer(actor, target) is administers
    # Whoever may administer an account may also see it.
    assert not administers or sees


@pytest.mark.parametrize(
    ("actor", "before", "changes", "problem"),
    [
        (DA, DA, Changes(full_name="Phòng GD"), None),
        (DA, DA, Changes(password="x" * 12), None),
        (DA, DA, Changes(role="control_room"), "own role or school"),
        (DA, DA, Changes(disabled=True), "cannot disable your own"),
        (SA, SA, Changes(school="th-b"), "own role or school"),
        (DA, GV, Changes(disabled=True), None),
        (DA, GV, Changes(role="school_admin"), None),
        (SA, SA, Changes(disabled=False), None),
    ],
)
def test_self_change(actor: Account, before: Account, changes: Changes,
                     problem: str | None) -> None:
    got = self_change_problem(actor, before, apply_changes(before, changes))
    assert (got is None) if problem is None else (got is not None and problem in got)


@pytest.mark.parametrize(
    ("teacher", "school", "problem"),
    [
        (GV, "thcs-a", None),
        (GV_B, "thcs-a", "gv.b teaches at th-b, not thcs-a"),
        (FM, "thcs-a", "fm is a facility_manager, not a teacher"),
        (SA, "thcs-a", "sa is a school_admin, not a teacher"),
        (Account("gv", "teacher", "thcs-a", disabled=True), "thcs-a", "gv is disabled"),
    ],
)
def test_teacher_of_a_class(teacher: Account, school: str, problem: str | None) -> None:
    assert teacher_problem(teacher, school) == problem


@pytest.mark.parametrize(
    ("changes", "after"),
    [
        (Changes(), GV),
        (Changes(full_name="  Cô An "), Account("gv", "teacher", "thcs-a", "Cô An")),
        (Changes(disabled=True), Account("gv", "teacher", "thcs-a", disabled=True)),
        (Changes(role="control_room", school=None), Account("gv", "control_room", None)),
        (Changes(school="th-b"), Account("gv", "teacher", "th-b")),
        (Changes(password="x" * 12), GV),  # the password is not part of the account
        (Changes(full_name=None), GV),
        (Changes(role=KEEP, school=KEEP), GV),
    ],
)
def test_apply_changes(changes: Changes, after: Account) -> None:
    assert apply_changes(GV, changes) == after


@pytest.mark.parametrize(
    ("before", "after", "released"),
    [
        (GV, GV, False),
        (GV, Account("gv", "teacher", "thcs-a", "Cô An", disabled=True), False),
        (GV, Account("gv", "teacher", "th-b"), True),
        (GV, Account("gv", "school_admin", "thcs-a"), True),
        (SA, Account("sa", "teacher", "thcs-a"), False),
    ],
)
def test_releases_classes(before: Account, after: Account, released: bool) -> None:
    assert releases_classes(before, after) is released


def test_table_lines_pad_columns() -> None:
    assert table_lines(("A", "LONGER"), [("xyz", "1"), ("p", "Nguyễn Văn An")]) == [
        "A    LONGER",
        "xyz  1",
        "p    Nguyễn Văn An",
    ]

