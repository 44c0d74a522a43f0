"""Commands to devices (issue #13), the pure parts as tables: who may command which
device (hub.access), which command fits which device and what became of one
(hub.devices.commands), and whether a device runs, repeats or refuses one
(edge.commands), with its record of run ids kept in the outbox across a restart."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.clock import DISTRICT_TZ, ManualClock
from edge.commands import CommandResult, CommandTable, Outcome, decide
from edge.outbox import Outbox
from hub.access import may_command
from hub.devices.commands import command_problem, command_state
from protocol.messages import CmdPayload

T0 = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)
LATER = T0 + timedelta(seconds=30)


@pytest.mark.parametrize(("role", "user_school", "device_school", "allowed"), [
    ("district_admin", None, "th-a", True),
    ("control_room", None, "th-a", True),
    ("school_admin", "th-a", "th-a", True),
    ("school_admin", "th-b", "th-a", False),  # another school's gate
    ("school_admin", None, "th-a", False),  # a school admin without a school sees nothing
    ("teacher", "th-a", "th-a", False),
    ("facility_manager", "th-a", "th-a", False),
    ("exchange", None, "th-a", False),
])
def test_who_may_command(role: str, user_school: str | None, device_school: str,
                         allowed: bool) -> None:
    assert may_command(role, user_school, device_school) is allowed


@pytest.mark.parametrize(("name", "device_role", "args", "problem"), [
    ("open-gate", "gate", {"seconds": 5}, None),
    ("ping", "classroom", {}, None),
    ("sync-gallery", "gate", {}, None),
    ("open-gate", "classroom", {}, "open-gate is a gate's command; this device is a classroom"),
    ("reload-config", "classroom", {}, "reload-config is a gate's command"),
    ("self-destruct", "gate", {}, "unknown command 'self-destruct'"),
    ("ping", "gate", {str(i): i for i in range(17)}, "at most 16 arguments"),
])
def test_which_command_fits_which_device(name: str, device_role: str, args: dict[str, Any],
                                         problem: str | None) -> None:
    found = command_problem(name, device_role, args)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


@pytest.mark.parametrize(("published", "ok", "reply", "now", "state"), [
    (True, None, None, T0, "sent"),
    (True, None, None, LATER, "expired"),  # no answer by the expiry
    (False, None, None, T0, "failed"),  # the broker never took it
    (False, None, None, LATER, "failed"),
    (True, True, {"event_seq": 4}, T0, "replied"),
    (True, True, {"event_seq": 4}, LATER, "replied"),  # ran in time, answer came late
    (True, False, "seconds must be 0.1 to 300", T0, "failed"),
    (True, False, {"refused": "expired", "expires": LATER.isoformat()}, LATER, "expired"),
    (True, False, {"refused": "interrupted"}, T0, "failed"),
    (True, False, None, T0, "failed"),
])
def test_what_became_of_a_command(published: bool, ok: bool | None, reply: Any,
                                  now: datetime, state: str) -> None:
    assert command_state(published=published, ok=ok, reply=reply, expires_at=LATER,
                         now=now) == state


@pytest.mark.parametrize(("outcome", "expires", "now", "decision"), [
    (None, None, T0, "run"),
    (None, LATER, T0, "run"),
    (None, LATER, LATER, "expired"),  # the expiry itself is too late
    (None, T0, LATER, "expired"),
    (None, T0, None, "run"),  # a table without a clock: nothing expires
    ((True, '{"event_seq": 4}'), LATER, T0, "repeat"),
    ((False, '"boom"'), LATER, T0, "repeat"),
    ((True, "null"), T0, LATER, "repeat"),  # run in time: its answer, even past expiry
    ((None, None), LATER, T0, "interrupted"),  # started, never finished: not run again
    ((None, None), T0, LATER, "interrupted"),
])
def test_a_device_runs_repeats_or_refuses(outcome: Outcome, expires: datetime | None,
                                          now: datetime | None, decision: str) -> None:
    assert decide(outcome, expires=expires, now=now) == decision


def cmd(name: str, cmd_id: uuid.UUID | None = None, expires: datetime | None = None,
        **args: Any) -> CmdPayload:
    return CmdPayload(v=1, type="cmd", device="th-t-gate-1", seq=0, ts=T0,
                      id=cmd_id or uuid.uuid4(), name=name, args=args, expires=expires)


def table(outbox: Outbox, clock: ManualClock, runs: list[str]) -> CommandTable:
    commands = CommandTable(outbox, now=clock.now)

    def open_gate(c: CmdPayload) -> CommandResult:
        runs.append(str(c.id))
        return CommandResult(True, {"event_seq": len(runs)})

    commands.register("open-gate", open_gate)
    return commands


def test_run_ids_survive_a_restart_and_expired_commands_are_refused(tmp_path: Path) -> None:
    clock, runs = ManualClock(T0), list[str]()
    path = tmp_path / "outbox.sqlite3"
    command = cmd("open-gate", expires=LATER)
    with Outbox(path) as outbox:
        first = table(outbox, clock, runs).handle(command)
        assert first == CommandResult(True, {"event_seq": 1})
    clock.advance(300)  # past the expiry; the agent restarted meanwhile
    with Outbox(path) as outbox:
        commands = table(outbox, clock, runs)
        assert commands.handle(command) == first  # answered from the record, not run
        late = commands.handle(cmd("open-gate", expires=LATER))
        assert not late.ok and isinstance(late.detail, dict)
        assert late.detail["refused"] == "expired"
        fresh = commands.handle(cmd("open-gate", expires=clock.now() + timedelta(seconds=30)))
        assert fresh.ok
    assert len(runs) == 2


def test_a_command_cut_off_by_a_restart_is_not_run_again(tmp_path: Path) -> None:
    clock, runs = ManualClock(T0), list[str]()
    path = tmp_path / "outbox.sqlite3"
    command = cmd("open-gate")
    with Outbox(path) as outbox:
        assert outbox.claim_command(str(command.id))  # the agent died while it ran
    with Outbox(path) as outbox:
        again = table(outbox, clock, runs).handle(command)
    assert not again.ok and isinstance(again.detail, dict)
    assert again.detail["refused"] == "interrupted" and runs == []


def test_an_outbox_of_schema_2_gains_the_run_ids(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path) as outbox:
        outbox.claim_command("x")
    db = sqlite3.connect(path)
    db.execute("drop table commands_run")
    db.execute("pragma user_version = 2")
    db.commit()
    db.close()
    with Outbox(path) as outbox:
        assert outbox.command_outcome("x") is None
        assert outbox.claim_command("x") and not outbox.claim_command("x")
    db = sqlite3.connect(path)
    assert db.execute("pragma user_version").fetchone()[0] == 3
    db.close()
