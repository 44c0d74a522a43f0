"""The gate agent: card tap or face -> local decision -> relay + feedback -> event in the outbox.

The door opens before anything touches the disk or the network: a gate must
answer in a fraction of a second whether or not the hub is reachable.

Threads (one model, said out loud): the owner's loop calls ``poll`` (card
reader) and ``tick``; paho's network thread runs commands; in the face modes a
``face`` thread reads the camera's newest frame, runs the pipeline and feeds the
multi-frame agreement. One lock covers what they share: the passage log, the
relay and the hold-open flag. The card path never waits for the face thread:
``card-and-face`` verifies against the matches the face thread cached last, if
they are at most ``face_fresh_s`` old.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paho.mqtt.enums import MQTTProtocolVersion

from edge.cards.cardlist import load_cards
from edge.cards.readers import CardReader
from edge.clock import Clock
from edge.commands import CommandResult
from edge.config import AgentConfig, GateConfig
from edge.device import DeviceAgent, HostMetrics
from edge.face.frames import follow_frames
from edge.gate.moments import RecentMoments
from edge.gate.policy import (
    CardEntry,
    Decision,
    PassageLog,
    Schedule,
    decide_card,
    decide_card_and_face,
    decide_face,
    person_kinds,
)
from edge.gate.reload import live_gate, sort_changes
from edge.hardware.feedback import Feedback, LogFeedback
from edge.hardware.relay import Relay
from edge.link import SharedLoop
from edge.outbox import Outbox
from faces.decision import FaceAgreement, Seen, Verification, observation
from protocol.ids import InvalidUid, normalise_uid
from protocol.messages import PROTOCOL_VERSION, CmdPayload, Direction, GatePayload
from protocol.sync import PersonKind, SyncError
from protocol.topics import Channel

if TYPE_CHECKING:  # the face extra (cv2, dlib, numpy) is not on a card-only Pi
    from edge.face.camera import Camera
    from edge.face.pipeline import FaceMatch, FacePipeline
    from edge.face.snapshots import SnapshotStore
    from faces.imaging import Image

log = logging.getLogger(__name__)

# A card held on the reader is read again and again; one tap per this many seconds
# (real time: it is the reader's behaviour, not the school day's).
DEBOUNCE_S = 1.5
# card-or-face: a pupil who tapped is usually in front of the camera too. A face
# decision for someone granted this recently is the same passage, not a second one
# (it would otherwise be recorded as an anti-passback denial seconds later).
SAME_PASSAGE_S = 10.0
# Bounds of open-gate's "seconds" argument: a pulse, not a way to leave the gate open
# (hold-open / release is for that, and it is on the record).
OPEN_SECONDS_MIN, OPEN_SECONDS_MAX = 0.1, 300.0


@dataclass(frozen=True, slots=True)
class GateOutcome:
    uid: str | None  # None for a face-only decision
    direction: Direction
    decision: Decision
    seq: int  # the event's seq in the outbox
    at: datetime


class GateAgent(DeviceAgent):
    role = "gate"

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock,
        outbox: Outbox,
        relay: Relay,
        cards: Mapping[str, CardEntry],
        reader: CardReader | None = None,
        feedback: Feedback | None = None,
        camera: Camera | None = None,
        pipeline: FacePipeline | None = None,
        snapshots: SnapshotStore | None = None,
        config_path: Path | None = None,
        on_decision: Callable[[GateOutcome], None] | None = None,
        password: str | None = None,
        host: HostMetrics | None = None,
        protocol: MQTTProtocolVersion | None = None,
        netloop: SharedLoop | None = None,
    ) -> None:
        super().__init__(config, clock=clock, outbox=outbox, password=password, host=host,
                         protocol=protocol, netloop=netloop)
        assert config.gate is not None  # the config's own validator guarantees it
        self.gate: GateConfig = config.gate
        self.relay = relay
        self.reader = reader
        self.feedback: Feedback = feedback or LogFeedback(config.device)
        self.config_path = config_path
        self.on_decision = on_decision
        self._cards: Mapping[str, CardEntry] = cards
        self._kinds: Mapping[str, PersonKind] = person_kinds(cards.values())
        self._anti_passback = timedelta(minutes=self.gate.anti_passback_minutes)
        self._schedule: Schedule | None = self.gate.hours.schedule() if self.gate.hours else None
        self._passages = PassageLog()
        self._reads = RecentMoments(DEBOUNCE_S)
        self._grants = RecentMoments(SAME_PASSAGE_S)
        self._held_open = False
        # Taps (owner), faces (face thread) and commands (network thread) all decide
        # or pulse; re-entrant because hold-open emits while holding it.
        self._lock = threading.RLock()

        self.camera = camera
        self.pipeline = pipeline
        if pipeline is not None and pipeline.on_prompt is None:
            # The liveness check's turn prompt is for the person at the gate to notice.
            pipeline.on_prompt = self.feedback.turn_head
        self.snapshots = snapshots
        self._latest: tuple[float, Sequence[FaceMatch]] | None = None
        self._agreement: FaceAgreement | None = None
        self._face_stop = threading.Event()
        self._face_thread: threading.Thread | None = None
        self.face_done = threading.Event()  # set when the face thread has ended
        if self.gate.uses_face:
            assert self.gate.face is not None
            if camera is None or pipeline is None:
                raise ValueError(f"gate mode {self.gate.mode} needs a camera and a face pipeline")
            self._agreement = FaceAgreement(self.gate.face.agree, self.gate.face.window)
        else:
            self.face_done.set()

        self.commands.register("open-gate", self._open_gate_command)
        self.commands.register("hold-open", self._hold_open_command)
        self.commands.register("release", self._release_command)
        self.commands.register("sync-gallery", self._sync_gallery_command)
        self.commands.register("reload-config", self._reload_config_command)
        if not cards and self.gate.mode != "face":
            log.warning("%s: empty card list: every card is unknown and the hub decides",
                        self.device)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self.snapshots is not None:
            # Crops kept before a restart, or before snapshots were turned off, go now:
            # nothing else would ever look at them again (SnapshotStore.prune).
            self.snapshots.prune(self.clock.now())
        super().start()
        if self.gate.uses_face and self._face_thread is None:
            assert self.camera is not None
            self.camera.start()
            self._face_thread = threading.Thread(target=self._face_loop, name=f"face-{self.device}",
                                                 daemon=True)
            self._face_thread.start()

    def stop(self) -> None:
        self._face_stop.set()
        if self.camera is not None:
            self.camera.close()
        if self._face_thread is not None:
            self._face_thread.join(timeout=10)
        super().stop()
        self.relay.close()
        self.feedback.close()
        if self.reader is not None:
            self.reader.close()

    def replace_cards(self, cards: Mapping[str, CardEntry]) -> None:
        """Swap in a fresh card list (a sync from the hub): assignments, no lock needed."""
        self._kinds = person_kinds(cards.values())
        self._cards = cards

    # -- card path ---------------------------------------------------------------------

    def handle_tap(self, uid: str, *, direction: Direction | None = None) -> GateOutcome | None:
        """One card read. None when the read is noise (not a UID), a repeat of the last
        tap, or the gate identifies by face only.

        ``direction`` is for a two-reader gate; by default the gate's configured one.
        """
        try:
            uid = normalise_uid(uid)
        except InvalidUid as exc:
            log.warning("%s: ignored card read: %s", self.device, exc)
            return None
        if self._reads.repeat(uid, time.monotonic()):
            return None
        if self.gate.mode == "face":
            log.warning("%s: card %s ignored: this gate identifies by face only", self.device, uid)
            return None
        way: Direction = direction or self.gate.direction
        now = self.clock.now()
        with self._lock:
            decision = decide_card(
                uid, cards=self._cards, direction=way, now=now, passages=self._passages,
                anti_passback=self._anti_passback, schedule=self._schedule,
            )
            if self.gate.mode == "card-and-face":
                verification = self._verify(decision.person) if decision.opens else None
                decision = decide_card_and_face(decision, verification)
            self._act(decision, way, now)
        return self._record(decision, way, now, uid)

    def _verify(self, person: str | None) -> Verification | None:
        """1:1 against the faces the face thread saw last; never encodes on this thread."""
        if person is None or self.pipeline is None:
            return None
        matches: Sequence[FaceMatch] = []
        latest = self._latest
        if latest is not None and time.monotonic() - latest[0] <= self.gate.face_fresh_s:
            matches = latest[1]
        return self.pipeline.verify(person, matches)

    # -- face path ---------------------------------------------------------------------

    def _face_loop(self) -> None:
        assert self.camera is not None
        follow_frames(self.camera, self._face_stop,
                      lambda frame: self.process_frame(frame.image, at=frame.at),
                      device=self.device, done=self.face_done)

    def process_frame(self, image: Image, *, at: float | None = None) -> GateOutcome | None:
        """One camera frame (BGR). Caches its faces for card-and-face; in face and
        card-or-face feeds the agreement and decides when the frames agree."""
        pipeline, agreement = self.pipeline, self._agreement
        assert pipeline is not None and agreement is not None
        # The frame's capture time: a gate that falls behind must not stretch an approach.
        matches = pipeline.process(image, at=at)
        self._latest = (at if at is not None else time.monotonic(), matches)
        if self.gate.mode == "card-and-face":
            return None  # a face alone never opens this gate: it only verifies taps
        subject = pipeline.subject(matches)
        agreed = agreement.observe(observation(subject.identity if subject else None))
        if agreed is None or subject is None:
            return None
        person = None if isinstance(agreed, Seen) else agreed
        if person is not None and self._grants.recent(person, time.monotonic()):
            return None
        way: Direction = self.gate.direction
        now = self.clock.now()
        with self._lock:
            decision = decide_face(
                person, distance=subject.distance, reason=subject.identity.reason,
                kinds=self._kinds, direction=way, now=now, passages=self._passages,
                anti_passback=self._anti_passback, schedule=self._schedule,
            )
            self._act(decision, way, now)
        if decision.decision == "unknown" and self.snapshots is not None:
            # Only where the gate opted in (SnapshotStore.save is a no-op otherwise).
            self.snapshots.save(image, subject.box, at=now)
        return self._record(decision, way, now, None)

    # -- acting and recording ----------------------------------------------------------

    def _act(self, decision: Decision, way: Direction, now: datetime) -> None:
        """Relay and feedback first: the person at the gate must not wait for the disk.
        Called with the lock held."""
        if decision.opens:
            self._pulse(self.gate.relay.pulse_s)
            if decision.person is not None:
                self._passages.record(decision.person, way, now)
                self._grants.note(decision.person, time.monotonic())
            self.feedback.granted()
        else:
            self.feedback.denied()

    def _record(self, decision: Decision, way: Direction, now: datetime,
                uid: str | None) -> GateOutcome:
        seq = self.emit(
            Channel.EVENT,
            lambda seq: GatePayload(
                v=PROTOCOL_VERSION, type="gate", device=self.device, seq=seq, ts=now,
                direction=way, method=decision.method, card_uid=uid, person=decision.person,
                distance=decision.distance, decision=decision.decision,
                reason=decision.reason.value if decision.reason else None,
            ),
        )
        outcome = GateOutcome(uid, way, decision, seq, now)
        if self.on_decision is not None:
            self.on_decision(outcome)
        return outcome

    def poll(self, timeout: float) -> None:
        if self.reader is None:
            super().poll(timeout)
            return
        uid = self.reader.read(timeout)
        if uid is not None:
            self.handle_tap(uid)

    def tick(self, now: datetime | None = None) -> None:
        now = now or self.clock.now()
        super().tick(now)
        with self._lock:
            if len(self._passages) > 0:
                self._passages.prune(now - self._anti_passback)
        mono = time.monotonic()
        self._reads.prune(mono)
        self._grants.prune(mono)

    # -- manual override ---------------------------------------------------------------

    def open_gate(self, note: str = "remote-open", seconds: float | None = None) -> int:
        """Open for someone the reader cannot identify (the guard's button, the control room).

        Recorded as a ``manual`` passage so the opening is on the record.
        """
        self._pulse(seconds if seconds is not None else self.gate.relay.pulse_s)
        return self._manual_event(note)

    def hold_open(self) -> int:
        """Keep the gate open (a fire drill, the school fair) until ``release``. Taps are
        still decided and recorded, so attendance keeps counting."""
        with self._lock:
            self._held_open = True
            self.relay.hold()
        return self._manual_event("hold-open")

    def release(self) -> bool:
        """End a hold; returns whether the gate was held."""
        with self._lock:
            was = self._held_open
            self._held_open = False
            self.relay.release()
        return was

    @property
    def held_open(self) -> bool:
        return self._held_open

    def _manual_event(self, note: str) -> int:
        now = self.clock.now()
        return self.emit(
            Channel.EVENT,
            lambda seq: GatePayload(
                v=PROTOCOL_VERSION, type="gate", device=self.device, seq=seq, ts=now,
                direction=self.gate.direction, method="manual", decision="granted",
                reason=note,
            ),
        )

    def _pulse(self, seconds: float) -> None:
        with self._lock:
            if self._held_open:
                return  # a pulse would end the hold when it ends
            self.relay.pulse(seconds)

    # -- reloading ---------------------------------------------------------------------

    def sync_gallery(self) -> dict[str, Any]:
        """Re-read the card list and the encrypted gallery from disk and swap them in.

        Both are loaded before either is swapped, so a bad file changes nothing. With a
        ``sync`` section the files are first fetched from the hub and rewritten (see
        edge.gate.sync); a failed fetch raises SyncError and changes nothing, neither
        on disk nor in memory. Without it an operator or a deployment tool copies them.
        Runs on paho's network thread: a fetch holds the link for at most the sync
        timeout, while taps are still decided and queued in the outbox.
        """
        detail: dict[str, Any] = {}
        face = self.gate.face
        gallery_file = (face.gallery_file if self.pipeline is not None and face is not None
                        else None)
        if self.gate.sync is not None:
            from edge.gate.sync import pull

            pulled = pull(self.gate.sync, device=self.device, school=self.config.school,
                          cards_file=self.gate.cards_file if self.gate.mode != "face" else None,
                          gallery_file=gallery_file)
            detail["version"] = pulled.version
        cards: dict[str, CardEntry] | None = None
        gallery = None
        if self.gate.cards_file is not None:
            cards = load_cards(self.gate.cards_file)
        if gallery_file is not None:
            from faces.gallery import Gallery

            gallery = Gallery.load(gallery_file)
        if cards is not None:
            self.replace_cards(cards)
            detail["cards"] = len(cards)
        if gallery is not None and self.pipeline is not None:
            self.pipeline.gallery = gallery  # atomic: a frame in flight keeps the old one
            detail["gallery_persons"] = len(gallery)
        return detail

    def reload_config(self, new: AgentConfig) -> dict[str, list[str]]:
        """Apply what can change live from ``new``; report the rest as needing a restart."""
        if new.gate is None:
            raise ValueError("the reloaded config is not a gate's")
        changes = sort_changes(self.config, new)
        gate = live_gate(self.gate, new.gate)
        face = gate.face
        with self._lock:
            self.gate = gate
            self.config = self.config.model_copy(update={"gate": gate})
            self._anti_passback = timedelta(minutes=gate.anti_passback_minutes)
            self._schedule = gate.hours.schedule() if gate.hours else None
            if face is not None and self.pipeline is not None:
                self.pipeline.tolerance = face.tolerance
                self.pipeline.margin = face.margin
                if self._agreement is None or (self._agreement.needed, self._agreement.window) \
                        != (face.agree, face.window):
                    self._agreement = FaceAgreement(face.agree, face.window)
        return changes

    # -- commands (network thread) -----------------------------------------------------

    def _open_gate_command(self, cmd: CmdPayload) -> CommandResult:
        seconds = cmd.args.get("seconds")
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not (
                OPEN_SECONDS_MIN <= seconds <= OPEN_SECONDS_MAX
            ):
                return CommandResult(
                    False, f"seconds must be a number from {OPEN_SECONDS_MIN} to "
                    f"{OPEN_SECONDS_MAX}; for longer use hold-open and release",
                )
            seconds = float(seconds)
        seq = self.open_gate(seconds=seconds)
        return CommandResult(True, {"event_seq": seq})

    def _hold_open_command(self, _cmd: CmdPayload) -> CommandResult:
        return CommandResult(True, {"event_seq": self.hold_open()})

    def _release_command(self, _cmd: CmdPayload) -> CommandResult:
        return CommandResult(True, {"was_held": self.release()})

    def _sync_gallery_command(self, _cmd: CmdPayload) -> CommandResult:
        try:
            return CommandResult(True, self.sync_gallery())
        except SyncError as exc:
            log.warning("%s: sync from the hub failed: %s", self.device, exc)
            return CommandResult(False, f"sync failed, the gate keeps its current cards and "
                                        f"gallery: {exc}")

    def _reload_config_command(self, _cmd: CmdPayload) -> CommandResult:
        if self.config_path is None:
            return CommandResult(False, "this agent was not started from a config file")
        from edge.config import ConfigError, load_config

        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            return CommandResult(False, {"problems": exc.problems})
        return CommandResult(True, dict(self.reload_config(new)))
