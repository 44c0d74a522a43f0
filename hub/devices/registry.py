"""Registering schools and devices: the hub accepts messages only from registered devices."""

from __future__ import annotations

import re
from datetime import time

from hub.db import Conn
from hub.schools import level_problem
from protocol.ids import ID_PATTERN, is_valid_id

ROLES = ("gate", "classroom")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class RegistryError(ValueError):
    """A registration refused, with a message for the operator."""


def school_ids(conn: Conn) -> list[str]:
    """Every registered school's id, in order."""
    return [str(r[0]) for r in conn.execute("select id from schools order by id")]


def upsert_school(conn: Conn, *, code: str, name: str, level: str, ward: str,
                  start_time: str = "07:00") -> None:
    if not is_valid_id(code):
        raise RegistryError(f"school id {code!r} must match {ID_PATTERN.pattern}")
    if problem := level_problem(level):
        raise RegistryError(problem)
    match = _HHMM.match(start_time)
    if not match:
        raise RegistryError(f"start time {start_time!r} is not HH:MM")
    with conn.transaction():
        conn.execute(
            """insert into schools (id, name, level, ward, start_time) values (%s, %s, %s, %s, %s)
               on conflict (id) do update set name = excluded.name, level = excluded.level,
                   ward = excluded.ward, start_time = excluded.start_time""",
            (code, name.strip(), level, ward.strip(), time(int(match[1]), int(match[2]))),
        )


def add_device(conn: Conn, *, school: str, device: str, role: str, face: bool = False) -> None:
    """Register a device, or confirm one already registered. ``face`` marks a face gate:
    only its sync token receives the school's face gallery. Adding an existing device
    again sets ``face`` as given (a token already issued keeps what it carries, so
    making a card-only gate a face gate also needs a new token)."""
    if not is_valid_id(device):
        raise RegistryError(f"device id {device!r} must match {ID_PATTERN.pattern}")
    if role not in ROLES:
        raise RegistryError(f"role {role!r} is not gate or classroom")
    if face and role != "gate":
        raise RegistryError(f"device {device!r} is a {role} device; only a gate decides by face")
    with conn.transaction():
        if conn.execute("select 1 from schools where id = %s", (school,)).fetchone() is None:
            raise RegistryError(f"school {school!r} does not exist (add it with "
                                "`smartschool schools add` or import the records)")
        existing = conn.execute("select school_id, role from devices where id = %s",
                                (device,)).fetchone()
        if existing and (existing[0], existing[1]) != (school, role):
            raise RegistryError(f"device {device!r} is already registered to {existing[0]!r} "
                                f"as {existing[1]}")
        conn.execute(
            "insert into devices (id, school_id, role, face) values (%s, %s, %s, %s) "
            "on conflict (id) do update set face = excluded.face",
            (device, school, role, face),
        )
