"""Limits before work, seen from the wire: a real uvicorn serving the real app on a real
PostgreSQL. A client that streams a large body slowly must get its 401 or 413 while
most of the body is still unsent: proof the server did not read it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from core.settings import Settings
from hub.accounts.auth import create_token, ensure_admin
from hub.api.app import create_app
from hub.api.limits import JSON_LIMIT, BodyLimits
from hub.workbooks import MAX_UNCOMPRESSED_BYTES
from tests.integration.api_server import serving
from tests.unit.test_upload_limits import _bomb, _with_sheet

pytestmark = pytest.mark.integration

SECRET = "limits-secret-" + "z" * 40
CHUNK = 64 * 1024
DECLARED = 50 * 1024 * 1024  # what the client says it will send


@pytest.fixture
def api(pg_url: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        ensure_admin(conn, password="limits-admin-pass")
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET),
                     database_url=pg_url, mqtt_display="mqtt://127.0.0.1:1883")
    with serving(app) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


def _admin_token() -> str:
    return create_token(username="admin", secret=SECRET, ttl=timedelta(hours=1))


def _stream(address: tuple[str, int], head: str, *, chunked: bool = False,
            limit: int = DECLARED) -> tuple[bytes, int]:
    """Send ``head``, then body chunks until the server answers; (answer, bytes sent)."""
    sent = 0
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(head.encode())
        sock.settimeout(0.2)
        while sent < limit:
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                answer = b""
            if answer:
                return _rest(sock, answer), sent
            payload = b"x" * CHUNK
            try:
                sock.sendall(f"{len(payload):x}\r\n".encode() + payload + b"\r\n"
                             if chunked else payload)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += CHUNK
        sock.settimeout(10)
        return _rest(sock, sock.recv(65536)), sent


def _rest(sock: socket.socket, answer: bytes) -> bytes:
    # The refusal closes the connection: read up to its end.
    sock.settimeout(10)
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_an_anonymous_upload_is_refused_before_its_body_is_read(api: tuple[str, int]) -> None:
    head = (f"POST /api/v1/records/import HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {DECLARED}\r\n\r\n")
    answer, sent = _stream(api, head)
    assert _status(answer) == 401, answer
    assert b"bearer token" in answer
    assert sent < DECLARED // 10, f"{sent} bytes went out before the refusal"


def test_a_forged_token_does_not_open_the_upload(api: tuple[str, int]) -> None:
    forged = create_token(username="admin", secret="not-the-hub-secret-" + "q" * 30,
                          ttl=timedelta(hours=1))
    head = (f"POST /api/v1/students/HS1/face HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {forged}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {DECLARED}\r\n\r\n")
    answer, sent = _stream(api, head)
    assert _status(answer) == 401, answer
    assert sent < DECLARED // 10


def test_a_declared_length_over_the_limit_is_refused_at_once(api: tuple[str, int]) -> None:
    too_big = 200 * 1024 * 1024
    head = (f"POST /api/v1/records/import HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {_admin_token()}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {too_big}\r\n\r\n")
    answer, sent = _stream(api, head)
    assert _status(answer) == 413, answer
    assert b"limit of" in answer
    assert sent < DECLARED // 10


def test_a_chunked_body_is_counted_and_cut_at_the_limit(api: tuple[str, int]) -> None:
    # No Content-Length: only counting the bytes as they arrive can stop it.
    head = ("POST /api/v1/users HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {_admin_token()}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    answer, sent = _stream(api, head, chunked=True)
    assert _status(answer) == 413, answer
    assert sent < 20 * JSON_LIMIT, f"{sent} bytes went out before the refusal"


def test_a_lying_content_length_does_not_get_more_through() -> None:
    # ASGI level: a server that hands over whatever arrives, whatever the header said.
    reads: list[int] = []
    answers: list[dict[str, Any]] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        while True:  # reads the whole body, as a form or JSON parser does
            message = await receive()
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    async def receive() -> dict[str, Any]:
        reads.append(CHUNK)
        return {"type": "http.request", "body": b"{" * CHUNK, "more_body": len(reads) < 100}

    async def send(message: dict[str, Any]) -> None:
        answers.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/users",
             "headers": [(b"content-length", b"10"), (b"content-type", b"application/json")]}
    asyncio.run(BodyLimits(route)(scope, receive, send))
    assert answers[0]["status"] == 413
    assert b"limit of" in answers[1]["body"]
    assert sum(reads) <= JSON_LIMIT + CHUNK, "the middleware kept reading past the limit"


def test_a_zip_bomb_import_is_a_422_naming_the_limit(api: tuple[str, int], pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into schools (id, name, level, ward, start_time)"
                     " values ('thcs-a', 'THCS A', 'thcs', 'Phường 1', '07:00')")
    bomb = _with_sheet(_bomb)
    r = httpx.post(f"http://{api[0]}:{api[1]}/api/v1/records/import",
                   headers={"Authorization": f"Bearer {_admin_token()}"},
                   data={"school": "thcs-a", "kind": "students"},
                   files={"file": ("bomb.xlsx", bomb)}, timeout=30)
    assert r.status_code == 422, r.text
    assert any(f"the limit is {MAX_UNCOMPRESSED_BYTES}" in e for e in r.json()["errors"])
