"""What the webhook signature documentation says is what the notifier computes (issue #12:
the README said HMAC(body) while the code signs ``ts.body``). A receiver written from the
README must accept what the adapter sends, and one written from the old text must not."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

from hub.notify import adapters
from hub.notify.adapters import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from hub.notify.settings import NotifySettings

README = Path(__file__).resolve().parents[2] / "README.md"
SECRET, TS, BODY = b"shared-secret", "1765090000", '{"text":"Con đã đến trường"}'.encode()


def webhook_row() -> str:
    rows = [line for line in README.read_text(encoding="utf-8").splitlines()
            if line.startswith("| `SMARTSCHOOL_NOTIFY_WEBHOOK_URL`")]
    assert len(rows) == 1
    return rows[0]


def test_the_readme_describes_the_signed_bytes() -> None:
    row = webhook_row()
    assert SIGNATURE_HEADER in row and TIMESTAMP_HEADER in row
    assert 'ts + "." + body' in row
    assert "HMAC(secret, body)" not in row
    # a receiver following the README: HMAC over the timestamp header, a dot, the body
    match = re.search(r"sha256=<hex HMAC-SHA256\(secret, ts \+ \"\.\" \+ body\)>", row)
    assert match is not None
    by_readme = "sha256=" + hmac.new(SECRET, TS.encode() + b"." + BODY,
                                     hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, BODY) == by_readme
    by_old_text = "sha256=" + hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, BODY) != by_old_text


def test_the_code_documentation_says_the_same() -> None:
    assert adapters.__doc__ is not None and 'ts + "." + body' in adapters.__doc__
    described = NotifySettings.model_fields["webhook_secret"].description
    assert described is not None and "timestamp + '.' + body" in described
