"""The release every process reports (a device's birth message, the API's health)."""

from __future__ import annotations

from typing import Final

__version__: Final = "0.1.0"
