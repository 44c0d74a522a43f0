"""The answers routes document besides their success: one place, so the OpenAPI document
says what every route really returns (tests/integration/test_api_contract.py holds the
API to it).

Routers declare the set every route of theirs shares (``AUTHED``: a token is needed, the
database may be away, parameters are validated); routes add what only they answer
(``FORBIDDEN``, ``NOT_FOUND``, ``CONFLICT``, ``TOO_LARGE``) with ``|``.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Final
from urllib.parse import quote

from hub.models import ApiModel

Responses = dict[int | str, dict[str, Any]]


class ProblemPublic(ApiModel):
    """A refusal: what was wrong, in words."""

    detail: str


class ValidationItemPublic(ApiModel):
    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class InvalidPublic(ApiModel):
    """422: FastAPI's list of parameter errors, a rule's message, or (a photo upload) a
    structured refusal."""

    detail: str | list[ValidationItemPublic] | dict[str, Any]


def _problem(description: str) -> dict[str, Any]:
    return {"model": ProblemPublic, "description": description}


BAD_REQUEST: Final[Responses] = {400: {"model": InvalidPublic,
                                       "description": "The body cannot be parsed"}}
UNAUTHORIZED: Final[Responses] = {401: _problem("No token, or an expired or unknown one")}
FORBIDDEN: Final[Responses] = {403: _problem("The account's role or school may not do this")}
NOT_FOUND: Final[Responses] = {404: _problem("Not there, or not visible to this account")}
CONFLICT: Final[Responses] = {409: _problem("The current state does not allow this")}
TOO_LARGE: Final[Responses] = {413: _problem("The body, a file or a sheet exceeds a limit")}
INVALID: Final[Responses] = {422: {"model": InvalidPublic,
                                   "description": "Invalid parameters or body"}}
UNAVAILABLE: Final[Responses] = {503: _problem("The database is unavailable; retry later")}

# Every route that needs a signed-in account (any body over the limit is a 413:
# hub.api.limits; an exchange account is refused everything but the feed, a 403).
AUTHED: Final[Responses] = (BAD_REQUEST | UNAUTHORIZED | FORBIDDEN | INVALID | TOO_LARGE
                            | UNAVAILABLE)

CSV: Final = "text/csv; charset=utf-8"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def downloads(model: type[Any] | None = None) -> Responses:
    """A 200 that is JSON (``model``) or, with ``format=csv|xlsx``, a file."""
    content: dict[str, Any] = {CSV: {"schema": {"type": "string"}},
                               XLSX: {"schema": {"type": "string", "format": "binary"}}}
    answer: dict[str, Any] = {"description": "JSON, or the CSV or XLSX file asked for",
                              "content": content}
    if model is not None:
        answer["model"] = model
    return {200: answer}


def attachment(filename: str) -> str:
    """A Content-Disposition for a download named ``filename`` (RFC 6266).

    HTTP headers are Latin-1: a class name such as "Lớp Mầm 1" goes in ``filename*`` as
    UTF-8, percent-encoded (RFC 8187), with an ASCII ``filename`` for old clients.
    """
    folded = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    ascii_name = "".join(
        c if c.isascii() and (c.isalnum() or c in "._- ") else "_"
        for c in folded if not unicodedata.combining(c)
    )
    return (f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(filename, safe='')}")
