"""A wall screen signed in as the kiosk comes back to kiosk mode when sent from it."""

from __future__ import annotations

import pytest

from dashboard.access import kiosk_landing


@pytest.mark.parametrize(
    ("target", "lang", "landing"),
    [
        (None, "vi", "/?lang=vi"),
        ("/", "en", "/?lang=en"),
        ("/?kiosk=1", "vi", "/?lang=vi&kiosk=1"),
        ("/?lang=en&kiosk=true", "en", "/?lang=en&kiosk=1"),
        ("/?kiosk=0", "vi", "/?lang=vi"),
        ("/equipment?kiosk=1", "vi", "/?lang=vi"),     # the kiosk sees the wall only
        ("/school/th-a?kiosk=1", "vi", "/?lang=vi"),
        ("//evil.example/?kiosk=1", "vi", "/?lang=vi"),  # never another host
        ("https://evil.example/?kiosk=1", "en", "/?lang=en"),
    ],
)
def test_kiosk_landing(target: str | None, lang: str, landing: str) -> None:
    assert kiosk_landing(target, lang) == landing
