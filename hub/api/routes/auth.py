"""Token issue: the OAuth2 password flow, with a throttle on failed attempts."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from hub.accounts.auth import authenticate, create_token
from hub.accounts.rules import client_address, trusted_networks
from hub.api.deps import TOKEN_URL, ConnDep, ContextDep
from hub.api.models import ErrorPublic, TokenPublic
from hub.api.responses import TOO_LARGE, UNAVAILABLE

router = APIRouter(tags=["auth"])

FormDep = Annotated[OAuth2PasswordRequestForm, Depends()]


@router.post(
    TOKEN_URL,
    response_model=TokenPublic,
    responses={
        401: {"model": ErrorPublic, "description": "Wrong username or password"},
        429: {"model": ErrorPublic, "description": "Too many failed attempts"},
        **TOO_LARGE, **UNAVAILABLE,
    },
)
def issue_token(ctx: ContextDep, conn: ConnDep, form: FormDep, request: Request) -> TokenPublic:
    # Behind a configured proxy, the address it forwarded (SMARTSCHOOL_TRUSTED_PROXIES).
    client = client_address(request.client.host if request.client else None,
                            request.headers.get("x-forwarded-for"),
                            trusted_networks(ctx.settings.trusted_proxies))
    # Case-folded so "Admin" and "admin" share one quota.
    key = (form.username.casefold(), client)
    wait = ctx.login_limiter.retry_after(key)
    if wait > 0:
        retry = max(math.ceil(wait), 1)
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many failed logins for this account from your address; "
            f"try again in {retry} s",
            headers={"Retry-After": str(retry)},
        )
    user = authenticate(conn, username=form.username, password=form.password)
    if user is None:
        ctx.login_limiter.record_failure(key)
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    ctx.login_limiter.reset(key)
    ttl = ctx.token_ttl
    return TokenPublic(
        access_token=create_token(username=user.username, secret=ctx.secret, ttl=ttl,
                                  password_version=user.password_version),
        expires_in=int(ttl.total_seconds()),
    )
