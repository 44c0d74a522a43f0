"""The test OpenID provider (tests/oidc/provider.mjs, panva's oidc-provider) from Python.

``ensure_installed`` runs ``npm ci`` into tests/oidc/node_modules the first time (the
versions are pinned by package-lock.json); ``OpenIdProvider`` runs one provider process on
loopback; ``code_flow`` signs a person in without a browser (the API tests need tokens,
the browser test does the same flow in Chromium).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from tests.conftest import free_port, wait_port

HERE = Path(__file__).resolve().parent
API_AUDIENCE = "urn:smartschool:api"
OTHER_AUDIENCE = "urn:other:api"
CLIENT_ID = "smartschool-dashboard"
SCOPES = "openid profile email smartschool"
ROLE_MAP = {"giao_vien": "teacher", "hieu_truong": "school_admin", "phong_gd": "district_admin",
            "ky_thuat": "facility_manager"}


def ensure_installed() -> None:
    """npm ci once per checkout (and again when the lock changes)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the single sign-on tests: "
                    "apt-get install -y nodejs npm", pytrace=False)
    marker = HERE / "node_modules" / ".package-lock.json"
    lock = HERE / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime \
            and (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                          cwd=HERE, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        pytest.fail(f"npm ci in {HERE} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)


def make_keys(path: Path) -> Path:
    """A private JWKS for the provider: one RS256 and one ES256 key."""
    from joserfc.jwk import ECKey, RSAKey

    rsa = RSAKey.generate_key(2048, parameters={"kid": f"rsa-{secrets.token_hex(4)}",
                                                "use": "sig", "alg": "RS256"}, private=True)
    ec = ECKey.generate_key("P-256", parameters={"kid": f"ec-{secrets.token_hex(4)}",
                                                 "use": "sig", "alg": "ES256"}, private=True)
    path.write_text(json.dumps({"keys": [rsa.as_dict(private=True),
                                         ec.as_dict(private=True)]}), encoding="utf-8")
    return path


class OpenIdProvider:
    """One oidc-provider process on 127.0.0.1."""

    def __init__(self, workdir: Path, *, keys: Path, redirect_uris: list[str],
                 client_secret: str, issuer: str | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.issuer = issuer or f"http://127.0.0.1:{self.port}"
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = secrets.token_urlsafe(24)
        self.client_secret = client_secret
        self.redirect_uris = redirect_uris
        self.log = workdir / f"oidc-provider-{self.port}.log"
        self._env = {
            "OIDC_PORT": str(self.port), "OIDC_ISSUER": self.issuer,
            "OIDC_JWKS_FILE": str(keys),
            "OIDC_CLIENTS": json.dumps([{
                "client_id": CLIENT_ID, "client_secret": client_secret,
                "redirect_uris": redirect_uris,
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            }]),
            "OIDC_RESOURCES": json.dumps({API_AUDIENCE: API_AUDIENCE,
                                          OTHER_AUDIENCE: OTHER_AUDIENCE}),
            "OIDC_ADMIN_TOKEN": self.admin_token,
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OpenIdProvider:
        node = shutil.which("node") or "node"
        self.proc = subprocess.Popen([node, str(HERE / "provider.mjs")], cwd=HERE,
                                     env=self._env, stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT)
        try:
            wait_port(self.port, timeout=30)
        except TimeoutError:
            self.stop()
            raise AssertionError(f"oidc-provider did not start: {self.log.read_text()}") \
                from None
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def put_account(self, account_id: str, *, password: str, roles: list[str] | None = None,
                    school: str | None = None, name: str | None = None,
                    revoked: bool = False, access_ttl: int | None = None) -> None:
        """Create or change a person at the provider (the sector's administrators' part)."""
        claims: dict[str, Any] = {"preferred_username": account_id}
        if roles is not None:
            claims["roles"] = roles
        if school is not None:
            claims["school"] = school
        if name is not None:
            claims["name"] = name
        body: dict[str, Any] = {"password": password, "claims": claims, "revoked": revoked}
        if access_ttl is not None:
            body["access_ttl"] = access_ttl
        answer = httpx.put(f"{self.url}/test/accounts/{account_id}", json=body,
                           headers={"Authorization": f"Bearer {self.admin_token}"}, timeout=10)
        assert answer.status_code == 204, answer.text


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def code_flow(provider: OpenIdProvider, *, login: str, password: str,
              resource: str | None = None) -> dict[str, Any]:
    """The authorization code flow with PKCE, as a browser would follow it, by HTTP: the
    provider's login form, then the code exchanged at the token endpoint."""
    redirect_uri = provider.redirect_uris[0]
    verifier, challenge = _pkce()
    params = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": redirect_uri,
              "scope": SCOPES, "state": secrets.token_urlsafe(8),
              "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
              "code_challenge_method": "S256"}
    if resource:
        params["resource"] = resource
    with httpx.Client(base_url=provider.url, follow_redirects=False, timeout=10) as http:
        answer = http.get("/auth", params=params)
        code = None
        for _ in range(10):
            assert answer.status_code in (302, 303), answer.text[:500]
            location = urljoin(provider.url + "/", answer.headers["location"])
            if location.startswith(redirect_uri):
                query = parse_qs(urlsplit(location).query)
                assert "code" in query, query
                code = query["code"][0]
                break
            path = urlsplit(location).path
            if path.startswith("/interaction/"):
                http.get(location)  # the login form
                answer = http.post(f"{path}/login", data={"login": login, "password": password})
            else:
                answer = http.get(location)
        assert code is not None, "the flow did not come back with a code"
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier}
        if resource:
            body["resource"] = resource
        token = http.post("/token", data=body, auth=(CLIENT_ID, provider.client_secret))
        assert token.status_code == 200, token.text
        result: dict[str, Any] = token.json()
        return result


def refresh(provider: OpenIdProvider, refresh_token: str) -> httpx.Response:
    return httpx.post(f"{provider.url}/token", data={"grant_type": "refresh_token",
                                                     "refresh_token": refresh_token},
                      auth=(CLIENT_ID, provider.client_secret), timeout=10)
