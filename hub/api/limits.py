"""Limits before work: a request body larger than its route allows is refused with 413,
and an upload without a valid token with 401, before the body is read.

An ASGI middleware, so nothing (FastAPI's form parser, python-multipart's spooled temporary
files) sees a byte past the limit: a declared Content-Length over it is refused at once,
and the bytes actually received are counted, for a chunked body without Content-Length
and for one whose Content-Length lies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

from hub.accounts.auth import InvalidTokenError, decode_token
from hub.api.context import ApiContext
from hub.api.routes.enrollments import MAX_PHOTO_BYTES, MAX_PHOTOS
from hub.api.routes.records import MAX_IMPORT_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Every JSON body the API takes (a correction, an account, a guardian's contact) is well
# under a kilobyte; the login form too.
JSON_LIMIT: Final = 64 * 1024
# Multipart framing around the files: part headers, the form fields.
MULTIPART_OVERHEAD: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limit:
    max_bytes: int
    upload: bool  # a file upload: refused without a valid token before a byte is read


_UPLOADS: Final = (
    (re.compile(r"^/api/v1/records/import$"), Limit(MAX_IMPORT_BYTES + MULTIPART_OVERHEAD, True)),
    (re.compile(r"^/api/v1/students/[^/]+/face$"),
     Limit(MAX_PHOTOS * MAX_PHOTO_BYTES + MULTIPART_OVERHEAD, True)),
)
_DEFAULT: Final = Limit(JSON_LIMIT, upload=False)


def limit_for(method: str, path: str) -> Limit:
    """The body limit of a request; uploads are POSTs, anything else gets the JSON limit."""
    if method == "POST":
        for pattern, limit in _UPLOADS:
            if pattern.match(path):
                return limit
    return _DEFAULT


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The Content-Length the client declared; None if absent or not a number."""
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


class _TooLarge(Exception):  # a signal inside the middleware, never raised out of it
    pass


class BodyLimits:
    """The ASGI middleware: registered first in hub.api.app, so it wraps every route."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["method"], scope["path"])
        headers = scope.get("headers", [])
        if limit.upload and not self._token_valid(scope, bearer(headers)):
            await _answer(send, 401, "sign in first: uploads need a valid bearer token",
                          [(b"www-authenticate", b"Bearer")])
            return
        declared = declared_length(headers)
        if declared is not None and declared > limit.max_bytes:
            await _answer(send, 413, _too_large(limit))
            return

        received = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            # Once the limit is crossed, whatever the app answers (FastAPI turns a failed
            # body read into 400) is replaced by the 413 that says why.
            if exceeded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _answer(send, 413, _too_large(limit))

    @staticmethod
    def _token_valid(scope: Scope, token: str | None) -> bool:
        if token is None:
            return False
        ctx = scope["app"].state.ctx
        assert isinstance(ctx, ApiContext)
        try:
            decode_token(token, secret=ctx.secret)
        except InvalidTokenError:
            return False
        return True


def _too_large(limit: Limit) -> str:
    return f"request body over this route's limit of {limit.max_bytes} bytes"


async def _answer(send: Send, code: int, detail: str,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start",
        "status": code,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    # The unread body stays on the connection: the client must not reuse it.
                    (b"connection", b"close"), *(extra or [])],
    })
    await send({"type": "http.response.body", "body": body})
