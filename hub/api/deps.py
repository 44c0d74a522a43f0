"""Dependencies the routes declare through `Annotated` aliases."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from hub.access import FEED_ROLES, MACHINE_ROLES
from hub.accounts.auth import InvalidTokenError, User, decode_token, get_user, token_current
from hub.accounts.oidc import OidcError, ProviderUnavailable
from hub.api.context import ApiContext
from hub.db import Conn
from protocol import ids

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret
# Waiting longer than this for a pooled connection means the database is in trouble: the
# request fails with 503 instead of hanging a worker thread.
POOL_TIMEOUT_S = 5.0

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL)


def get_context(request: Request) -> ApiContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, ApiContext)  # set by create_app before any request
    return ctx


ContextDep = Annotated[ApiContext, Depends(get_context)]


def get_conn(ctx: ContextDep) -> Iterator[Conn]:
    with ctx.pool.connection(timeout=POOL_TIMEOUT_S) as conn:
        yield conn


ConnDep = Annotated[Conn, Depends(get_conn)]
TokenDep = Annotated[str, Depends(_bearer)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def get_signed_in(ctx: ContextDep, conn: ConnDep, token: TokenDep) -> User:
    # Single sign-on (issue 15): the provider's access token, checked against its keys
    # and mapped to the linked account (created or brought in line with the claims).
    if ctx.oidc is not None and ctx.oidc.claims_this(token):
        try:
            linked = ctx.oidc.user(conn, token)
        except ProviderUnavailable as exc:
            raise HTTPException(status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                                detail=str(exc), headers={"Retry-After": "5"}) from exc
        except OidcError as exc:
            raise _unauthorized(str(exc)) from exc
        return linked
    try:
        claims = decode_token(token, secret=ctx.secret)
    except InvalidTokenError as exc:
        raise _unauthorized(str(exc)) from exc
    # Looked up on every request so disabling or deleting an account takes effect at once,
    # not when its tokens expire.
    user = get_user(conn, username=claims.username)
    if user is None or user.disabled:
        raise _unauthorized("account unknown or disabled")
    if not token_current(claims, user):
        raise _unauthorized("the password changed since this token was issued; sign in again")
    return user


# Exchange with the city (issue 15): a machine account (hub/access.py MACHINE_ROLES) may
# read the change feed and nothing else, so every other route's user is a person.
def get_current_user(user: Annotated[User, Depends(get_signed_in)]) -> User:
    if user.role in MACHINE_ROLES:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN,
                            detail="an exchange account may read only the change feed")
    return user


def get_feed_reader(user: Annotated[User, Depends(get_signed_in)]) -> User:
    if user.role not in FEED_ROLES:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN,
                            detail="the change feed is for exchange accounts and district admins")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
FeedReader = Annotated[User, Depends(get_feed_reader)]


# School and device ids are topic segments (docs/protocol.md); checking the rule up front
# also keeps NUL bytes, which PostgreSQL refuses with an error (a 500), out of SQL
# parameters.
ID_PATTERN = f"^{ids.ID_PATTERN.pattern}$"


@dataclass(frozen=True, slots=True)
class SchoolFilter:
    """Which schools a list shows: the caller's scope narrowed by the `school` parameter.

    Filters only narrow: a school-scoped account asking for another school gets an empty
    list, the same answer as for an unknown school, never 403 and never more.
    """

    school: str | None  # None: every school
    matches_nothing: bool = False

    def allows(self, school: str) -> bool:
        return not self.matches_nothing and (self.school is None or self.school == school)


def get_school_filter(
    user: CurrentUser,
    school: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Only this school (its code)")
    ] = None,
) -> SchoolFilter:
    if not user.school_scoped:
        return SchoolFilter(school)
    scope = user.school_id
    if scope is None:
        # A scoped role without a school (inserted by hand; create_user refuses it) must
        # not fall through to the district view.
        return SchoolFilter(None, matches_nothing=True)
    if school is None or school == scope:
        return SchoolFilter(scope)
    return SchoolFilter(scope, matches_nothing=True)


SchoolFilterDep = Annotated[SchoolFilter, Depends(get_school_filter)]


# Days as the schema says (format: date) and within the years a register can hold:
# pydantic alone would take `date=0` as a Unix timestamp and year 1 as a day.
FIRST_DAY: Final = dt.date(2000, 1, 1)
LAST_DAY: Final = dt.date(2100, 12, 31)
# Exactly the calendar days of 2000-2100 (2000 is a leap year, 2100 is not), so the
# OpenAPI document states the bounds and a client can tell a valid day from the schema.
_YEAR = "(20[0-9]{2}|2100)"
DAY_PATTERN: Final = (
    f"^({_YEAR}-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    f"|{_YEAR}-(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    f"|{_YEAR}-02-(0[1-9]|1[0-9]|2[0-8])"
    "|20([02468][048]|[13579][26])-02-29)$"
)
_ISO_DAY: Final = re.compile(DAY_PATTERN)


def _iso_day_text(value: object) -> object:
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise ValueError(f"a day is YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}")


def _in_range(day: dt.date) -> dt.date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"a day between {FIRST_DAY} and {LAST_DAY}")
    return day


Day = Annotated[dt.date, BeforeValidator(_iso_day_text), AfterValidator(_in_range),
                WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN})]

# The same for a moment (format: date-time): ISO 8601 text, not a Unix timestamp.
_ISO_MOMENT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2})?")


def _iso_moment_text(value: object) -> object:
    if isinstance(value, dt.datetime) or (isinstance(value, str) and _ISO_MOMENT.match(value)):
        return value
    raise ValueError("a time is ISO 8601, YYYY-MM-DDTHH:MM[:SS][+07:00]")


def _moment_in_range(moment: dt.datetime) -> dt.datetime:
    _in_range(moment.date())
    return moment


Moment = Annotated[dt.datetime, BeforeValidator(_iso_moment_text),
                   AfterValidator(_moment_in_range)]
