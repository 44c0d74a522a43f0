"""Commands operators send to devices (issue #13): checked, audited, published, and
followed to the device's reply.

Every command is a row of ``device_commands`` (migration 0017) before it is published:
who sent what to which device, when, until when it may run, whether the broker took
it, and the device's answer, which ingest copies there by the command's id
(hub.ingest.store). Commands from operators are published not retained with an
expiry: a device that was away does not open a gate an hour late (docs/protocol.md).

Sections: pure rules (tested as tables), then SQL, then sending.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final, Literal

from psycopg.types.json import Jsonb

from hub.access import COMMAND_ROLES, may_command
from hub.db import Conn
from hub.devices.publisher import next_cmd_seq
from hub.devices.sender import CommandSender
from protocol.messages import PROTOCOL_VERSION, CmdPayload

# The commands an operator may send (docs/protocol.md, the command table); all but ping
# are the gate's.
COMMAND_NAMES: Final[tuple[str, ...]] = (
    "open-gate", "hold-open", "release", "ping", "reload-config", "sync-gallery")
ANY_DEVICE: Final[frozenset[str]] = frozenset(("ping",))
DEFAULT_TTL_S: Final = 30  # an open-gate clicked now means now, not in a minute
MAX_TTL_S: Final = 3600
MAX_ARGS: Final = 16  # a command's arguments are a few settings, not a document

State = Literal["sent", "replied", "expired", "failed"]
STATES: Final[tuple[str, ...]] = ("sent", "replied", "expired", "failed")
# The device's reason for an ok=false reply to a command past its expiry (edge.commands).
REFUSED_EXPIRED: Final = "expired"


# --- rules (pure) -----------------------------------------------------------------------


def command_problem(name: str, device_role: str, args: Mapping[str, Any]) -> str | None:
    """Why this command cannot go to a device of this role, or None."""
    if name not in COMMAND_NAMES:
        return f"unknown command {name!r}; one of {', '.join(COMMAND_NAMES)}"
    if device_role != "gate" and name not in ANY_DEVICE:
        return f"{name} is a gate's command; this device is a {device_role}"
    if len(args) > MAX_ARGS:
        return f"at most {MAX_ARGS} arguments"
    return None


def command_state(*, published: bool, ok: bool | None, reply: Any, expires_at: datetime,
                  now: datetime) -> State:
    """What became of a command.

    ``replied``: the device did it (ok). ``failed``: the device answered ok=false, or
    the broker never took the command. ``expired``: no answer before its expiry, or the
    device refused it as expired. ``sent``: with the broker, no answer yet. A reply that
    comes after the expiry still counts: the device ran it in time, the answer was late.
    """
    if ok is not None:
        if ok:
            return "replied"
        refused = reply.get("refused") if isinstance(reply, dict) else None
        return "expired" if refused == REFUSED_EXPIRED else "failed"
    if not published:
        return "failed"
    return "expired" if now >= expires_at else "sent"


# --- SQL --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    id: uuid.UUID
    device: str
    school: str
    name: str
    args: dict[str, Any]
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    published: bool
    replied_at: datetime | None
    ok: bool | None
    reply: Any
    state: State


_COLUMNS = ("id, device_id, school_id, name, args, issued_by, issued_at, expires_at,"
            " published, replied_at, ok, reply, now()")


def _command(row: tuple[Any, ...]) -> Command:
    (cid, device, school, name, args, by, at, expires, published, replied_at, ok, reply,
     now) = row
    return Command(id=cid, device=device, school=school, name=name, args=dict(args),
                   issued_by=by, issued_at=at, expires_at=expires, published=published,
                   replied_at=replied_at, ok=ok, reply=reply,
                   state=command_state(published=published, ok=ok, reply=reply,
                                       expires_at=expires, now=now))


def get_command(conn: Conn, device: str, cmd_id: uuid.UUID) -> Command | None:
    row = conn.execute(f"select {_COLUMNS} from device_commands"  # noqa: S608 - constant
                       " where id = %s and device_id = %s", (cmd_id, device)).fetchone()
    return None if row is None else _command(row)


def list_commands(conn: Conn, device: str, *, limit: int = 50) -> list[Command]:
    rows = conn.execute(f"select {_COLUMNS} from device_commands"  # noqa: S608 - constant
                        " where device_id = %s order by issued_at desc, id limit %s",
                        (device, limit)).fetchall()
    return [_command(r) for r in rows]


def device_of(conn: Conn, device: str) -> tuple[str, str] | None:
    """The device's (school, role), or None if it is not registered."""
    row = conn.execute("select school_id, role from devices where id = %s",
                       (device,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


# --- sending ----------------------------------------------------------------------------


class CommandError(Exception):
    """A command refused before it went out. ``kind`` says which answer it is."""

    def __init__(self, kind: Literal["not-found", "forbidden", "invalid"],
                 message: str) -> None:
        super().__init__(message)
        self.kind = kind


def visible_device(conn: Conn, device: str, *, role: str,
                   user_school: str | None) -> tuple[str, str]:
    """The device's (school, role) if this account may command it. Another school's
    device is not found to a school admin: the answer must not tell which ids exist
    elsewhere."""
    if role not in COMMAND_ROLES:
        raise CommandError("forbidden", "this account may not command devices")
    found = device_of(conn, device)
    if found is None or not may_command(role, user_school, found[0]):
        raise CommandError("not-found", f"no device {device!r}")
    return found


def send_command(conn: Conn, sender: CommandSender | None, *, device: str, name: str,
                 args: Mapping[str, Any], issued_by: str, role: str,
                 user_school: str | None, ttl_s: int = DEFAULT_TTL_S,
                 tz: tzinfo | None = None) -> Command:
    """Check, record, publish. The row is written before publishing, so every command
    sent is audited even if the hub stops right after. One the broker did not take
    (unreachable, or no broker in this process: ``sender`` None) is returned ``failed``:
    recorded, never sent; the operator sends it again.

    ``conn`` is in autocommit mode (the API's pool is): the row must be committed before
    the command goes out, or ingest could not link the device's reply to it.
    """
    if not conn.autocommit:
        raise ValueError("send_command needs an autocommit connection")
    school, device_role = visible_device(conn, device, role=role, user_school=user_school)
    problem = command_problem(name, device_role, args)
    if problem is not None:
        raise CommandError("invalid", problem)
    if not 1 <= ttl_s <= MAX_TTL_S:
        raise CommandError("invalid", f"the expiry is 1 to {MAX_TTL_S} seconds")
    row = conn.execute("select now()").fetchone()
    assert row is not None
    now: datetime = row[0] if tz is None else row[0].astimezone(tz)
    expires = now + timedelta(seconds=ttl_s)
    cmd_id = uuid.uuid4()
    with conn.transaction():
        conn.execute(
            "insert into device_commands (id, device_id, school_id, name, args, issued_by,"
            " issued_at, expires_at) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            (cmd_id, device, school, name, Jsonb(dict(args)), issued_by, now, expires))
    payload = CmdPayload(v=PROTOCOL_VERSION, type="cmd", device=device,
                         seq=next_cmd_seq(conn), ts=now, id=cmd_id, name=name,
                         args=dict(args), expires=expires)
    if sender is not None and sender.publish(payload, school):
        conn.execute("update device_commands set published = true where id = %s", (cmd_id,))
    command = get_command(conn, device, cmd_id)
    assert command is not None
    return command
