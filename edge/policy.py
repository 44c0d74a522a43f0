"""Gate decisions, pure: no paho, no SQLite, no clock of its own. Tested as tables.

Decisions a school wants, and why:

- A card missing from the local list is ``unknown``, not ``denied``: the list on
  the Pi may lag the records (a pupil enrolled this morning), so the gate stays
  shut but the event still carries the UID, and the hub, with fresher records,
  resolves it and can count the pupil present.
- ``blocked`` and ``lost`` cards are ``denied`` with the person filled in, so the
  control room sees whose card it was: a lost card at the gate is worth a call.
- Anti-passback: a second granted passage of the same person in the same
  direction within the window is ``denied`` (reason ``anti-passback``). The first
  passage already recorded the pupil, so refusing loses no attendance; a card
  handed back over the fence for an absent friend is exactly this pattern; and a
  school gate is attended, so a guard opens by hand (``open-gate``) for a child
  who genuinely tapped twice. Only granted passages start a window: a denied
  tap must not lock a pupil out for N minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

Direction = Literal["in", "out"]
CardStatus = Literal["active", "blocked", "lost"]
Verdict = Literal["granted", "denied", "unknown"]


class Reason(StrEnum):
    UNKNOWN_CARD = "unknown-card"
    CARD_BLOCKED = "card-blocked"
    CARD_LOST = "card-lost"
    ANTI_PASSBACK = "anti-passback"


@dataclass(frozen=True, slots=True)
class CardEntry:
    person: str
    status: CardStatus = "active"


@dataclass(frozen=True, slots=True)
class Decision:
    decision: Verdict
    reason: Reason | None = None
    person: str | None = None

    @property
    def opens(self) -> bool:
        return self.decision == "granted"


@dataclass(slots=True)
class PassageLog:
    """Last granted passage per (person, direction): all anti-passback needs.

    Kept in memory on purpose: after a restart the worst case is one extra
    grant, while persisting it would cost a disk write on every tap.
    """

    _last: dict[tuple[str, Direction], datetime] = field(default_factory=dict)

    def record(self, person: str, direction: Direction, at: datetime) -> None:
        self._last[(person, direction)] = at

    def last_granted(self, person: str, direction: Direction) -> datetime | None:
        return self._last.get((person, direction))

    def prune(self, before: datetime) -> None:
        """Forget passages older than ``before`` so the log stays the size of the window."""
        self._last = {key: at for key, at in self._last.items() if at >= before}

    def __len__(self) -> int:
        return len(self._last)


def decide_card(
    uid: str,
    *,
    cards: Mapping[str, CardEntry],
    direction: Direction,
    now: datetime,
    passages: PassageLog,
    anti_passback: timedelta,
) -> Decision:
    """The gate's answer to one card tap. ``uid`` is already normalised.

    ``anti_passback`` of zero turns the rule off. The caller records granted
    passages in ``passages``; this function never mutates it.
    """
    entry = cards.get(uid)
    if entry is None:
        return Decision("unknown", Reason.UNKNOWN_CARD)
    if entry.status == "blocked":
        return Decision("denied", Reason.CARD_BLOCKED, entry.person)
    if entry.status == "lost":
        return Decision("denied", Reason.CARD_LOST, entry.person)
    if anti_passback > timedelta(0):
        last = passages.last_granted(entry.person, direction)
        # A clock stepped backwards (NTP after a cold boot) makes now < last: treat
        # it as outside the window rather than lock the person out.
        if last is not None and timedelta(0) <= now - last < anti_passback:
            return Decision("denied", Reason.ANTI_PASSBACK, entry.person)
    return Decision("granted", None, entry.person)
