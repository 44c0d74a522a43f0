"""The gate's actuator: a relay pulsed to release the turnstile or door strike."""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Relay(Protocol):
    def pulse(self, seconds: float) -> None:
        """Close the contact for ``seconds`` without blocking the caller."""
        ...

    def hold(self) -> None:
        """Keep the contact closed until ``release`` (manual override: hold the gate open)."""
        ...

    def release(self) -> None:
        """End a hold; a pulse in progress still ends on its own."""
        ...

    def close(self) -> None: ...


class NoopRelay:
    """No hardware: counts pulses, so tests and the simulator can see the gate open."""

    def __init__(self, name: str = "relay") -> None:
        self.name = name
        self.pulses = 0
        self.held = False
        self.last_pulse_s: float | None = None

    def pulse(self, seconds: float) -> None:
        self.pulses += 1
        self.last_pulse_s = seconds
        log.debug("%s: pulse %.1fs (#%d)", self.name, seconds, self.pulses)

    def hold(self) -> None:
        self.held = True
        log.info("%s: held open", self.name)

    def release(self) -> None:
        self.held = False
        log.info("%s: released", self.name)

    def close(self) -> None:
        return None


class GpioRelay:
    """A relay on a Raspberry Pi GPIO pin, through gpiozero (installed on the Pi only)."""

    def __init__(self, pin: int, *, active_high: bool = True) -> None:
        try:
            from gpiozero import OutputDevice  # type: ignore[import-not-found]
        except ImportError:
            raise RuntimeError(
                "relay kind 'gpio' needs gpiozero (apt install python3-gpiozero on the Pi); "
                "use relay kind 'noop' elsewhere"
            ) from None
        self._device: Any = OutputDevice(pin, active_high=active_high, initial_value=False)

    def pulse(self, seconds: float) -> None:
        # blink in the background: the caller (the tap handler) must not wait for the door.
        self._device.blink(on_time=seconds, off_time=0, n=1, background=True)

    def hold(self) -> None:
        self._device.on()  # on() also cancels a blink in progress

    def release(self) -> None:
        self._device.off()

    def close(self) -> None:
        self._device.close()
