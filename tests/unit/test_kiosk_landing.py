"""Where the sign-in form sends a visitor back: a wall screen signed in as the kiosk comes
back to kiosk mode when sent from it, and everyone comes back in the form's language."""

from __future__ import annotations

import pytest

from dashboard.access import in_language, kiosk_landing


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


@pytest.mark.parametrize(("target", "lang", "expected"), [
    (None, "vi", None),
    ("/school/THCS-HN", "vi", "/school/THCS-HN?lang=vi"),
    ("/school/THCS-HN?lang=en", "vi", "/school/THCS-HN?lang=vi"),
    ("/school/THCS-HN?lang=vi", "en", "/school/THCS-HN?lang=en"),
    ("/?kiosk=1&lang=en", "vi", "/?kiosk=1&lang=vi"),
    ("/school/X/lessons?class=3&lang=en&x=", "en", "/school/X/lessons?class=3&x=&lang=en"),
    ("/equipment#alarms", "en", "/equipment?lang=en#alarms"),
])
def test_the_sign_in_form_sends_the_visitor_back_in_its_language(
        target: str | None, lang: str, expected: str | None) -> None:
    assert in_language(target, lang) == expected
