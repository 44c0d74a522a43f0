"""Single sign-on's decisions (issue 15). Pure: no network, no database, no crypto.

- ``map_claims``: the provider's claims -> the hub role and school the person gets
  (SMARTSCHOOL_OIDC_ROLE_CLAIM, _SCHOOL_CLAIM, _ROLE_MAP). A person with no mapped role,
  or school staff without a valid school, is refused, never let in with a guess.
- ``header_problem`` and ``claims_problem``: whether a token the provider is said to
  have signed may be believed, before (algorithm pinned) and after its signature is
  checked (issuer, audience, expiry).
- ``is_provider_token``: which of the API's two kinds of bearer token this is.

Table-tested in tests/unit/test_oidc_rules.py; hub/accounts/oidc.py does the I/O.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from hub.access import ROLES, SCHOOL_SCOPED_ROLES
from hub.accounts.rules import UsersError, normalise_full_name, valid_username
from protocol.ids import is_valid_id

# When the provider names several roles that map, the person gets the widest: the order
# is the one a district would appoint in (a school admin who also teaches administers).
ROLE_PRECEDENCE: Final = ("district_admin", "control_room", "school_admin",
                          "facility_manager", "teacher")
# Seconds of clock difference tolerated between the provider and the hub.
LEEWAY_S: Final = 30
# The hub's own tokens (hub.accounts.auth) are HS256; everything else is the provider's.
LOCAL_ALGORITHM: Final = "HS256"
# A username made from the provider's identity when its preferred one is unusable.
DERIVED_PREFIX: Final = "sso-"
# Names the hub gives meaning to: never a provider account's, whoever holds them now.
RESERVED_USERNAMES: Final = frozenset(("admin", "kiosk"))


class MappingRefused(Exception):
    """The provider vouched for this person but the hub has no place for them."""


@dataclass(frozen=True, slots=True)
class Identity:
    """A person as the provider's claims describe them, mapped to the hub's terms."""

    issuer: str
    subject: str
    role: str
    school: str | None
    full_name: str | None
    preferred_username: str | None
    provider_roles: tuple[str, ...]


def claim_at(claims: Mapping[str, object], path: str) -> object:
    """A claim by name, or by a dotted path into objects (``realm_access.roles``). A
    claim whose own name has a dot is found first."""
    if path in claims:
        return claims[path]
    node: object = claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def provider_roles(value: object) -> tuple[str, ...]:
    """The role values of a claim: one string, or a list of them (others are ignored)."""
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str) and v)
    return ()


def role_map_problem(role_map: Mapping[str, str]) -> str | None:
    """SMARTSCHOOL_OIDC_ROLE_MAP may grant only people's roles: a machine's (exchange)
    is an account the district creates, never one a provider hands out."""
    bad = sorted(f"{k}={v}" for k, v in role_map.items() if v not in ROLES)
    if bad:
        return (f"SMARTSCHOOL_OIDC_ROLE_MAP: {', '.join(bad)}: map to one of "
                f"{', '.join(sorted(ROLES))}")
    return None


def issuer_problem(issuer: str) -> str | None:
    """The provider's keys are fetched from the issuer: over plain HTTP anyone on the path
    could hand the hub keys of their own, and with them any token. Loopback (a provider
    on the same machine, the tests') is the one exception."""
    parts = urlsplit(issuer)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname:
        if parts.hostname == "localhost":
            return None
        try:
            if ipaddress.ip_address(parts.hostname).is_loopback:
                return None
        except ValueError:
            pass
        return f"SMARTSCHOOL_OIDC_ISSUER {issuer}: https only (http on loopback only)"
    return f"SMARTSCHOOL_OIDC_ISSUER {issuer!r} is not an http(s) URL"


def map_claims(claims: Mapping[str, object], *, issuer: str, role_claim: str,
               school_claim: str, role_map: Mapping[str, str]) -> Identity:
    """The hub identity of a verified token's claims; MappingRefused says why not."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise MappingRefused("the provider's token names no subject")
    values = provider_roles(claim_at(claims, role_claim))
    mapped = {role_map[v] for v in values if v in role_map and role_map[v] in ROLES}
    if not mapped:
        shown = ", ".join(values) if values else "none"
        raise MappingRefused(f"no hub role for the provider's role ({role_claim}: {shown})")
    role = next(r for r in ROLE_PRECEDENCE if r in mapped)
    school: str | None = None
    if role in SCHOOL_SCOPED_ROLES:
        raw = claim_at(claims, school_claim)
        if not isinstance(raw, str) or not raw:
            raise MappingRefused(f"a {role} acts for one school, and the provider's "
                                 f"{school_claim} claim names none")
        school = raw.strip().lower()
        if not is_valid_id(school):
            raise MappingRefused(f"{school_claim} {raw!r} is not a school code")
    name = claims.get("name")
    try:
        full_name = normalise_full_name(name) if isinstance(name, str) else None
    except UsersError:
        full_name = None  # a name the hub cannot store is left out, not a refusal
    preferred = claims.get("preferred_username")
    return Identity(issuer=issuer, subject=subject, role=role, school=school,
                    full_name=full_name,
                    preferred_username=preferred if isinstance(preferred, str) else None,
                    provider_roles=values)


def username_for(identity: Identity, *, taken: bool) -> str:
    """The hub username of a newly linked person: their preferred one where it is a
    valid hub username nobody holds yet; else one derived from (issuer, subject). A
    local account is never taken over by a provider account that shares its name."""
    preferred = identity.preferred_username
    if preferred and valid_username(preferred) and not preferred.startswith(DERIVED_PREFIX) \
            and preferred.casefold() not in RESERVED_USERNAMES and not taken:
        return preferred
    digest = hashlib.sha256(f"{identity.issuer}\0{identity.subject}".encode()).hexdigest()
    return DERIVED_PREFIX + digest[:20]


# --- tokens ------------------------------------------------------------------------------


def is_provider_token(header: Mapping[str, object], claims: Mapping[str, object],
                      issuer: str | None) -> bool:
    """Read from the unverified token, only to choose the check: the hub's own tokens
    are HS256 with no issuer. A token claiming the provider's issuer, or any other
    algorithm, goes through the provider's checks, which refuse HS* and none outright, so
    a forged token cannot pick the weaker check by its header."""
    if issuer is None:
        return False
    return header.get("alg") != LOCAL_ALGORITHM or "iss" in claims


def header_problem(header: Mapping[str, object], algorithms: Sequence[str]) -> str | None:
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        return "the token names no algorithm"
    if alg.lower() == "none":
        return "an unsigned token (alg none) is refused"
    if alg.upper().startswith("HS"):
        return (f"algorithm {alg} is refused: the provider signs with its private key, "
                "never a shared secret")
    if alg not in algorithms:
        return f"algorithm {alg} is not one of {', '.join(algorithms)}"
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        return "the token's key id is not a string"
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def claims_problem(claims: Mapping[str, object], *, issuer: str, audience: str, now: float,
                   leeway: float = LEEWAY_S) -> str | None:
    """After the signature: is the token the provider's, for us, and current?"""
    iss = claims.get("iss")
    if iss != issuer:
        return f"wrong issuer {iss!r}: tokens of {issuer} only"
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if audience not in audiences:
        return f"wrong audience {aud!r}: the token is not for {audience}"
    exp = _number(claims.get("exp"))
    if exp is None:
        return "the token has no expiry"
    if exp + leeway <= now:
        return "token expired"
    nbf = claims.get("nbf")
    if nbf is not None:
        start = _number(nbf)
        if start is None or start - leeway > now:
            return "the token is not valid yet"
    iat = claims.get("iat")
    if iat is not None:
        issued = _number(iat)
        if issued is None or issued - leeway > now:
            return "the token was issued in the future"
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        return "the token names no subject"
    return None
