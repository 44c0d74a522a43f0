"""Who may see which dashboard page and act on what. Pure: no Flask, no database.

The rules mirror the API's, so an account sees the same on the dashboard as through
``/api/v1`` (tests/unit/test_dashboard_access.py checks them against the API's code):

- hub/access.py: school_admin, teacher and facility_manager act for one school
  (``SCHOOL_SCOPED_ROLES``); district_admin and control_room see the whole district.
- hub/api/deps.py ``get_school_filter``: a list narrows to the caller's school; asking
  for another school matches nothing; a scoped account without a school sees nothing.
- hub/api/routes/attendance_reports.py ``_visible``: a school's registers (children's
  full names) are visible to district-wide accounts and to that school's staff.
- hub/access.py ``ALARM_ACTING_ROLES``, the set hub.equipment.actions ``acting_school``
  (behind the API's alarm routes) checks too:
  district and school admins and facility managers acknowledge and clear alarms, scoped
  ones only in their own school; control_room and teachers only look.

The district page (``/``) is public only when SMARTSCHOOL_DASHBOARD_PUBLIC_WALL says so
(``public_district``); otherwise it needs a district-wide account or the kiosk. What the
wall shows depends on who looks (``wall_view``): anonymous screens get counts, rates and
device states only; the kiosk and district-wide accounts also get the gate feed with a
class and a decision per passage, and names only where the district turned them on.

The kiosk (``KIOSK_ROLE``) is the dashboard's own read-only sign-in for wall screens
(SMARTSCHOOL_DASHBOARD_KIOSK_TOKEN), not a hub account: it is in none of hub/access.py's
role sets, so every page and filter below other than the wall refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from dashboard.builders.district import SCHOOL_PATH
from dashboard.builders.wall import is_kiosk
from hub.access import (
    ALARM_ACTING_ROLES,
    DISTRICT_COMMAND_ROLES,
    FEED_ROLES,
    PERSON_ROLES,
    ROLES,
    SCHOOL_SCOPED_ROLES,
    may_command,
)

Page = Literal["district", "school", "equipment", "kpi", "devices", "fleet", "warnings",
               "exchange", "lessons"]
# What the wall's gate panel shows: per-school counts; passages with their class and
# decision; passages with masked names too.
WallView = Literal["aggregate", "classes", "names"]

KIOSK_ROLE: Final = "kiosk"
KIOSK_USERNAME: Final = "kiosk"

EQUIPMENT_PATH: Final = "/equipment"
# The plan's targets (issue #13): every signed-in role, narrowed by school_filter.
KPI_PATH: Final = "/kpi"
# Operators act (issue #13): a school's device panel at /school/<id>/devices, the fleet.
DEVICES_SUFFIX: Final = "/devices"
# Classroom attendance (issue 14): a school's lesson register at /school/<id>/lessons.
LESSONS_SUFFIX: Final = "/lessons"
FLEET_PATH: Final = "/fleet"
# Warnings (issue 15): every signed-in role, narrowed as /api/v1/warnings narrows.
WARNINGS_PATH: Final = "/warnings"
# The push to the city (issue 15): who reads /api/v1/exchange/deliveries and is a person,
# i.e. district admins.
EXCHANGE_PATH: Final = "/exchange"
EXCHANGE_ROLES: Final[frozenset[str]] = FEED_ROLES & ROLES
LOGIN_PATH: Final = "/login"
LOGOUT_PATH: Final = "/logout"
MAX_NEXT_LEN: Final = 2000


@dataclass(frozen=True, slots=True)
class Viewer:
    """The logged-in account as the dashboard needs it (never its password hash)."""

    username: str
    role: str
    school_id: str | None
    full_name: str | None = None

    @property
    def school_scoped(self) -> bool:
        return self.role in SCHOOL_SCOPED_ROLES


class Access(Enum):
    ALLOW = "allow"
    LOGIN = "login"  # anonymous: show the login form, then come back
    DENY = "deny"  # logged in, but this page is not theirs: say so, show no data


@dataclass(frozen=True, slots=True)
class SchoolFilter:
    """Which schools a view shows: None every school; ``matches_nothing`` none at all."""

    school: str | None
    matches_nothing: bool = False

    def allows(self, school: str | None) -> bool:
        if self.matches_nothing or school is None:
            return False
        return self.school is None or self.school == school


NOTHING: Final = SchoolFilter(None, matches_nothing=True)


def page_of(pathname: str | None) -> tuple[Page, str | None]:
    """The page a path shows and, for a school page, its school; the page switch falls
    back to the district page for any other path, and so does this."""
    path = (pathname or "/").rstrip("/") or "/"
    if path == EQUIPMENT_PATH:
        return "equipment", None
    if path == KPI_PATH:
        return "kpi", None
    if path == FLEET_PATH:
        return "fleet", None
    if path == WARNINGS_PATH:
        return "warnings", None
    if path == EXCHANGE_PATH:
        return "exchange", None
    if path.startswith(SCHOOL_PATH) and path.endswith(DEVICES_SUFFIX) \
            and len(path) > len(SCHOOL_PATH) + len(DEVICES_SUFFIX):
        return "devices", unquote(path[len(SCHOOL_PATH):-len(DEVICES_SUFFIX)])
    if path.startswith(SCHOOL_PATH) and path.endswith(LESSONS_SUFFIX) \
            and len(path) > len(SCHOOL_PATH) + len(LESSONS_SUFFIX):
        return "lessons", unquote(path[len(SCHOOL_PATH):-len(LESSONS_SUFFIX)])
    if path.startswith(SCHOOL_PATH) and len(path) > len(SCHOOL_PATH):
        return "school", unquote(path[len(SCHOOL_PATH):])
    return "district", None


def is_page_path(pathname: str) -> bool:
    """Paths that load a dashboard page in the browser (not assets, not Dash's API)."""
    path = pathname.rstrip("/") or "/"
    return path in ("/", EQUIPMENT_PATH, KPI_PATH, FLEET_PATH, WARNINGS_PATH,
                    EXCHANGE_PATH) or (
        path.startswith(SCHOOL_PATH) and len(path) > len(SCHOOL_PATH))


def _known(viewer: Viewer) -> bool:
    # A scoped role without a school (inserted by hand; create_user refuses it) must not
    # fall through to the district view.
    return viewer.role in ROLES and not (viewer.school_scoped and viewer.school_id is None)


def sees_school(viewer: Viewer | None, school: str | None) -> bool:
    """May this account see a school's data, children's names included? The API's
    registers rule: that school's staff or the district, and never a facility manager
    (hub/access.py ``PERSON_ROLES``: equipment, not registers)."""
    if viewer is None or school is None or not _known(viewer):
        return False
    if viewer.role not in PERSON_ROLES:
        return False
    return not viewer.school_scoped or viewer.school_id == school


def may_view(viewer: Viewer | None, page: Page, school: str | None = None, *,
             public_district: bool = False) -> Access:
    if page == "district" and public_district:
        return Access.ALLOW
    if viewer is None:
        return Access.LOGIN
    if viewer.role == KIOSK_ROLE:
        return Access.ALLOW if page == "district" else Access.DENY
    if not _known(viewer):
        return Access.DENY
    if page == "district":
        return Access.DENY if viewer.school_scoped else Access.ALLOW
    if page in ("school", "lessons"):
        return Access.ALLOW if sees_school(viewer, school) else Access.DENY
    if page == "devices":
        return Access.ALLOW if sees_devices(viewer, school) else Access.DENY
    if page == "fleet":
        return Access.DENY if fleet_scope(viewer).matches_nothing else Access.ALLOW
    if page == "exchange":
        return Access.ALLOW if sees_exchange(viewer) else Access.DENY
    return Access.ALLOW  # equipment, kpi, warnings: every role, narrowed by school_filter


def sees_exchange(viewer: Viewer | None) -> bool:
    """May this account see the push's receivers and deliveries (the API's rule)."""
    return viewer is not None and _known(viewer) and viewer.role in EXCHANGE_ROLES


def sees_devices(viewer: Viewer | None, school: str | None) -> bool:
    """May this account see a school's device panel: the district's accounts and that
    school's staff (device states, no person). Who may press its buttons is
    ``may_command_devices``."""
    if viewer is None or school is None or not _known(viewer):
        return False
    return not viewer.school_scoped or viewer.school_id == school


def may_command_devices(viewer: Viewer | None, school: str) -> bool:
    """The API's rule for commands (hub/access.py ``may_command``): district admins and
    the control room everywhere, a school admin in their own school, nobody else."""
    return (viewer is not None and _known(viewer)
            and may_command(viewer.role, viewer.school_id, school))


def fleet_scope(viewer: Viewer | None) -> SchoolFilter:
    """Whose devices the fleet view lists: the district's for district admins and the
    control room, their own school's for a school admin, nothing for anyone else."""
    if viewer is None or not _known(viewer):
        return NOTHING
    if viewer.role in DISTRICT_COMMAND_ROLES:
        return SchoolFilter(None)
    if viewer.role == "school_admin" and viewer.school_id is not None:
        return SchoolFilter(viewer.school_id)
    return NOTHING


def devices_href(school: str) -> str:
    return f"{SCHOOL_PATH}{quote(school, safe='')}{DEVICES_SUFFIX}"


def lessons_href(school: str) -> str:
    return f"{SCHOOL_PATH}{quote(school, safe='')}{LESSONS_SUFFIX}"


def wall_view(viewer: Viewer | None, *, names: bool) -> WallView:
    """How much of each gate passage the district wall shows this viewer. ``names`` is
    SMARTSCHOOL_DASHBOARD_WALL_NAMES. A school's staff on a public wall see what anybody
    sees: the wall covers every school, their rights cover one."""
    if viewer is None:
        return "aggregate"
    trusted = viewer.role == KIOSK_ROLE or (
        _known(viewer) and not viewer.school_scoped and viewer.role in PERSON_ROLES)
    if not trusted:
        return "aggregate"
    return "names" if names else "classes"


def wall_units(viewer: Viewer | None) -> bool:
    """May the wall's targets view (kiosk mode, issue #13) list wards and schools with
    their indicators? The kiosk and district-wide accounts, as /api/v1/kpi answers them;
    anonymous screens and a school's staff get the district's figures only (/api/v1/kpi
    shows a school's staff no other school)."""
    if viewer is None:
        return False
    return viewer.role == KIOSK_ROLE or (_known(viewer) and not viewer.school_scoped)


def school_filter(viewer: Viewer | None, requested: str | None) -> SchoolFilter:
    """hub.api.deps.get_school_filter for the dashboard: filters only ever narrow."""
    if viewer is None or viewer.role not in ROLES:
        return NOTHING
    if not viewer.school_scoped:
        return SchoolFilter(requested)
    scope = viewer.school_id
    if scope is None:
        return NOTHING
    if requested is None or requested == scope:
        return SchoolFilter(scope)
    return SchoolFilter(scope, matches_nothing=True)


def alarm_scope(viewer: Viewer | None) -> SchoolFilter:
    """Where this account may acknowledge and clear alarms (hub.equipment.actions
    ``acting_school``): every school, its own, or nowhere (read-only)."""
    if viewer is None or viewer.role not in ALARM_ACTING_ROLES:
        return NOTHING
    if viewer.school_scoped:
        return NOTHING if viewer.school_id is None else SchoolFilter(viewer.school_id)
    return SchoolFilter(None)


def may_act_on_alarms(viewer: Viewer | None) -> bool:
    return not alarm_scope(viewer).matches_nothing


def school_href(school: str) -> str:
    return f"{SCHOOL_PATH}{quote(school, safe='')}"


def home_path(viewer: Viewer | None) -> str:
    """Where a login without a destination lands: a school's staff on their school, a
    facility manager on the equipment page."""
    if (viewer is not None and viewer.school_scoped and viewer.school_id is not None
            and sees_school(viewer, viewer.school_id)):
        return school_href(viewer.school_id)
    if viewer is not None and viewer.role == "facility_manager":
        return EQUIPMENT_PATH
    return "/"


def safe_next(value: str | None) -> str | None:
    """A post-login destination on this site, or None: never another host (no open
    redirect through ``//evil``, ``/\\evil``, ``https:``) and never the login itself."""
    if not value or len(value) > MAX_NEXT_LEN or not value.startswith("/"):
        return None
    if value.startswith(("//", "/\\")) or any(c in value for c in "\\\r\n\t\0"):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    if parts.path.rstrip("/") in (LOGIN_PATH, LOGOUT_PATH):
        return None
    return value


def in_language(target: str | None, lang: str) -> str | None:
    """``target`` with its ``lang`` parameter set to ``lang`` (added if absent): a visitor
    who switches the sign-in form's language lands in that language, not the one the
    address they were sent from carried."""
    if target is None:
        return None
    parts = urlsplit(target)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    query = urlencode([*kept, ("lang", lang)])
    return f"{parts.path}?{query}" + (f"#{parts.fragment}" if parts.fragment else "")


def kiosk_landing(target: str | None, lang: str) -> str:
    """Where a kiosk sign-in lands: the wall, in kiosk mode when it was sent from
    ``/?kiosk=1`` (a wall screen's browser is pointed there once and left alone)."""
    query = {"lang": lang}
    parts = urlsplit(safe_next(target) or "/")
    if parts.path in ("", "/") and is_kiosk(parts.query):
        query["kiosk"] = "1"
    return f"/?{urlencode(query)}"


def login_href(next_path: str | None, lang: str) -> str:
    """The login form, coming back to ``next_path`` afterwards."""
    query = {"lang": lang}
    target = safe_next(next_path)
    if target is not None:
        query["next"] = target
    return f"{LOGIN_PATH}?{urlencode(query)}"
