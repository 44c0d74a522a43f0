"""The attendance role of a classroom agent: a card reader and/or a camera at the room door.

A sighting is decided by the gate's own code (edge/gate/policy.py: the card list, card
status, hours, and anti-passback as the "one sighting per pupil per window" rule; the
face pipeline and the multi-frame agreement of faces/decision.py) and sent as a protocol
``gate`` event naming the room, through the agent's outbox, so it survives a network or
hub outage exactly as a gate passage does. Nothing opens: a classroom door has no relay.

Threads, as on a face gate: the agent's owner calls ``poll`` (the reader) and ``tick``; a
``face`` thread reads the camera's newest frame and runs the pipeline. One lock covers
the passage log they share.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from edge.cards.readers import CardReader
from edge.clock import Clock
from edge.config.attendance import AttendanceConfig
from edge.face.frames import follow_frames
from edge.gate.agent import DEBOUNCE_S, SAME_PASSAGE_S, GateOutcome
from edge.gate.moments import RecentMoments
from edge.gate.policy import (
    CardEntry,
    Decision,
    PassageLog,
    Schedule,
    decide_card,
    decide_face,
    person_kinds,
)
from faces.decision import FaceAgreement, Seen, observation
from protocol.ids import InvalidUid, normalise_uid
from protocol.messages import PROTOCOL_VERSION, GatePayload
from protocol.sync import PersonKind
from protocol.topics import Channel

if TYPE_CHECKING:  # the face extra is imported only by doors with a camera
    from pydantic import BaseModel

    from edge.face.camera import Camera
    from edge.face.pipeline import FacePipeline
    from faces.imaging import Image

    Emit = Callable[[Channel, Callable[[int], BaseModel]], int]

log = logging.getLogger(__name__)


class RoomDoor:
    def __init__(
        self,
        config: AttendanceConfig,
        *,
        device: str,
        clock: Clock,
        emit: Emit,
        cards: Mapping[str, CardEntry],
        reader: CardReader | None = None,
        camera: Camera | None = None,
        pipeline: FacePipeline | None = None,
        on_decision: Callable[[GateOutcome], None] | None = None,
    ) -> None:
        self.config = config
        self.device = device
        self.clock = clock
        self._emit = emit
        self.reader = reader
        self.camera = camera
        self.pipeline = pipeline
        self.on_decision = on_decision
        self._cards: Mapping[str, CardEntry] = cards
        self._kinds: Mapping[str, PersonKind] = person_kinds(cards.values())
        self._window = timedelta(minutes=config.anti_passback_minutes)
        self._schedule: Schedule | None = config.hours.schedule() if config.hours else None
        self._passages = PassageLog()
        self._reads = RecentMoments(DEBOUNCE_S)
        self._grants = RecentMoments(SAME_PASSAGE_S)
        self._lock = threading.Lock()
        self._agreement: FaceAgreement | None = None
        self._face_stop = threading.Event()
        self._face_thread: threading.Thread | None = None
        self.face_done = threading.Event()  # set when the face thread has ended
        if config.uses_face:
            assert config.face is not None
            if camera is None or pipeline is None:
                raise ValueError(f"attendance mode {config.mode} needs a camera and a face "
                                 "pipeline")
            self._agreement = FaceAgreement(config.face.agree, config.face.window)

    @property
    def room(self) -> str:
        return self.config.room

    def start(self) -> None:
        if self.config.uses_face and self._face_thread is None:
            assert self.camera is not None
            self.camera.start()
            self._face_thread = threading.Thread(target=self._face_loop,
                                                 name=f"face-{self.device}", daemon=True)
            self._face_thread.start()

    def stop(self) -> None:
        self._face_stop.set()
        if self.camera is not None:
            self.camera.close()
        if self._face_thread is not None:
            self._face_thread.join(timeout=10)
        if self.reader is not None:
            self.reader.close()

    def replace_cards(self, cards: Mapping[str, CardEntry]) -> None:
        self._kinds = person_kinds(cards.values())
        self._cards = cards

    # -- cards ---------------------------------------------------------------------------

    def poll(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a tap; False when there is no reader to wait on."""
        if self.reader is None:
            return False
        uid = self.reader.read(timeout)
        if uid is not None:
            self.handle_tap(uid)
        return True

    def handle_tap(self, uid: str) -> GateOutcome | None:
        """One card read at the door; None for noise, a card held on the reader, or a door
        that identifies by face only."""
        try:
            uid = normalise_uid(uid)
        except InvalidUid as exc:
            log.warning("%s: ignored card read: %s", self.device, exc)
            return None
        if self._reads.repeat(uid, time.monotonic()) or self.config.mode == "face":
            return None
        now = self.clock.now()
        with self._lock:
            decision = decide_card(uid, cards=self._cards, direction="in", now=now,
                                   passages=self._passages, anti_passback=self._window,
                                   schedule=self._schedule)
            self._note(decision, now)
        return self._record(decision, now, uid)

    # -- faces ---------------------------------------------------------------------------

    def _face_loop(self) -> None:
        assert self.camera is not None
        follow_frames(self.camera, self._face_stop,
                      lambda frame: self.process_frame(frame.image, at=frame.at),
                      device=self.device, done=self.face_done)

    def process_frame(self, image: Image, *, at: float | None = None) -> GateOutcome | None:
        """One camera frame: a sighting when the frames agree on a face.

        ``at``: when the camera took it (monotonic seconds), which the liveness watch
        times each approach by; a frame analysed late is still timed when it was taken.
        """
        pipeline, agreement = self.pipeline, self._agreement
        assert pipeline is not None and agreement is not None
        subject = pipeline.subject(pipeline.process(image, at=at))
        agreed = agreement.observe(observation(subject.identity if subject else None))
        if agreed is None or subject is None:
            return None
        person = None if isinstance(agreed, Seen) else agreed
        if person is not None and self._grants.recent(person, time.monotonic()):
            # card-or-face: the pupil who just tapped is in front of the camera too
            return None
        now = self.clock.now()
        with self._lock:
            decision = decide_face(person, distance=subject.distance,
                                   reason=subject.identity.reason, kinds=self._kinds,
                                   direction="in", now=now, passages=self._passages,
                                   anti_passback=self._window, schedule=self._schedule)
            self._note(decision, now)
        return self._record(decision, now, None)

    # -- recording -----------------------------------------------------------------------

    def _note(self, decision: Decision, now: datetime) -> None:
        if decision.opens and decision.person is not None:
            self._passages.record(decision.person, "in", now)
            self._grants.note(decision.person, time.monotonic())

    def _record(self, decision: Decision, now: datetime, uid: str | None) -> GateOutcome:
        seq = self._emit(
            Channel.EVENT,
            lambda seq: GatePayload(
                v=PROTOCOL_VERSION, type="gate", device=self.device, seq=seq, ts=now,
                direction="in", method=decision.method, card_uid=uid, person=decision.person,
                distance=decision.distance, decision=decision.decision,
                reason=decision.reason.value if decision.reason else None, room=self.room,
            ),
        )
        outcome = GateOutcome(uid, "in", decision, seq, now)
        if self.on_decision is not None:
            self.on_decision(outcome)
        return outcome

    def tick(self, now: datetime) -> None:
        with self._lock:
            if len(self._passages) > 0:
                self._passages.prune(now - self._window)
        mono = time.monotonic()
        self._reads.prune(mono)
        self._grants.prune(mono)
