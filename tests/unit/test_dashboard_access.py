"""Dashboard access rules (dashboard.access) as tables of role x page x school, checked
against the API's own code so the two cannot drift apart. No server, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dash import html

from dashboard.access import (
    EQUIPMENT_PATH,
    KIOSK_ROLE,
    NOTHING,
    Access,
    Page,
    SchoolFilter,
    Viewer,
    alarm_scope,
    home_path,
    is_page_path,
    login_href,
    may_act_on_alarms,
    may_view,
    page_of,
    safe_next,
    school_filter,
    sees_school,
    wall_view,
)
from dashboard.builders.district import SCHOOL_PATH
from dashboard.builders.equipment import build_alarm_list
from dashboard.i18n import STRINGS, role_label
from dashboard.login import session_secret
from dashboard.pages.equipment import read_only_note, without_actions
from hub.access import PERSON_ROLES, ROLES
from hub.accounts.auth import User
from hub.api.deps import get_school_filter
from hub.api.routes.attendance_reports import _visible
from hub.equipment.actions import acting_school
from hub.equipment.alarms import AlarmError, AlarmPublic

A, B = "THCS-HN", "MN-HT"

ANON = None
DISTRICT = Viewer("admin", "district_admin", None)
CONTROL = Viewer("phong.dieu.hanh", "control_room", None)
SCHOOL_ADMIN_A = Viewer("ht.hn", "school_admin", A)
TEACHER_A = Viewer("gv.hn", "teacher", A)
FACILITY_A = Viewer("ql.hn", "facility_manager", A)
TEACHER_NO_SCHOOL = Viewer("gv.le", "teacher", None)  # inserted by hand: sees nothing
UNKNOWN_ROLE = Viewer("x", "janitor", A)
KIOSK = Viewer("kiosk", KIOSK_ROLE, None)  # the wall screen's sign-in, not a hub account

VIEWERS = [DISTRICT, CONTROL, SCHOOL_ADMIN_A, TEACHER_A, FACILITY_A, TEACHER_NO_SCHOOL,
           UNKNOWN_ROLE]

ALLOW, LOGIN, DENY = Access.ALLOW, Access.LOGIN, Access.DENY

# (viewer, page, school, public district, expected)
VIEW_TABLE: list[tuple[Viewer | None, Page, str | None, bool, Access]] = [
    # the district wall: public by default, for everyone
    (ANON, "district", None, True, ALLOW),
    (TEACHER_A, "district", None, True, ALLOW),
    (UNKNOWN_ROLE, "district", None, True, ALLOW),
    # a private wall: district-wide accounts only
    (ANON, "district", None, False, LOGIN),
    (DISTRICT, "district", None, False, ALLOW),
    (CONTROL, "district", None, False, ALLOW),
    (SCHOOL_ADMIN_A, "district", None, False, DENY),
    (TEACHER_A, "district", None, False, DENY),
    (FACILITY_A, "district", None, False, DENY),
    (TEACHER_NO_SCHOOL, "district", None, False, DENY),
    (UNKNOWN_ROLE, "district", None, False, DENY),
    # the kiosk: the wall, public or not, and nothing else
    (KIOSK, "district", None, False, ALLOW),
    (KIOSK, "district", None, True, ALLOW),
    (KIOSK, "school", A, True, DENY),
    (KIOSK, "school", None, False, DENY),
    (KIOSK, "equipment", None, True, DENY),
    # a school's page (children's full names)
    (ANON, "school", A, True, LOGIN),
    (ANON, "school", B, False, LOGIN),
    (DISTRICT, "school", A, True, ALLOW),
    (DISTRICT, "school", B, True, ALLOW),
    (CONTROL, "school", A, True, ALLOW),
    (CONTROL, "school", B, True, ALLOW),
    (SCHOOL_ADMIN_A, "school", A, True, ALLOW),
    (SCHOOL_ADMIN_A, "school", B, True, DENY),
    (TEACHER_A, "school", A, True, ALLOW),
    (TEACHER_A, "school", B, True, DENY),
    (TEACHER_A, "school", "thcs-hn", True, DENY),  # ids are exact, not case-folded
    (FACILITY_A, "school", A, True, DENY),  # equipment, not registers (PERSON_ROLES)
    (FACILITY_A, "school", B, True, DENY),
    (TEACHER_NO_SCHOOL, "school", A, True, DENY),
    (UNKNOWN_ROLE, "school", A, True, DENY),
    (DISTRICT, "school", None, True, DENY),
    # the equipment page: every role, narrowed to its school by school_filter
    (ANON, "equipment", None, True, LOGIN),
    (DISTRICT, "equipment", None, True, ALLOW),
    (CONTROL, "equipment", None, True, ALLOW),
    (SCHOOL_ADMIN_A, "equipment", None, True, ALLOW),
    (TEACHER_A, "equipment", None, True, ALLOW),
    (FACILITY_A, "equipment", None, True, ALLOW),
    (TEACHER_NO_SCHOOL, "equipment", None, True, DENY),
    (UNKNOWN_ROLE, "equipment", None, True, DENY),
]


@pytest.mark.parametrize(("viewer", "page", "school", "public", "expected"), VIEW_TABLE)
def test_may_view(viewer: Viewer | None, page: Page, school: str | None, public: bool,
                  expected: Access) -> None:
    assert may_view(viewer, page, school, public_district=public) is expected


def test_every_role_and_page_is_in_the_table() -> None:
    covered = {(v.role if v else None, page) for v, page, *_ in VIEW_TABLE}
    for role in [*sorted(ROLES), None]:
        for page in ("district", "school", "equipment"):
            assert (role, page) in covered, (role, page)


def test_a_private_wall_is_the_default() -> None:
    assert may_view(ANON, "district") is LOGIN


# (viewer, wall names setting, what the wall's gate panel shows)
WALL_TABLE: list[tuple[Viewer | None, bool, str]] = [
    (ANON, False, "aggregate"),
    (ANON, True, "aggregate"),  # the setting never reaches anonymous screens
    (KIOSK, False, "classes"),
    (KIOSK, True, "names"),
    (DISTRICT, False, "classes"),
    (DISTRICT, True, "names"),
    (CONTROL, True, "names"),
    # a school's staff on a public wall: the wall covers schools they may not see
    (SCHOOL_ADMIN_A, True, "aggregate"),
    (TEACHER_A, True, "aggregate"),
    (FACILITY_A, True, "aggregate"),
    (TEACHER_NO_SCHOOL, True, "aggregate"),
    (UNKNOWN_ROLE, True, "aggregate"),
    (Viewer("x", "janitor", None), True, "aggregate"),
]


@pytest.mark.parametrize(("viewer", "names", "expected"), WALL_TABLE)
def test_wall_view(viewer: Viewer | None, names: bool, expected: str) -> None:
    assert wall_view(viewer, names=names) == expected


def test_the_kiosk_reaches_no_data_but_the_wall() -> None:
    assert not sees_school(KIOSK, A)
    assert school_filter(KIOSK, None) == NOTHING
    assert school_filter(KIOSK, A) == NOTHING
    assert alarm_scope(KIOSK) == NOTHING
    assert KIOSK_ROLE not in ROLES  # no API token can carry it
    assert role_label("vi", KIOSK_ROLE) == "Màn hình kiosk"


# (viewer, school picked on the page, expected filter)
FILTER_TABLE: list[tuple[Viewer | None, str | None, SchoolFilter]] = [
    (ANON, None, NOTHING),
    (DISTRICT, None, SchoolFilter(None)),
    (DISTRICT, B, SchoolFilter(B)),
    (CONTROL, None, SchoolFilter(None)),
    (CONTROL, A, SchoolFilter(A)),
    (SCHOOL_ADMIN_A, None, SchoolFilter(A)),
    (SCHOOL_ADMIN_A, A, SchoolFilter(A)),
    (SCHOOL_ADMIN_A, B, SchoolFilter(A, matches_nothing=True)),
    (TEACHER_A, B, SchoolFilter(A, matches_nothing=True)),
    (FACILITY_A, None, SchoolFilter(A)),
    (TEACHER_NO_SCHOOL, None, NOTHING),
    (TEACHER_NO_SCHOOL, A, NOTHING),
    (UNKNOWN_ROLE, A, NOTHING),
]


@pytest.mark.parametrize(("viewer", "requested", "expected"), FILTER_TABLE)
def test_school_filter(viewer: Viewer | None, requested: str | None,
                       expected: SchoolFilter) -> None:
    assert school_filter(viewer, requested) == expected


def _user(viewer: Viewer) -> User:
    return User(username=viewer.username, password_hash="-", role=viewer.role,
                school_id=viewer.school_id, full_name=None, disabled=False)


API_VIEWERS = [v for v in VIEWERS if v.role in ROLES] + [
    Viewer("odd", "control_room", A),  # a district role with a school: still district-wide
]


@pytest.mark.parametrize("viewer", API_VIEWERS, ids=lambda v: f"{v.role}-{v.school_id}")
@pytest.mark.parametrize("requested", [None, A, B])
def test_school_filter_is_the_apis(viewer: Viewer, requested: str | None) -> None:
    api = get_school_filter(_user(viewer), requested)
    ours = school_filter(viewer, requested)
    assert ours.matches_nothing == api.matches_nothing
    if not api.matches_nothing:
        assert ours.school == api.school
    for school in (A, B):
        assert ours.allows(school) == api.allows(school)


@pytest.mark.parametrize("viewer", API_VIEWERS, ids=lambda v: f"{v.role}-{v.school_id}")
@pytest.mark.parametrize("school", [A, B])
def test_sees_school_is_the_apis(viewer: Viewer, school: str) -> None:
    # attendance_reports: _require_person_role, then _visible
    api = viewer.role in PERSON_ROLES and _visible(_user(viewer), school)
    assert sees_school(viewer, school) == api
    assert sees_school(viewer, school) == (may_view(viewer, "school", school) is ALLOW)


def test_anonymous_sees_no_school() -> None:
    assert not sees_school(None, A)
    assert not sees_school(DISTRICT, None)


# (viewer, may act, in which school: None every school)
ALARM_TABLE: list[tuple[Viewer | None, bool, str | None]] = [
    (ANON, False, None),
    (DISTRICT, True, None),
    (CONTROL, False, None),  # the control room watches
    (SCHOOL_ADMIN_A, True, A),
    (TEACHER_A, False, None),  # teachers only look
    (FACILITY_A, True, A),
    (Viewer("ql.le", "facility_manager", None), False, None),
    (UNKNOWN_ROLE, False, None),
]


@pytest.mark.parametrize(("viewer", "acts", "school"), ALARM_TABLE)
def test_alarm_scope(viewer: Viewer | None, acts: bool, school: str | None) -> None:
    scope = alarm_scope(viewer)
    assert may_act_on_alarms(viewer) is acts
    assert scope.matches_nothing is not acts
    if acts:
        assert scope.school == school


@pytest.mark.parametrize("viewer", [*API_VIEWERS, Viewer("ql.le", "facility_manager", None)],
                         ids=lambda v: f"{v.role}-{v.school_id}")
def test_alarm_scope_is_the_apis(viewer: Viewer) -> None:
    try:
        user = _user(viewer)
        api: str | None = acting_school(user.role, user.school_id)
    except AlarmError as exc:
        assert exc.forbidden
        assert alarm_scope(viewer).matches_nothing
        return
    ours = alarm_scope(viewer)
    assert not ours.matches_nothing and ours.school == api


# --- paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "page", "school"),
    [("/", "district", None), (None, "district", None), ("", "district", None),
     ("/equipment", "equipment", None), ("/equipment/", "equipment", None),
     (f"{SCHOOL_PATH}{A}", "school", A), (f"{SCHOOL_PATH}{A}/", "school", A),
     ("/school/MN%20HT", "school", "MN HT"), ("/school/", "district", None),
     ("/school", "district", None), ("/anything", "district", None)],
)
def test_page_of(path: str | None, page: Page, school: str | None) -> None:
    assert page_of(path) == (page, school)


@pytest.mark.parametrize(
    ("path", "is_page"),
    [("/", True), ("/equipment", True), (EQUIPMENT_PATH + "/", True), ("/school/A", True),
     ("/school/", False), ("/login", False), ("/assets/dashboard.css", False),
     ("/_dash-update-component", False), ("/_dash-layout", False)],
)
def test_is_page_path(path: str, is_page: bool) -> None:
    assert is_page_path(path) is is_page


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/school/THCS-HN?lang=en", "/school/THCS-HN?lang=en"),
        ("/", "/"),
        ("/equipment", "/equipment"),
        (None, None),
        ("", None),
        ("school/A", None),  # relative
        ("//evil.example/x", None),  # another host
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("javascript:alert(1)", None),
        ("/school/A\r\nSet-Cookie: x=1", None),
        ("/login?next=/", None),  # no loop through the form
        ("/logout", None),
        ("/" + "a" * 3000, None),
    ],
)
def test_safe_next(value: str | None, expected: str | None) -> None:
    assert safe_next(value) == expected


def test_login_href() -> None:
    assert login_href("/school/A?lang=en", "en") == "/login?lang=en&next=%2Fschool%2FA%3Flang%3Den"
    assert login_href("//evil.example", "vi") == "/login?lang=vi"
    assert login_href(None, "vi") == "/login?lang=vi"


@pytest.mark.parametrize(
    ("viewer", "home"),
    [(ANON, "/"), (DISTRICT, "/"), (CONTROL, "/"), (TEACHER_A, f"/school/{A}"),
     (FACILITY_A, EQUIPMENT_PATH), (Viewer("x", "teacher", "MN HT"), "/school/MN%20HT"),
     (TEACHER_NO_SCHOOL, "/")],
)
def test_home_path(viewer: Viewer | None, home: str) -> None:
    assert home_path(viewer) == home


# --- the equipment page for read-only accounts ---------------------------------------


def _alarm(alarm_id: int) -> AlarmPublic:
    at = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    return AlarmPublic(
        id=alarm_id, subject="PJ-1", asset_tag="PJ-1", device_id="d1", school_id=A,
        room="P.101", type="lamp_life", severity="warning", state="active_unack",
        message="lamp", value=None, raised_at=at, last_raised_at=at, occurrences=1,
        condition_cleared_at=None, acked_at=None, acked_by=None, ack_comment=None,
        cleared_at=None, cleared_by=None, clear_comment=None, work_order_id=None)


def _ids(tree: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(tree, list | tuple):
        for child in tree:
            found += _ids(child)
    elif hasattr(tree, "children"):
        ident = getattr(tree, "id", None)
        if ident is not None:
            found.append(ident)
        found += _ids(tree.children)
    return found


def test_read_only_accounts_get_no_alarm_buttons() -> None:
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    full = build_alarm_list([_alarm(1), _alarm(2)], {A: "Trường"}, "vi", tz)
    types = {i["type"] for i in _ids(full) if isinstance(i, dict)}
    assert types == {"eq-ack", "eq-clear", "wo-open"}  # wo-open: a work order (issue #13)
    stripped = without_actions(build_alarm_list([_alarm(1), _alarm(2)], {A: "Trường"}, "vi", tz))
    assert not [i for i in _ids(stripped) if isinstance(i, dict)]
    assert len(stripped) == 2  # the alarms themselves stay
    assert without_actions([html.Div("x")])[0].children == "x"


@pytest.mark.parametrize(
    ("viewer", "shows_note"),
    [(CONTROL, True), (TEACHER_A, True), (FACILITY_A, False), (DISTRICT, False),
     (ANON, False)],
)
def test_read_only_note(viewer: Viewer | None, shows_note: bool) -> None:
    note, note_class, comment_class = read_only_note(viewer, "vi")
    assert bool(note) is shows_note
    assert ("hidden" in note_class) is not shows_note
    assert ("hidden" in comment_class) is shows_note
    if viewer is CONTROL:
        assert note == "Chỉ xem: tài khoản Trung tâm điều hành không xác nhận hay xoá cảnh báo"


# --- strings and keys ------------------------------------------------------------------


def test_login_strings_exist_in_both_languages() -> None:
    prefixes = ("login_", "not_allowed", "nav_log", "role_", "session_", "own_school",
                "logout_", "eq_read_only", "eq_not_allowed")
    vi = {k for k in STRINGS["vi"] if k.startswith(prefixes)}
    en = {k for k in STRINGS["en"] if k.startswith(prefixes)}
    assert vi == en and len(vi) >= 25
    for role in ROLES:
        assert role_label("vi", role) != role and role_label("en", role) != role
    assert role_label("vi", "janitor") == "janitor"


def test_session_key_is_derived_not_the_token_key() -> None:
    key = session_secret("token-secret")
    assert key == session_secret("token-secret") and key != "token-secret"
    assert key != session_secret("another-secret") and len(key) == 64
