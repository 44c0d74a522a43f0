"""Secrets with a minimum strength, and tokens bound to the password they were issued
under (issue #12). Pure: no database."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from core.settings import Settings
from hub.accounts.auth import (
    PASSWORD_VERSION_CLAIM,
    TOKEN_ALGORITHM,
    InvalidTokenError,
    User,
    WeakSecretError,
    create_token,
    decode_token,
    load_or_create_secret,
    token_current,
)
from hub.accounts.rules import (
    MIN_SECRET_KEY_LEN,
    admin_password_problem,
    client_address,
    secret_key_problem,
    trusted_networks,
)

SECRET = "unit-secret-" + "z" * 40


def user(version: int) -> User:
    return User(username="gv", password_hash="x", role="teacher", school_id="thcs-a",
                full_name=None, disabled=False, password_version=version)


@pytest.mark.parametrize(
    ("key", "refused"),
    [
        ("", True),
        ("changeme", True),
        ("x" * (MIN_SECRET_KEY_LEN - 1), True),
        ("  " + "x" * (MIN_SECRET_KEY_LEN - 1) + "  ", True),  # spaces are not strength
        ("x" * MIN_SECRET_KEY_LEN, False),
        ("a-generated-key-" + "Q" * 48, False),
    ],
)
def test_secret_key_minimum(key: str, refused: bool) -> None:
    problem = secret_key_problem(key)
    assert (problem is not None) is refused
    if refused:
        assert problem is not None and "SMARTSCHOOL_SECRET_KEY" in problem
        assert str(MIN_SECRET_KEY_LEN) in problem


@pytest.mark.parametrize(
    ("password", "refused"),
    [("admin", True), ("short-pw", True), ("ADMIN", True), ("a longer password", False)],
)
def test_admin_password_minimum(password: str, refused: bool) -> None:
    problem = admin_password_problem(password)
    assert (problem is not None) is refused
    if refused:
        assert problem is not None and problem.startswith("SMARTSCHOOL_ADMIN_PASSWORD: ")


def test_a_weak_configured_key_is_refused_and_a_generated_one_is_strong(tmp_path: Path) -> None:
    weak = Settings(_env_file=None, data_dir=tmp_path, secret_key="secret")
    with pytest.raises(WeakSecretError, match="SMARTSCHOOL_SECRET_KEY is too short"):
        load_or_create_secret(weak)
    generated = load_or_create_secret(Settings(_env_file=None, data_dir=tmp_path,
                                               secret_key=None))
    assert secret_key_problem(generated) is None


@pytest.mark.parametrize(("issued", "current", "valid"),
                         [(0, 0, True), (3, 3, True), (0, 1, False), (2, 3, False)])
def test_a_token_is_current_only_under_its_password_version(issued: int, current: int,
                                                             valid: bool) -> None:
    token = create_token(username="gv", secret=SECRET, ttl=timedelta(minutes=5),
                         password_version=issued)
    claims = decode_token(token, secret=SECRET)
    assert claims.password_version == issued
    assert token_current(claims, user(current)) is valid


def test_a_token_without_the_claim_counts_as_version_zero() -> None:
    # issued before the claim existed: valid until the first password change
    token = jwt.encode({"sub": "gv", "exp": 4_000_000_000}, SECRET, algorithm=TOKEN_ALGORITHM)
    claims = decode_token(token, secret=SECRET)
    assert claims.password_version == 0
    assert token_current(claims, user(0)) and not token_current(claims, user(1))


@pytest.mark.parametrize("bad", ["1", 1.5, True, None])
def test_a_malformed_password_version_is_refused(bad: object) -> None:
    token = jwt.encode({"sub": "gv", "exp": 4_000_000_000, PASSWORD_VERSION_CLAIM: bad},
                       SECRET, algorithm=TOKEN_ALGORITHM)
    with pytest.raises(InvalidTokenError, match="password version"):
        decode_token(token, secret=SECRET)


PROXIES = trusted_networks(["10.0.0.0/8", "2001:db8::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.7", None, "203.0.113.7"),  # no proxy
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # untrusted peer: header ignored
        ("10.0.0.5", None, "10.0.0.5"),  # a proxy that forwarded nothing
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.5", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # left of it is forgeable
        ("10.0.0.5", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # two of our proxies
        ("2001:db8::1", "2001:db8::77", "2001:db8::77"),
        ("10.0.0.5", "10.0.0.7, 10.0.0.9", "10.0.0.7"),  # started inside
        ("10.0.0.5", "not-an-address", "10.0.0.5"),  # malformed: the proxy's own
        ("10.0.0.5", "198.51.100.1, junk", "10.0.0.5"),
        (None, "198.51.100.1", "unknown"),
    ],
)
def test_client_address_trusts_x_forwarded_for_only_from_proxies(
    peer: str | None, forwarded: str | None, client: str,
) -> None:
    assert client_address(peer, forwarded, PROXIES) == client
    assert client_address(peer, forwarded, ()) == (peer or "unknown")  # none configured


def test_trusted_networks_name_a_bad_entry() -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0/33'")):
        trusted_networks(["10.0.0/33"])
