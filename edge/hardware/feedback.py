"""What the person at the gate sees and hears: a beep and a coloured light per decision.

Granted: a short beep and green. Denied or unknown: a long beep and red, so a
pupil who cannot read a display still knows to step back and call the guard.
Asked to turn the head (a liveness check that saw a face held still, ``face.liveness``):
two short beeps and both lights, which a sign at the gate explains.
The decision never waits for the feedback: gpiozero blinks on its own thread.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Protocol

log = logging.getLogger(__name__)

SHORT_BEEP_S = 0.1
LONG_BEEP_S = 0.8
LIGHT_S = 2.0  # how long the LED stays lit after a decision
REMEMBERED_SIGNALS = 100  # LogFeedback runs for months on a gate without LEDs: bounded


class Feedback(Protocol):
    def granted(self) -> None: ...

    def denied(self) -> None: ...

    def turn_head(self) -> None: ...

    def close(self) -> None: ...


class LogFeedback:
    """Off the Pi: log and count, so tests and the simulator can see what a pupil would."""

    def __init__(self, name: str = "feedback") -> None:
        self.name = name
        self._recent: deque[str] = deque(maxlen=REMEMBERED_SIGNALS)

    @property
    def signals(self) -> list[str]:
        """The latest signals, oldest first."""
        return list(self._recent)

    def granted(self) -> None:
        self._recent.append("granted")
        log.debug("%s: short beep, green", self.name)

    def denied(self) -> None:
        self._recent.append("denied")
        log.debug("%s: long beep, red", self.name)

    def turn_head(self) -> None:
        self._recent.append("turn-head")
        log.debug("%s: two short beeps, both lights", self.name)

    def close(self) -> None:
        return None


class GpioFeedback:
    """A buzzer and two LEDs on Pi pins through gpiozero; any of them may be absent."""

    def __init__(
        self, *, buzzer_pin: int | None, green_pin: int | None, red_pin: int | None
    ) -> None:
        try:
            from gpiozero import LED, Buzzer  # type: ignore[import-not-found]
        except ImportError:
            raise RuntimeError(
                "feedback kind 'gpio' needs gpiozero (apt install python3-gpiozero on the Pi); "
                "use feedback kind 'noop' elsewhere"
            ) from None
        self._buzzer: Any = Buzzer(buzzer_pin) if buzzer_pin is not None else None
        self._green: Any = LED(green_pin) if green_pin is not None else None
        self._red: Any = LED(red_pin) if red_pin is not None else None

    def _signal(self, beep_s: float, light: Any) -> None:
        if self._buzzer is not None:
            self._buzzer.blink(on_time=beep_s, off_time=0, n=1, background=True)
        if light is not None:
            light.blink(on_time=LIGHT_S, off_time=0, n=1, background=True)

    def granted(self) -> None:
        self._signal(SHORT_BEEP_S, self._green)

    def denied(self) -> None:
        self._signal(LONG_BEEP_S, self._red)

    def turn_head(self) -> None:
        if self._buzzer is not None:
            self._buzzer.blink(on_time=SHORT_BEEP_S, off_time=SHORT_BEEP_S, n=2, background=True)
        for light in (self._green, self._red):
            if light is not None:
                light.blink(on_time=LIGHT_S, off_time=0, n=1, background=True)

    def close(self) -> None:
        for device in (self._buzzer, self._green, self._red):
            if device is not None:
                device.close()
