"""Single sign-on's pure decisions (hub/accounts/oidc_rules.py), as tables of cases."""

from __future__ import annotations

import pytest

from hub.accounts.oidc_rules import (
    DERIVED_PREFIX,
    Identity,
    MappingRefused,
    claim_at,
    claims_problem,
    header_problem,
    is_provider_token,
    issuer_problem,
    map_claims,
    role_map_problem,
    username_for,
)

ISS = "https://id.example.vn"
ROLE_MAP = {"giao_vien": "teacher", "hieu_truong": "school_admin", "phong_gd": "district_admin",
            "ky_thuat": "facility_manager", "truc_ban": "control_room", "khach": "exchange"}


@pytest.mark.parametrize(("claims", "role", "school", "refused"), [
    ({"sub": "u1", "roles": ["giao_vien"], "school": "thcs-a"}, "teacher", "thcs-a", None),
    ({"sub": "u1", "roles": "giao_vien", "school": "THCS-A "}, "teacher", "thcs-a", None),
    # the widest mapped role wins; unknown values are ignored
    ({"sub": "u1", "roles": ["giao_vien", "hieu_truong", "x"], "school": "thcs-a"},
     "school_admin", "thcs-a", None),
    ({"sub": "u1", "roles": ["phong_gd", "giao_vien"], "school": "thcs-a"},
     "district_admin", None, None),
    # district-wide roles get no school even when the claim names one
    ({"sub": "u1", "roles": ["truc_ban"], "school": "thcs-a"}, "control_room", None, None),
    ({"sub": "u1", "roles": ["ky_thuat"], "school": "thcs-b"}, "facility_manager", "thcs-b",
     None),
    ({"sub": "u1", "roles": ["giao_vien"]}, None, None, "names none"),
    ({"sub": "u1", "roles": ["giao_vien"], "school": ""}, None, None, "names none"),
    ({"sub": "u1", "roles": ["giao_vien"], "school": "a b/c"}, None, None, "not a school code"),
    ({"sub": "u1", "roles": ["x"], "school": "thcs-a"}, None, None, "no hub role"),
    ({"sub": "u1"}, None, None, "roles: none"),
    ({"sub": "u1", "roles": 7}, None, None, "no hub role"),
    # a machine role in the map is never granted through the provider
    ({"sub": "u1", "roles": ["khach"]}, None, None, "no hub role"),
    ({"roles": ["phong_gd"]}, None, None, "no subject"),
    ({"sub": "", "roles": ["phong_gd"]}, None, None, "no subject"),
])
def test_claims_map_to_a_role_and_school(claims, role, school, refused) -> None:
    if refused:
        with pytest.raises(MappingRefused, match=refused):
            map_claims(claims, issuer=ISS, role_claim="roles", school_claim="school",
                       role_map=ROLE_MAP)
        return
    identity = map_claims(claims, issuer=ISS, role_claim="roles", school_claim="school",
                          role_map=ROLE_MAP)
    assert (identity.role, identity.school) == (role, school)
    assert identity.subject == claims["sub"]


@pytest.mark.parametrize(("claims", "path", "expected"), [
    ({"roles": ["a"]}, "roles", ["a"]),
    ({"realm_access": {"roles": ["a"]}}, "realm_access.roles", ["a"]),
    ({"realm_access.roles": ["b"], "realm_access": {"roles": ["a"]}}, "realm_access.roles",
     ["b"]),
    ({"realm_access": ["a"]}, "realm_access.roles", None),
    ({}, "x.y", None),
])
def test_claim_paths(claims, path, expected) -> None:
    assert claim_at(claims, path) == expected


def test_a_name_the_hub_cannot_store_is_left_out() -> None:
    identity = map_claims({"sub": "u", "roles": ["phong_gd"], "name": "a\x00b"}, issuer=ISS,
                          role_claim="roles", school_claim="school", role_map=ROLE_MAP)
    assert identity.full_name is None


@pytest.mark.parametrize(("role_map", "problem"), [
    ({"a": "teacher", "b": "district_admin"}, None),
    ({"a": "exchange"}, "a=exchange"),
    ({"a": "root"}, "a=root"),
])
def test_role_map_grants_people_roles_only(role_map, problem) -> None:
    found = role_map_problem(role_map)
    assert (found is None) if problem is None else (problem in (found or ""))


def _identity(preferred: str | None) -> Identity:
    return Identity(issuer=ISS, subject="abc", role="teacher", school="thcs-a", full_name=None,
                    preferred_username=preferred, provider_roles=("giao_vien",))


@pytest.mark.parametrize(("preferred", "taken", "derived"), [
    ("gv.an", False, False),
    ("gv.an", True, True),  # a local account of that name is never taken over
    ("admin", False, True),
    ("Kiosk", False, True),
    ("sso-123", False, True),
    ("has space", False, True),
    (None, False, True),
])
def test_usernames(preferred, taken, derived) -> None:
    name = username_for(_identity(preferred), taken=taken)
    assert name.startswith(DERIVED_PREFIX) is derived
    if not derived:
        assert name == preferred
    # derived names are stable per (issuer, subject)
    assert name == username_for(_identity(preferred), taken=taken)


ALGS = ("RS256", "ES256")


@pytest.mark.parametrize(("header", "problem"), [
    ({"alg": "RS256", "kid": "k"}, None),
    ({"alg": "ES256"}, None),
    ({"alg": "none"}, "alg none"),
    ({"alg": "None"}, "alg none"),
    ({"alg": "HS256"}, "shared secret"),
    ({"alg": "hs512"}, "shared secret"),
    ({"alg": "RS512"}, "not one of RS256, ES256"),
    ({}, "no algorithm"),
    ({"alg": ""}, "no algorithm"),
    ({"alg": 5}, "no algorithm"),
    ({"alg": "RS256", "kid": 5}, "key id"),
])
def test_header_decisions(header, problem) -> None:
    found = header_problem(header, ALGS)
    assert (found is None) if problem is None else (problem in (found or ""))


NOW = 1_800_000_000.0
AUD = "urn:smartschool:api"
GOOD = {"iss": ISS, "aud": AUD, "sub": "u1", "exp": NOW + 60, "iat": NOW - 5}


@pytest.mark.parametrize(("change", "problem"), [
    ({}, None),
    ({"aud": [AUD, "other"]}, None),
    ({"exp": NOW - 10}, None),  # within the leeway
    ({"iss": "https://other.example"}, "wrong issuer"),
    ({"iss": None}, "wrong issuer"),
    ({"aud": "other"}, "wrong audience"),
    ({"aud": ["other"]}, "wrong audience"),
    ({"aud": None}, "wrong audience"),
    ({"exp": NOW - 31}, "expired"),
    ({"exp": None}, "no expiry"),
    ({"exp": "soon"}, "no expiry"),
    ({"exp": True}, "no expiry"),
    ({"nbf": NOW + 120}, "not valid yet"),
    ({"nbf": NOW + 10}, None),
    ({"iat": NOW + 120}, "issued in the future"),
    ({"sub": None}, "no subject"),
    ({"sub": ""}, "no subject"),
])
def test_claims_decisions(change, problem) -> None:
    claims = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    found = claims_problem(claims, issuer=ISS, audience=AUD, now=NOW, leeway=30)
    assert (found is None) if problem is None else (problem in (found or ""))


@pytest.mark.parametrize(("header", "claims", "issuer", "provider"), [
    ({"alg": "HS256"}, {"sub": "admin"}, ISS, False),  # the hub's own token
    ({"alg": "RS256"}, {"iss": ISS}, ISS, True),
    ({"alg": "none"}, {"sub": "admin"}, ISS, True),  # refused there, not by the HS256 check
    ({"alg": "HS256"}, {"iss": ISS}, ISS, True),  # claims the provider: its checks refuse HS
    ({"alg": "RS256"}, {"iss": ISS}, None, False),  # no provider configured
])
def test_which_check_a_bearer_token_gets(header, claims, issuer, provider) -> None:
    assert is_provider_token(header, claims, issuer) is provider


@pytest.mark.parametrize(("issuer", "problem"), [
    ("https://id.haiphong.edu.vn", None),
    ("https://id.example.vn/realms/edu", None),
    ("http://127.0.0.1:9000", None),
    ("http://localhost:9000", None),
    ("http://[::1]:9000", None),
    ("http://id.example.vn", "https only"),
    ("http://10.0.0.5", "https only"),
    ("ftp://id.example.vn", "not an http(s) URL"),
    ("id.example.vn", "not an http(s) URL"),
    ("https://", "not an http(s) URL"),
])
def test_the_issuer_is_reached_over_https(issuer, problem) -> None:
    found = issuer_problem(issuer)
    assert (found is None) if problem is None else (problem in (found or ""))
