"""The pure parts of the API's limits and contract: which limit a request gets, how a
download is named, which methods a 405 lists."""

from __future__ import annotations

import pytest

from hub.api.limits import JSON_LIMIT, bearer, declared_length, limit_for
from hub.api.methods import allowed, path_methods
from hub.api.responses import attachment
from hub.api.routes.enrollments import MAX_PHOTO_BYTES, MAX_PHOTOS
from hub.api.routes.records import MAX_IMPORT_BYTES


@pytest.mark.parametrize("method, path, upload, at_least", [
    ("POST", "/api/v1/records/import", True, MAX_IMPORT_BYTES),
    ("POST", "/api/v1/students/HS001/face", True, MAX_PHOTOS * MAX_PHOTO_BYTES),
    ("GET", "/api/v1/students/HS001/face", False, JSON_LIMIT),
    ("DELETE", "/api/v1/students/HS001/face", False, JSON_LIMIT),
    ("POST", "/api/v1/students/HS001/face/extra", False, JSON_LIMIT),
    ("POST", "/api/v1/records/import/", False, JSON_LIMIT),
    ("POST", "/api/v1/users", False, JSON_LIMIT),
    ("POST", "/api/v1/auth/token", False, JSON_LIMIT),
])
def test_limit_for(method: str, path: str, upload: bool, at_least: int) -> None:
    limit = limit_for(method, path)
    assert limit.upload is upload
    assert limit.max_bytes >= at_least
    if not upload:
        assert limit.max_bytes == JSON_LIMIT


@pytest.mark.parametrize("headers, expected", [
    ([(b"content-length", b"10")], 10),
    ([(b"Content-Length", b"52428800")], 52_428_800),
    ([(b"content-length", b"ten")], None),
    ([(b"transfer-encoding", b"chunked")], None),
    ([], None),
])
def test_declared_length(headers: list[tuple[bytes, bytes]], expected: int | None) -> None:
    assert declared_length(headers) == expected


@pytest.mark.parametrize("value, expected", [
    (b"Bearer abc.def", "abc.def"),
    (b"bearer   abc", "abc"),
    (b"Basic YWRtaW46eA==", None),
    (b"Bearer ", None),
    (b"Bearer", None),
])
def test_bearer(value: bytes, expected: str | None) -> None:
    assert bearer([(b"authorization", value)]) == expected
    assert bearer([]) is None


@pytest.mark.parametrize("name, fallback, encoded", [
    ("so-diem-danh-6A1-2026-12-07.csv", "so-diem-danh-6A1-2026-12-07.csv",
     "so-diem-danh-6A1-2026-12-07.csv"),
    ("so-diem-danh-Lớp Mầm 1-2026-12-07.xlsx", "so-diem-danh-Lop Mam 1-2026-12-07.xlsx",
     "so-diem-danh-L%E1%BB%9Bp%20M%E1%BA%A7m%201-2026-12-07.xlsx"),
    ("Đội \"A\";x.csv", "Doi _A__x.csv", "%C4%90%E1%BB%99i%20%22A%22%3Bx.csv"),
])
def test_attachment(name: str, fallback: str, encoded: str) -> None:
    header = attachment(name)
    assert header == f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    header.encode("latin-1")  # a header must be Latin-1; this one is plain ASCII


PATHS = {
    "/api/v1/students/{code}/consents": {"get": {}, "post": {}},
    "/api/v1/students/{code}/consents/withdraw": {"post": {}},
    "/api/v1/students/{code}": {"get": {}, "parameters": []},
}


@pytest.mark.parametrize("path, expected", [
    ("/api/v1/students/HS1/consents", ["GET", "POST"]),
    ("/api/v1/students/HS1/consents/withdraw", ["POST"]),
    ("/api/v1/students/HS1", ["GET"]),
    ("/api/v1/students", []),
    ("/api/v1/students/a/b/consents", []),
])
def test_allowed_methods(path: str, expected: list[str]) -> None:
    assert allowed(path_methods(PATHS), path) == expected
