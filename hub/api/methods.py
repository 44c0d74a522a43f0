"""405 answers name every method the path takes.

Starlette stops at the first route whose path matches and answers 405 with that route's
methods only: ``OPTIONS /students/X/consents`` said ``Allow: GET`` though POST is served
there too. This ASGI middleware rewrites the ``Allow`` header of a 405 from the OpenAPI
document, the list of what the API serves.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_HTTP_METHODS: Final = frozenset(
    ("get", "put", "post", "delete", "options", "head", "patch", "trace"))


def path_methods(paths: dict[str, Any]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each OpenAPI path template as a pattern, with the methods it documents."""
    table = []
    for template, operations in paths.items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        methods = frozenset(m.upper() for m in operations if m in _HTTP_METHODS)
        table.append((re.compile(f"^{pattern}$"), methods))
    return table


def allowed(table: list[tuple[re.Pattern[str], frozenset[str]]], path: str) -> list[str]:
    found: set[str] = set()
    for pattern, methods in table:
        if pattern.match(path):
            found |= methods
    return sorted(found)


class AllowedMethods:
    def __init__(self, app: App) -> None:
        self.app = app
        self._table: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = allowed(self._paths(scope), scope["path"])
                if methods:
                    headers = [(k, v) for k, v in message.get("headers", [])
                               if k.lower() != b"allow"]
                    headers.append((b"allow", ", ".join(methods).encode()))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_allow)

    def _paths(self, scope: Scope) -> list[tuple[re.Pattern[str], frozenset[str]]]:
        if self._table is None:
            # Built on the first 405, when every router is included.
            self._table = path_methods(scope["app"].openapi().get("paths", {}))
        return self._table
