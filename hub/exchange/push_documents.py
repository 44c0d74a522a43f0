"""What the push sends: the daily attendance aggregate (a document of its own, the feed
has per-pupil days only) and the envelope around each push's documents. No I/O.

Like hub/exchange/documents.py, the schemas are versioned files under docs/exchange/v1
(``smartschool exchange schema`` writes them with the feed's), kept equal to these models
by tests/unit/test_exchange_push_documents.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal

from pydantic import Field

from hub.exchange.documents import SCHEMA_VERSION, KpiSnapshotDoc
from hub.models import ApiModel

PushKind = Literal["attendance_daily_aggregate", "kpi_snapshot"]
PUSH_KINDS: Final[tuple[PushKind, ...]] = ("attendance_daily_aggregate", "kpi_snapshot")


class AttendanceDailyAggregateDoc(ApiModel):
    """One school's day as counted after its absent cutoff, by the attendance rules (the
    same counts as /api/v1/attendance/summary)."""

    school: str = Field(description="The district's school code")
    day: dt.date
    school_day: bool = Field(description="False on a holiday or weekend of this school")
    enrolled: int = Field(ge=0, description="Pupils on the roll that day (0 on a day "
                                            "without school)")
    present: int = Field(ge=0, description="Arrived by the late cutoff")
    late: int = Field(ge=0, description="Arrived after the late cutoff")
    absent: int = Field(ge=0, description="Not arrived and not excused")
    excused: int = Field(ge=0)
    pending: int = Field(ge=0, description="Not arrived yet, before the absent cutoff "
                                           "(0 once the cutoff has passed)")


# The schema each push kind's documents follow (the file under docs/exchange/v1).
DOCUMENT_SCHEMAS: Final[dict[PushKind, str]] = {
    "attendance_daily_aggregate": "daily-attendance-aggregates",
    "kpi_snapshot": "kpi-snapshots",
}
PERIODS: Final[dict[PushKind, Literal["day", "month"]]] = {
    "attendance_daily_aggregate": "day",
    "kpi_snapshot": "month",
}


class PushEnvelope(ApiModel):
    """The body of one push: a kind's documents for one period. The same delivery (same
    ``delivery_id``, same bytes) may arrive more than once; apply it once."""

    schema_version: int = Field(description="The exchange schemas' version (docs/exchange/v1)")
    delivery_id: str = Field(description="The same on every retry of this delivery: "
                                          "deduplicate on it")
    endpoint: str = Field(description="The endpoint's name at the hub")
    kind: PushKind
    schema_id: str = Field(description="$id of the schema the documents follow")
    period: dt.date = Field(description="The day, or the month's first day")
    period_type: Literal["day", "month"]
    generated_at: dt.datetime
    documents: list[AttendanceDailyAggregateDoc] | list[KpiSnapshotDoc]


def schema_id(name: str) -> str:
    return f"urn:smartschool:exchange:v{SCHEMA_VERSION}:{name}"


_FILES: Final[dict[str, type[ApiModel]]] = {
    "daily-attendance-aggregates": AttendanceDailyAggregateDoc,
    "push-delivery": PushEnvelope,
}


def push_schema_files() -> dict[str, dict[str, Any]]:
    """Relative path (under docs/exchange/) -> schema, for the push's own documents."""
    return {
        f"v{SCHEMA_VERSION}/{name}.schema.json": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": schema_id(name),
            **model.model_json_schema(mode="serialization"),
        }
        for name, model in _FILES.items()
    }
