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
- Opening hours and school days: outside the gate's weekly windows, or on a
  closed date (a holiday), a *student* is denied (``outside-hours``) while staff
  pass: teachers and the caretaker come early and leave late, and a pupil at the
  gate at 21:00 or on Tết is a matter for a guard, not the relay. Card status is
  checked first (a lost card says so at any hour), anti-passback last.
- Face modes: ``face`` / ``card-or-face`` decide from the multi-frame agreement
  of :mod:`faces.decision`; an unidentified face is ``unknown`` with the
  pipeline's reason (``no-face-match``, ``ambiguous-face``...), never a guess.
  ``card-and-face`` grants only when the card grants *and* the face verifies 1:1
  against the card's holder; otherwise it is denied with the verification's
  reason (``face-mismatch``, ``no-face``, ``face-not-enrolled``).
- Liveness (``face.liveness``, :mod:`faces.liveness`): a face that showed no
  natural motion within the budget is ``denied`` with ``liveness-failed`` and no
  person, in every face mode (in ``card-and-face`` the card's holder stays on the
  event: the card is real, the face in front of the camera was not shown live). It
  is a refusal, not an unknown: the gate saw something pretending to be a face,
  and a guard should look; the matched name is left out because a picture of a
  pupil is not the pupil, and an event naming them could be read as their passage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from faces.decision import Reason as FaceReason
from faces.decision import Verification
from protocol.messages import Direction, Method, Verdict
from protocol.sync import CardStatus, PersonKind


class Reason(StrEnum):
    UNKNOWN_CARD = "unknown-card"
    CARD_BLOCKED = "card-blocked"
    CARD_LOST = "card-lost"
    ANTI_PASSBACK = "anti-passback"
    OUTSIDE_HOURS = "outside-hours"


@dataclass(frozen=True, slots=True)
class CardEntry:
    person: str
    status: CardStatus = "active"
    kind: PersonKind = "student"


@dataclass(frozen=True, slots=True)
class Decision:
    decision: Verdict
    reason: Reason | FaceReason | None = None
    person: str | None = None
    method: Method = "card"
    distance: float | None = None  # face distance (face and card+face decisions)

    @property
    def opens(self) -> bool:
        return self.decision == "granted"


@dataclass(frozen=True, slots=True)
class Window:
    """One weekly opening window: ``days`` (0 = Monday ... 6 = Sunday), [start, end)."""

    days: frozenset[int]
    start: time
    end: time

    def contains(self, moment: datetime) -> bool:
        return moment.weekday() in self.days and self.start <= moment.time() < self.end


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the gate is open to students. ``None`` in place of a schedule: always.

    ``now`` is read in its own offset (the district's), which is the local time
    the school's hours are written in.
    """

    windows: tuple[Window, ...] = ()
    closed: frozenset[date] = frozenset()

    def is_open(self, now: datetime) -> bool:
        if now.date() in self.closed:
            return False
        return any(window.contains(now) for window in self.windows)


def person_kinds(cards: Iterable[CardEntry]) -> dict[str, PersonKind]:
    """Person -> kind, for face decisions (a face carries no card). Staff wins if a
    person holds cards of both kinds: that is a records mistake, and refusing a
    teacher at the gate is the worse failure."""
    kinds: dict[str, PersonKind] = {}
    for entry in cards:
        if kinds.get(entry.person) != "staff":
            kinds[entry.person] = entry.kind
    return kinds


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


def _admit(
    person: str,
    kind: PersonKind,
    *,
    direction: Direction,
    now: datetime,
    passages: PassageLog,
    anti_passback: timedelta,
    schedule: Schedule | None,
    method: Method,
    distance: float | None = None,
) -> Decision:
    """Hours, then anti-passback, for a person already identified."""
    if schedule is not None and kind == "student" and not schedule.is_open(now):
        return Decision("denied", Reason.OUTSIDE_HOURS, person, method, distance)
    if anti_passback > timedelta(0):
        last = passages.last_granted(person, direction)
        # A clock stepped backwards (NTP after a cold boot) makes now < last: treat
        # it as outside the window rather than lock the person out.
        if last is not None and timedelta(0) <= now - last < anti_passback:
            return Decision("denied", Reason.ANTI_PASSBACK, person, method, distance)
    return Decision("granted", None, person, method, distance)


def decide_card(
    uid: str,
    *,
    cards: Mapping[str, CardEntry],
    direction: Direction,
    now: datetime,
    passages: PassageLog,
    anti_passback: timedelta,
    schedule: Schedule | None = None,
) -> Decision:
    """The gate's answer to one card tap. ``uid`` is already normalised.

    ``anti_passback`` of zero turns the rule off; ``schedule`` None means no
    opening hours. The caller records granted passages in ``passages``; this
    function never mutates it.
    """
    entry = cards.get(uid)
    if entry is None:
        return Decision("unknown", Reason.UNKNOWN_CARD)
    if entry.status == "blocked":
        return Decision("denied", Reason.CARD_BLOCKED, entry.person)
    if entry.status == "lost":
        return Decision("denied", Reason.CARD_LOST, entry.person)
    return _admit(entry.person, entry.kind, direction=direction, now=now, passages=passages,
                  anti_passback=anti_passback, schedule=schedule, method="card")


def decide_face(
    person: str | None,
    *,
    distance: float | None,
    reason: FaceReason | None,
    kinds: Mapping[str, PersonKind],
    direction: Direction,
    now: datetime,
    passages: PassageLog,
    anti_passback: timedelta,
    schedule: Schedule | None = None,
) -> Decision:
    """The gate's answer to a face the frames agreed on (``face``, ``card-or-face``).

    ``person`` None: the frames agreed on an unidentified face; ``reason`` is the
    pipeline's (default ``no-face-match``). A person without a card of their own is
    a student: the stricter rule for someone the card list does not describe.
    """
    if reason is FaceReason.LIVENESS_FAILED:
        return Decision("denied", reason, None, "face", distance)
    if person is None:
        return Decision("unknown", reason or FaceReason.NO_MATCH, None, "face", distance)
    return _admit(person, kinds.get(person, "student"), direction=direction, now=now,
                  passages=passages, anti_passback=anti_passback, schedule=schedule,
                  method="face", distance=distance)


def decide_card_and_face(card: Decision, verification: Verification | None) -> Decision:
    """``card-and-face``: the card's decision, then the face verified 1:1 against its holder.

    A card that does not grant keeps its own answer (a lost card is ``card-lost``
    whatever the face); ``verification`` None (not needed) only happens then.
    """
    if not card.opens:
        return replace(card, method="card+face")
    if verification is None or card.person is None:
        return replace(card, decision="denied", reason=FaceReason.NO_FACE, method="card+face")
    if not verification.ok:
        return replace(card, decision="denied", reason=verification.reason,
                       method="card+face", distance=verification.distance)
    return replace(card, method="card+face", distance=verification.distance)
