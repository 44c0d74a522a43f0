"""Commands from the hub: a table of handlers, idempotent by command id. No paho here."""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from protocol.messages import CmdPayload

log = logging.getLogger(__name__)

REMEMBERED_COMMANDS = 256  # a resend arrives within seconds; a few hundred ids is plenty


@dataclass(frozen=True, slots=True)
class CommandResult:
    ok: bool
    detail: str | dict[str, Any] | None = None


Handler = Callable[[CmdPayload], CommandResult]


class CommandTable:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._done: OrderedDict[uuid.UUID, CommandResult] = OrderedDict()

    def register(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._handlers))

    def handle(self, cmd: CmdPayload) -> CommandResult:
        """Run a command once per id; a repeated id gets the first answer again.

        The hub resends a command it got no reply for; running ``open-gate``
        twice for one click would open the door twice.
        """
        done = self._done.get(cmd.id)
        if done is not None:
            return done
        handler = self._handlers.get(cmd.name)
        if handler is None:
            result = CommandResult(
                False, f"unknown command {cmd.name!r}; this device knows {', '.join(self.names)}"
            )
        else:
            try:
                result = handler(cmd)
            except Exception as exc:
                log.exception("command %s (%s) failed", cmd.name, cmd.id)
                result = CommandResult(False, f"{type(exc).__name__}: {exc}")
        self._done[cmd.id] = result
        while len(self._done) > REMEMBERED_COMMANDS:
            self._done.popitem(last=False)
        return result
