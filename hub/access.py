"""Who may do what: the account roles and the role sets every check is built from. Pure.

The API, the dashboard and the command line all import these sets, so a role's rights
are written down once. Each check that needs more than a role (a school to match, a
class to hold) lives with the work it guards, built on these.
"""

from __future__ import annotations

from typing import Final, Literal

Role = Literal["district_admin", "school_admin", "teacher", "facility_manager", "control_room",
               "exchange"]
# The roles of people: the dashboard's and every API route's.
ROLES: Final[frozenset[str]] = frozenset(
    ("district_admin", "school_admin", "teacher", "facility_manager", "control_room")
)
# Exchange with the city (issue 15): machine accounts of outside systems (the city's
# education database, the district's DSS). Read-only, district-wide, and the change feed
# is all they may read: every other route and the dashboard refuse them.
MACHINE_ROLES: Final[frozenset[str]] = frozenset(("exchange",))
ACCOUNT_ROLES: Final[frozenset[str]] = ROLES | MACHINE_ROLES
# Who may read the change feed: the machines, and the district admin who sets them up.
FEED_ROLES: Final[frozenset[str]] = frozenset(("exchange", "district_admin"))
# These roles act for one school; without a school_id they would silently see the district.
SCHOOL_SCOPED_ROLES: Final[frozenset[str]] = frozenset(
    ("school_admin", "teacher", "facility_manager")
)
# Roles that administer a school's records, its accounts and its notifications. The
# read-only control room does not.
ADMIN_ROLES: Final[frozenset[str]] = frozenset(("district_admin", "school_admin"))
# What a school admin may hand out in their own school: staff, but not admin rights (a
# school admin minting peers would take appointments out of the district's hands).
SCHOOL_ADMIN_GRANTS: Final[frozenset[str]] = frozenset(("teacher", "facility_manager"))
# Who may acknowledge and clear alarms and run work orders; the control room watches,
# teachers only look.
ALARM_ACTING_ROLES: Final[frozenset[str]] = frozenset(
    ("district_admin", "school_admin", "facility_manager")
)


def may_manage(role: str, user_school: str | None, school: str) -> bool:
    """May change a school's records, import them, record consent and enroll faces:
    district admins everywhere, a school admin only in their own school."""
    if role == "district_admin":
        return True
    return role == "school_admin" and user_school is not None and user_school == school

# Least knowledge (issue 12). Who manages cards sees card UIDs: a 125 kHz UID is enough to
# clone a card, so other roles get gate passages without it.
CARD_ROLES: Final[frozenset[str]] = ADMIN_ROLES
# Who may see which pupil did what: class registers, and the names, person codes and
# classes in gate passages. A facility manager looks after equipment: gate decisions and
# reasons, not who passed.
PERSON_ROLES: Final[frozenset[str]] = ROLES - {"facility_manager"}

# Commands to devices (issue #13): who may open a gate or reach a device. The control room
# acts for the whole district; a school admin for their own school's devices.
COMMAND_ROLES: Final[frozenset[str]] = frozenset(("district_admin", "school_admin", "control_room"))
DISTRICT_COMMAND_ROLES: Final[frozenset[str]] = frozenset(("district_admin", "control_room"))


def may_command(role: str, user_school: str | None, device_school: str) -> bool:
    """May send commands to a device of ``device_school``."""
    if role in DISTRICT_COMMAND_ROLES:
        return True
    return (role in COMMAND_ROLES and user_school is not None
            and user_school == device_school)
