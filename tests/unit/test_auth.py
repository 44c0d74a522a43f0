"""Password hashing, token encode/decode and expiry, the signing key file, the throttle."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from core.settings import Settings
from hub.accounts.auth import (
    InvalidTokenError,
    LoginRateLimiter,
    create_token,
    decode_token,
    hash_password,
    load_or_create_secret,
    needs_rehash,
    verify_password,
)
from hub.accounts.rules import valid_username

SECRET = "k" * 48
T0 = datetime(2025, 9, 5, 7, 0, tzinfo=UTC)


def test_hash_is_salted_and_verifies() -> None:
    h1, h2 = hash_password("mật khẩu 1"), hash_password("mật khẩu 1")
    assert h1 != h2
    assert h1.startswith("$argon2id$")
    assert verify_password(h1, "mật khẩu 1")
    assert not verify_password(h1, "mật khẩu 2")
    assert not needs_rehash(h1)


@pytest.mark.parametrize("bad_hash", ["", "not-a-hash", "$argon2id$v=19$garbage"])
def test_verify_against_corrupt_hash_is_false(bad_hash: str) -> None:
    assert not verify_password(bad_hash, "x")
    assert needs_rehash(bad_hash)


def test_token_round_trip() -> None:
    token = create_token(username="admin", secret=SECRET, ttl=timedelta(minutes=5))
    claims = decode_token(token, secret=SECRET)
    assert claims.username == "admin"
    assert claims.expires_at > datetime.now(UTC)


@pytest.mark.parametrize(
    ("offset", "valid"),
    [(timedelta(minutes=4, seconds=59), True), (timedelta(minutes=5), False),
     (timedelta(days=1), False)],
)
def test_token_expiry(offset: timedelta, valid: bool) -> None:
    token = create_token(username="u", secret=SECRET, ttl=timedelta(minutes=5), now=T0)
    if valid:
        assert decode_token(token, secret=SECRET, now=T0 + offset).username == "u"
    else:
        with pytest.raises(InvalidTokenError, match="expired"):
            decode_token(token, secret=SECRET, now=T0 + offset)


def test_expired_by_wall_clock() -> None:
    token = create_token(username="u", secret=SECRET, ttl=timedelta(minutes=5),
                         now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(InvalidTokenError, match="expired"):
        decode_token(token, secret=SECRET)


def test_wrong_secret_and_tampering_rejected() -> None:
    token = create_token(username="u", secret=SECRET, ttl=timedelta(minutes=5))
    with pytest.raises(InvalidTokenError):
        decode_token(token, secret="other" * 10)
    header, _, sig = token.split(".")
    forged = jwt.encode({"sub": "admin", "exp": 9_999_999_999}, "other" * 10, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        decode_token(f"{header}.{forged.split('.')[1]}.{sig}", secret=SECRET)
    with pytest.raises(InvalidTokenError):
        decode_token("garbage", secret=SECRET)


def test_alg_none_rejected() -> None:
    unsigned = jwt.encode({"sub": "admin", "exp": 9_999_999_999}, None, algorithm="none")
    with pytest.raises(InvalidTokenError):
        decode_token(unsigned, secret=SECRET)


def test_token_without_subject_rejected() -> None:
    token = jwt.encode({"exp": 9_999_999_999}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        decode_token(token, secret=SECRET)


def test_secret_generated_once_with_private_mode(tmp_path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", secret_key=None)
    first = load_or_create_secret(settings)
    path = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_or_create_secret(settings) == first


def test_secret_from_settings_wins(tmp_path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, secret_key="s" * 40)
    assert load_or_create_secret(settings) == "s" * 40
    assert not (tmp_path / "secret_key").exists()


def test_empty_secret_file_is_an_error(tmp_path) -> None:
    (tmp_path / "secret_key").write_text("")
    settings = Settings(_env_file=None, data_dir=tmp_path, secret_key=None)
    with pytest.raises(RuntimeError, match="empty"):
        load_or_create_secret(settings)


@pytest.mark.parametrize(
    ("name", "ok"),
    [("admin", True), ("gv.nguyen@thcs-a", True), ("", False), ("a\x00b", False),
     ("x" * 65, False), ("-lead", False), ("tên", False)],
)
def test_valid_username(name: str, ok: bool) -> None:
    assert valid_username(name) is ok


def test_rate_limiter_window() -> None:
    limiter = LoginRateLimiter(max_failures=3, window_s=60)
    key = ("admin", "10.0.0.1")
    for t in (0.0, 1.0, 2.0):
        assert limiter.retry_after(key, now=t) == 0
        limiter.record_failure(key, now=t)
    assert limiter.retry_after(key, now=3.0) == pytest.approx(57.0)
    assert limiter.retry_after(("admin", "10.0.0.2"), now=3.0) == 0
    assert limiter.retry_after(key, now=60.5) == 0  # the first failure left the window
    for t in (61.0, 61.1, 61.2):
        limiter.record_failure(key, now=t)
    assert limiter.retry_after(key, now=61.5) == pytest.approx(59.5)
    limiter.reset(key)
    assert limiter.retry_after(key, now=61.5) == 0


def test_rate_limiter_memory_is_bounded() -> None:
    limiter = LoginRateLimiter(max_failures=3, window_s=60, max_keys=100)
    for i in range(1000):
        limiter.record_failure((f"user{i}", "c"), now=float(i) / 100)
    assert len(limiter._failures) <= 100
