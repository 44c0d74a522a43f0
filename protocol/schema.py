"""JSON Schema of every payload type, as `smartschool protocol schema` writes it."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from protocol.messages import Payload


def payload_schema() -> dict[str, Any]:
    schema = TypeAdapter(Payload).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "smartschool protocol v1 payload"
    return schema
