"""The API takes the OpenID provider's access tokens (issue 15), against a real provider.

A real oidc-provider process on loopback (tests/oidc/provider.mjs) signs people in by
the authorization code flow with PKCE; the hub's API (real PostgreSQL) must accept its
JWT access tokens for the hub's audience and refuse, with 401 and the reason, a token for
another audience, an expired one, one of another issuer signed with the same keys, one
altered after signing, an unsigned one (alg none), one signed with a shared secret, and
one signed with keys the provider does not publish.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from hub.accounts.auth import create_user
from hub.api.app import create_app
from tests.conftest import free_port
from tests.oidc.harness import (
    API_AUDIENCE,
    CLIENT_ID,
    OTHER_AUDIENCE,
    ROLE_MAP,
    OpenIdProvider,
    code_flow,
    ensure_installed,
    make_keys,
)

pytestmark = pytest.mark.integration

SECRET = "k" * 48
REDIRECT = "http://127.0.0.1:9/callback"  # never followed: the code is read from the redirect


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ensure_installed()
    return make_keys(tmp_path_factory.mktemp("oidc") / "jwks.json")


@pytest.fixture(scope="module")
def provider(keys: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    p = OpenIdProvider(tmp_path_factory.mktemp("op"), keys=keys, redirect_uris=[REDIRECT],
                       client_secret="c" * 32).start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def db(pg_url: str) -> str:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into schools (id, name, level, ward) values"
                     " ('thcs-a', 'THCS A', 'thcs', 'Hải Thành'),"
                     " ('thcs-b', 'THCS B', 'thcs', 'Hải Thành')")
        create_user(conn, username="local.gv", password="p" * 12, role="teacher",
                    school_id="thcs-a")
    return pg_url


def settings(tmp_path: Path, provider: OpenIdProvider) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET,
                    oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID,
                    oidc_audience=API_AUDIENCE, oidc_role_map=ROLE_MAP)


@pytest.fixture
def api(db: str, tmp_path: Path, provider: OpenIdProvider) -> Iterator[TestClient]:
    app = create_app(settings(tmp_path, provider), database_url=db,
                     mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as client:
        yield client


def me(api: TestClient, token: str) -> Any:
    return api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def refused(api: TestClient, token: str, reason: str) -> None:
    answer = me(api, token)
    assert answer.status_code == 401, answer.text
    assert reason in answer.json()["detail"], answer.json()
    assert answer.headers["www-authenticate"] == "Bearer"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    h, c, s = token.split(".")
    dec = lambda x: json.loads(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))  # noqa: E731
    return dec(h), dec(c), s


def test_a_provider_token_signs_the_person_in_with_their_role_and_school(
        api: TestClient, provider: OpenIdProvider, db: str) -> None:
    provider.put_account("gv.an", password="an-pw", roles=["giao_vien"], school="thcs-a",
                         name="Nguyễn Văn An")
    token = code_flow(provider, login="gv.an", password="an-pw", resource=API_AUDIENCE)
    answer = me(api, token["access_token"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"username": "gv.an", "role": "teacher", "school": "thcs-a",
                             "full_name": None}
    # a school's teacher sees their school only, as a local teacher would
    schools = api.get("/api/v1/schools",
                      headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert [s["id"] for s in schools] == ["thcs-a"]
    with psycopg.connect(db) as conn:
        row = conn.execute("select issuer, subject, claims from oidc_accounts"
                           " where username = 'gv.an'").fetchone()
    assert row == (provider.issuer, "gv.an", {"roles": ["giao_vien"], "school": "thcs-a"})

    # the role and school change at the provider: the next token carries them
    provider.put_account("gv.an", password="an-pw", roles=["hieu_truong"], school="thcs-b")
    token = code_flow(provider, login="gv.an", password="an-pw", resource=API_AUDIENCE)
    assert me(api, token["access_token"]).json()["role"] == "school_admin"
    assert me(api, token["access_token"]).json()["school"] == "thcs-b"

    # the district disables the account: the provider's word no longer lets them in
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("update users set disabled = true where username = 'gv.an'")
    refused(api, token["access_token"], "disabled")


def test_local_accounts_keep_working(api: TestClient) -> None:
    answer = api.post("/api/v1/auth/token", data={"username": "local.gv", "password": "p" * 12})
    assert answer.status_code == 200
    assert me(api, answer.json()["access_token"]).json()["username"] == "local.gv"


def test_a_person_without_a_mapped_role_is_refused(api: TestClient,
                                                   provider: OpenIdProvider) -> None:
    provider.put_account("khach", password="pw", roles=["phu_huynh"])
    token = code_flow(provider, login="khach", password="pw", resource=API_AUDIENCE)
    refused(api, token["access_token"], "no hub role")


def test_an_unknown_school_is_refused(api: TestClient, provider: OpenIdProvider) -> None:
    provider.put_account("gv.x", password="pw", roles=["giao_vien"], school="thcs-zz")
    token = code_flow(provider, login="gv.x", password="pw", resource=API_AUDIENCE)
    refused(api, token["access_token"], "not known to the hub")


def test_tokens_the_api_refuses(api: TestClient, provider: OpenIdProvider, keys: Path,
                                tmp_path: Path) -> None:
    provider.put_account("pgd", password="pw", roles=["phong_gd"])
    good = code_flow(provider, login="pgd", password="pw", resource=API_AUDIENCE)
    access = good["access_token"]
    assert me(api, access).json()["role"] == "district_admin"

    other = code_flow(provider, login="pgd", password="pw", resource=OTHER_AUDIENCE)
    refused(api, other["access_token"], "wrong audience")
    # the id token is for the dashboard client, not for the API
    refused(api, good["id_token"], "wrong audience")

    header, claims, signature = _parts(access)
    tampered = f"{_b64(header)}.{_b64({**claims, 'sub': 'admin'})}.{signature}"
    refused(api, tampered, "bad signature")
    refused(api, f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(claims)}.", "alg none")
    refused(api, f"{_b64({**header, 'alg': 'HS256'})}.{_b64(claims)}.{signature}",
            "shared secret")

    # another issuer holding the very same keys: the signature checks, the issuer does not
    elsewhere = OpenIdProvider(tmp_path, keys=keys, redirect_uris=[REDIRECT],
                               client_secret="c" * 32).start()
    try:
        elsewhere.put_account("pgd", password="pw", roles=["phong_gd"])
        foreign = code_flow(elsewhere, login="pgd", password="pw", resource=API_AUDIENCE)
    finally:
        elsewhere.stop()
    refused(api, foreign["access_token"], "wrong issuer")

    # a provider claiming our issuer but signing with keys it does not publish
    impostor = OpenIdProvider(tmp_path, keys=make_keys(tmp_path / "impostor.json"),
                              redirect_uris=[REDIRECT], client_secret="c" * 32,
                              issuer=provider.issuer).start()
    try:
        impostor.put_account("pgd", password="pw", roles=["phong_gd"])
        forged = code_flow(impostor, login="pgd", password="pw", resource=API_AUDIENCE)
    finally:
        impostor.stop()
    refused(api, forged["access_token"], "does not publish")

    # and the good token is still good
    assert me(api, access).status_code == 200


def test_an_expired_token_is_refused(api: TestClient, provider: OpenIdProvider) -> None:
    oidc = api.app.state.ctx.oidc  # type: ignore[attr-defined]
    oidc.leeway = 0  # the provider and the hub share this machine's clock
    provider.put_account("short", password="pw", roles=["phong_gd"], access_ttl=1)
    token = code_flow(provider, login="short", password="pw", resource=API_AUDIENCE)
    exp = _parts(token["access_token"])[1]["exp"]
    time.sleep(max(exp - time.time(), 0) + 1.2)
    refused(api, token["access_token"], "token expired")


def test_keys_are_cached_and_fetched_again_for_an_unknown_key_id(
        db: str, tmp_path: Path, keys: Path) -> None:
    """Key rotation: the provider restarts with new keys; the first token signed with one
    makes the API fetch the key set again, and only then."""
    first = OpenIdProvider(tmp_path, keys=keys, redirect_uris=[REDIRECT],
                           client_secret="c" * 32).start()
    app = create_app(settings(tmp_path, first), database_url=db,
                     mqtt_display="mqtt://127.0.0.1:1883")
    oidc = app.state.ctx.oidc
    oidc.keys.min_refresh_s = 0.0
    try:
        with TestClient(app) as api:
            first.put_account("pgd", password="pw", roles=["phong_gd"])
            for _ in range(3):
                token = code_flow(first, login="pgd", password="pw", resource=API_AUDIENCE)
                assert me(api, token["access_token"]).status_code == 200
            assert oidc.keys.fetches == 1  # cached
            first.stop()
            rotated = OpenIdProvider(tmp_path, keys=make_keys(tmp_path / "rotated.json"),
                                     redirect_uris=[REDIRECT], client_secret="c" * 32,
                                     port=first.port).start()
            try:
                rotated.put_account("pgd", password="pw", roles=["phong_gd"])
                token = code_flow(rotated, login="pgd", password="pw", resource=API_AUDIENCE)
                assert me(api, token["access_token"]).status_code == 200
                assert oidc.keys.fetches == 2
                assert me(api, token["access_token"]).status_code == 200
                assert oidc.keys.fetches == 2
            finally:
                rotated.stop()
    finally:
        first.stop()


def test_an_unreachable_provider_is_a_503_not_a_pass(db: str, tmp_path: Path) -> None:
    """No keys, no entry: a token claiming the provider is never taken unchecked."""
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET,
                              oidc_issuer=down, oidc_audience=API_AUDIENCE,
                              oidc_role_map=ROLE_MAP),
                     database_url=db, mqtt_display="mqtt://127.0.0.1:1883")
    claims = {"iss": down, "aud": API_AUDIENCE, "sub": "x", "exp": time.time() + 60,
              "roles": ["phong_gd"]}
    token = f"{_b64({'alg': 'RS256', 'kid': 'k'})}.{_b64(claims)}.{_b64({'sig': 1})}"
    with TestClient(app) as api:
        answer = me(api, token)
        assert answer.status_code == 503, answer.text
        assert "cannot be reached" in answer.json()["detail"]
        assert answer.headers["retry-after"] == "5"
        # the hub's own tokens do not depend on the provider
        local = api.post("/api/v1/auth/token", data={"username": "local.gv",
                                                     "password": "p" * 12})
        assert me(api, local.json()["access_token"]).status_code == 200


def test_settings_the_api_refuses_to_start_with(db: str, tmp_path: Path) -> None:
    for extra, reason in (
        ({"oidc_issuer": "http://id.example.vn", "oidc_role_map": ROLE_MAP}, "https only"),
        ({"oidc_issuer": "https://id.example.vn", "oidc_role_map": {"a": "exchange"}},
         "a=exchange"),
        ({"oidc_issuer": "https://id.example.vn"}, "ROLE_MAP is empty"),
        ({"oidc_issuer": "https://id.example.vn", "oidc_role_map": ROLE_MAP,
          "oidc_client_secret_file": tmp_path / "missing"}, "CLIENT_SECRET_FILE"),
    ):
        with pytest.raises(ValueError, match=reason):
            create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET,
                                **extra), database_url=db, mqtt_display="mqtt://x")
