"""Keyset paging of the history lists (issue 15): events, dead letters, notifications and
alarms. Their answers stay JSON lists, as old clients read them; a full page carries the
cursor of the next one in the ``X-Next-Cursor`` header, which the client sends back as
``cursor``. No offsets: a page starts after the last row shown, so rows arriving at the
top meanwhile neither shift nor repeat the pages below."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import HTTPException, Query, Response, status

from hub.api.context import ApiContext
from hub.exchange import cursor as cursors

HEADER: Final = "X-Next-Cursor"

CursorParam = Annotated[str | None, Query(
    min_length=1, max_length=cursors.MAX_LEN,
    description=f"The {HEADER} header of the previous page: the page after it")]

PAGED: Final[dict[int | str, dict[str, Any]]] = {200: {"headers": {HEADER: {
    "description": "Present when the page is full: send it as `cursor` for the next page",
    "schema": {"type": "string"}}}}}


def after(ctx: ApiContext, cursor: str | None, *, purpose: str,
          types: tuple[type[cursors.KeyValue], ...]) -> tuple[cursors.KeyValue, ...] | None:
    """The sort key to continue after, or None for the first page; 422 (an invalid
    parameter) for a cursor the hub did not hand out for this list."""
    if cursor is None:
        return None
    try:
        return cursors.decode_keys(cursor, key=ctx.secret, purpose=purpose, types=types)
    except cursors.CursorError as exc:
        raise HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                            detail=f"cursor: {exc}") from exc


def set_next(response: Response, ctx: ApiContext, *, purpose: str, full: bool,
             last: tuple[cursors.KeyValue, ...] | None) -> None:
    if full and last is not None:
        response.headers[HEADER] = cursors.encode_keys(last, key=ctx.secret, purpose=purpose)
