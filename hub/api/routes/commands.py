"""Commands to devices (issue #13): send one, follow it to the device's reply, read a
device's audit. hub.devices.commands holds the work; this module maps its refusals."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from hub.api.deps import ID_PATTERN, ConnDep, ContextDep, CurrentUser
from hub.api.responses import AUTHED, FORBIDDEN, NOT_FOUND
from hub.devices import commands
from hub.devices.commands import Command, CommandError
from hub.models import ApiModel

router = APIRouter(prefix="/api/v1", tags=["devices"], responses=AUTHED)

DeviceParam = Annotated[str, PathParam(pattern=ID_PATTERN, description="The device's id")]
_CODES = {"not-found": status.HTTP_404_NOT_FOUND, "forbidden": status.HTTP_403_FORBIDDEN,
          "invalid": status.HTTP_422_UNPROCESSABLE_CONTENT}


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: Literal["open-gate", "hold-open", "release", "ping", "reload-config",
                     "sync-gallery"] = Field(description="docs/protocol.md, the command table")
    args: dict[str, Any] = Field(default_factory=dict, max_length=commands.MAX_ARGS,
                                 description="The command's arguments, e.g. {\"seconds\": 5}")
    expires_in_s: int = Field(default=commands.DEFAULT_TTL_S, ge=1, le=commands.MAX_TTL_S,
                              description="The device refuses the command after this long")


class CommandPublic(ApiModel):
    id: uuid.UUID
    device: str
    school: str
    command: str
    args: dict[str, Any]
    issued_by: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    state: Literal["sent", "replied", "expired", "failed"] = Field(
        description="sent: with the broker, no answer yet; replied: the device did it; "
                    "failed: the device answered ok=false or the broker never took it; "
                    "expired: no answer in time, or the device refused it as expired")
    replied_at: dt.datetime | None
    ok: bool | None = Field(description="The device's answer; null before it")
    reply: Any = Field(description="The device's detail: the result, or why it failed")


def _public(c: Command) -> CommandPublic:
    return CommandPublic(id=c.id, device=c.device, school=c.school, command=c.name,
                         args=c.args, issued_by=c.issued_by, issued_at=c.issued_at,
                         expires_at=c.expires_at, state=c.state, replied_at=c.replied_at,
                         ok=c.ok, reply=c.reply)


def _refused(exc: CommandError) -> HTTPException:
    return HTTPException(_CODES[exc.kind], str(exc))


@router.post("/devices/{device}/commands", status_code=status.HTTP_202_ACCEPTED,
             response_model=CommandPublic, responses=FORBIDDEN | NOT_FOUND)
def send_command(ctx: ContextDep, conn: ConnDep, user: CurrentUser, device: DeviceParam,
                 body: CommandIn) -> CommandPublic:
    """Send a command: 202 with its id and state, ``sent`` once the broker has it
    (``failed`` if the broker did not take it); follow it at the returned id.
    District admins and the control room for any device, a school admin for their
    school's; every command is audited with who sent it and the device's reply."""
    try:
        return _public(commands.send_command(
            conn, ctx.commands, device=device, name=body.command, args=body.args,
            issued_by=user.username, role=user.role, user_school=user.school_id,
            ttl_s=body.expires_in_s, tz=ctx.tz))
    except CommandError as exc:
        raise _refused(exc) from None


@router.get("/devices/{device}/commands/{cid}", response_model=CommandPublic,
            responses=FORBIDDEN | NOT_FOUND)
def read_command(conn: ConnDep, user: CurrentUser, device: DeviceParam,
                 cid: uuid.UUID) -> CommandPublic:
    try:
        commands.visible_device(conn, device, role=user.role, user_school=user.school_id)
    except CommandError as exc:
        raise _refused(exc) from None
    found = commands.get_command(conn, device, cid)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no command {cid} for {device}")
    return _public(found)


@router.get("/devices/{device}/commands", response_model=list[CommandPublic],
            responses=FORBIDDEN | NOT_FOUND)
def read_commands(conn: ConnDep, user: CurrentUser, device: DeviceParam,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[CommandPublic]:
    """The device's commands, newest first: the audit (who, when, what, the reply)."""
    try:
        commands.visible_device(conn, device, role=user.role, user_school=user.school_id)
    except CommandError as exc:
        raise _refused(exc) from None
    return [_public(c) for c in commands.list_commands(conn, device, limit=limit)]

