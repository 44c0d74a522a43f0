"""Notification pieces without a database: texts, signatures, backoff, adapter config."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from hub.notify.adapters import build_adapters, sign
from hub.notify.messages import render
from hub.notify.outbox import idempotency_key
from hub.notify.settings import NotifySettings
from hub.notify.worker import JITTER, backoff_delay

VN = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2026, 11, 30, 6, 52, tzinfo=VN)


@pytest.mark.parametrize(("kind", "text"), [
    ("entry", "Con Nguyễn Văn An đã vào trường lúc 06:52 ngày 30/11/2026."),
    ("exit", "Con Nguyễn Văn An đã ra khỏi trường lúc 06:52 ngày 30/11/2026."),
])
def test_texts(kind, text) -> None:
    assert render(kind, name="Nguyễn Văn An", at=AT) == text


def test_absence_text() -> None:
    text = render("absence", name="Nguyễn Văn An", at=AT)
    assert text.startswith("Con Nguyễn Văn An chưa đến trường lúc 06:52 ngày 30/11/2026.")


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = '{"a":"Nguyễn"}'.encode()
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(b"k", "1700000000", body) == "sha256=" + expected


def test_key_is_per_student_day_kind_guardian() -> None:
    from datetime import date
    k = idempotency_key(student_code="HS001", day=date(2026, 11, 30), kind="entry",
                        guardian_id=7)
    assert k == "entry:HS001:2026-11-30:7"


@pytest.mark.parametrize(("attempt", "raw"), [(1, 5), (2, 10), (3, 20), (6, 160), (20, 300)])
def test_backoff_doubles_with_jitter_and_cap(attempt, raw) -> None:
    rng = random.Random(1)
    delays = [backoff_delay(attempt, base_s=5, cap_s=300, rng=rng) for _ in range(200)]
    assert all(raw * (1 - JITTER) <= d <= raw * (1 + JITTER) for d in delays)
    assert len(set(delays)) > 1


def test_only_configured_channels_get_adapters() -> None:
    with httpx.Client() as client:
        none = build_adapters(NotifySettings(_env_file=None), client)
        assert none == {}
        some = build_adapters(NotifySettings(
            _env_file=None, webhook_url="http://x/h", webhook_secret=SecretStr("s"),
            sms_url="http://x/sms",  # no key: off
        ), client)
        assert set(some) == {"webhook"}


def test_settings_read_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("SMARTSCHOOL_NOTIFY_ZALO_URL", "http://zalo.local/v3/message")
    monkeypatch.setenv("SMARTSCHOOL_NOTIFY_ZALO_TOKEN", "tok")
    s = NotifySettings(_env_file=None)
    assert s.zalo_url == "http://zalo.local/v3/message"
    assert s.zalo_token is not None and s.zalo_token.get_secret_value() == "tok"
