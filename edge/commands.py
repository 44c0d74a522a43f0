"""Commands from the hub: a table of handlers, run at most once per command id and never
after their expiry. No paho here.

Which commands ran is kept by a ``CommandStore``; the agents give it their outbox (the
device's durable SQLite), so a command redelivered or replayed after a restart (a
retained one, say) is answered from the record and not run again.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from protocol.messages import CmdPayload

log = logging.getLogger(__name__)

REMEMBERED_COMMANDS = 256  # the in-memory store's size: a resend arrives within seconds

# Why a command was not run, as ``detail.refused`` of its ok=false reply (docs/protocol.md).
REFUSED_EXPIRED: Literal["expired"] = "expired"
REFUSED_INTERRUPTED: Literal["interrupted"] = "interrupted"


@dataclass(frozen=True, slots=True)
class CommandResult:
    ok: bool
    detail: str | dict[str, Any] | None = None


Handler = Callable[[CmdPayload], CommandResult]

# What a store knows of a command id: None never seen; (None, None) started and never
# finished; (ok, detail as JSON) finished.
Outcome = tuple[bool | None, str | None] | None
Decision = Literal["run", "repeat", "interrupted", "expired"]


def decide(outcome: Outcome, *, expires: datetime | None, now: datetime | None) -> Decision:
    """Run, answer from the record, or refuse. Pure.

    A command already run gets its first answer again, even past its expiry (the answer
    is still true). One started but not finished was interrupted by a restart: running
    it again could open a door twice, so it is refused. A new one runs unless expired
    (``now`` None: a table without a clock, where nothing expires).
    """
    if outcome is not None:
        return "interrupted" if outcome[0] is None else "repeat"
    if expires is not None and now is not None and now >= expires:
        return "expired"
    return "run"


class CommandStore(Protocol):
    def command_outcome(self, cmd_id: str) -> Outcome: ...
    def claim_command(self, cmd_id: str) -> bool: ...
    def finish_command(self, cmd_id: str, ok: bool, detail: str | None) -> None: ...


class MemoryCommands:
    """A store that forgets on restart, for agents without an outbox (tests, tools)."""

    def __init__(self, size: int = REMEMBERED_COMMANDS) -> None:
        self._size = size
        self._done: OrderedDict[str, tuple[bool | None, str | None]] = OrderedDict()

    def command_outcome(self, cmd_id: str) -> Outcome:
        return self._done.get(cmd_id)

    def claim_command(self, cmd_id: str) -> bool:
        if cmd_id in self._done:
            return False
        self._done[cmd_id] = (None, None)
        while len(self._done) > self._size:
            self._done.popitem(last=False)
        return True

    def finish_command(self, cmd_id: str, ok: bool, detail: str | None) -> None:
        self._done[cmd_id] = (ok, detail)


def _load(detail: str | None) -> str | dict[str, Any] | None:
    if detail is None:
        return None
    value = json.loads(detail)
    return value if isinstance(value, str | dict) else str(value)


class CommandTable:
    def __init__(self, store: CommandStore | None = None, *,
                 now: Callable[[], datetime] | None = None) -> None:
        self._handlers: dict[str, Handler] = {}
        self._store: CommandStore = store if store is not None else MemoryCommands()
        self._now = now

    def register(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._handlers))

    def handle(self, cmd: CmdPayload) -> CommandResult:
        """Run a command once per id; a repeated id gets the first answer again.

        The broker redelivers and replays retained commands; running ``open-gate``
        twice for one click would open the door twice. Without a clock (``now``) no
        command expires.
        """
        key = str(cmd.id)
        outcome = self._store.command_outcome(key)
        now = self._now() if self._now is not None else None
        decision = decide(outcome, expires=cmd.expires, now=now)
        if decision == "repeat":
            assert outcome is not None and outcome[0] is not None
            return CommandResult(outcome[0], _load(outcome[1]))
        if decision == "interrupted":
            return CommandResult(False, {"refused": REFUSED_INTERRUPTED,
                                         "why": "the device restarted while it ran"})
        if decision == "expired":
            assert cmd.expires is not None
            log.warning("command %s (%s) expired at %s: refused", cmd.name, cmd.id, cmd.expires)
            return CommandResult(False, {"refused": REFUSED_EXPIRED,
                                         "expires": cmd.expires.isoformat()})
        if not self._store.claim_command(key):  # another delivery got there first
            return self.handle(cmd)
        result = self._run(cmd)
        self._store.finish_command(key, result.ok, json.dumps(result.detail, default=str))
        return result

    def _run(self, cmd: CmdPayload) -> CommandResult:
        handler = self._handlers.get(cmd.name)
        if handler is None:
            return CommandResult(
                False, f"unknown command {cmd.name!r}; this device knows {', '.join(self.names)}"
            )
        try:
            return handler(cmd)
        except Exception as exc:
            log.exception("command %s (%s) failed", cmd.name, cmd.id)
            return CommandResult(False, f"{type(exc).__name__}: {exc}")


__all__ = ["REFUSED_EXPIRED", "REFUSED_INTERRUPTED", "CommandResult", "CommandStore",
           "CommandTable", "Decision", "Handler", "MemoryCommands", "decide"]
