"""The exchange schemas in the repository (docs/exchange/) are the models' own, and the
documents the models make validate against them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest

from hub.exchange.documents import KINDS, MODELS, SCHEMA_VERSION, json_schema, schema_files

ROOT = Path(__file__).resolve().parents[2] / "docs" / "exchange"


@pytest.mark.parametrize("name", sorted(schema_files()))
def test_files_match_the_models(name: str) -> None:
    on_disk = json.loads((ROOT / name).read_text(encoding="utf-8"))
    assert on_disk == schema_files()[name], (
        f"{name} differs from the models: run smartschool exchange schema --out docs/exchange "
        "(and a new SCHEMA_VERSION if a consumer could trip over the change)")


def test_every_kind_has_a_versioned_schema() -> None:
    assert len(schema_files()) == len(KINDS) == len(MODELS)
    assert all(name.startswith(f"v{SCHEMA_VERSION}/") for name in schema_files())
    assert {s["$id"] for s in schema_files().values()} == {
        f"urn:smartschool:exchange:v{SCHEMA_VERSION}:{n}" for n in
        ("schools", "learners", "staff", "daily-attendance", "equipment-inventory",
         "kpi-snapshots", "lesson-attendance")}


AT = dt.datetime(2025, 9, 8, 6, 50, tzinfo=dt.UTC)
CASES = [
    ("school", {"code": "thcs-a", "name": "THCS A", "level": "thcs", "ward": "Hải Thành"}, True),
    ("school", {"code": "thcs-a", "name": "THCS A", "level": "dai_hoc", "ward": "x"}, False),
    ("learner", {"code": "a-p1", "school": "a", "full_name": "Nguyễn Văn An",
                 "birth_date": "2012-03-04", "gender": "M", "national_id": "001234567890",
                 "active": True}, True),
    ("learner", {"code": "a-p1", "school": "a", "full_name": "X", "birth_date": "2012-03-04",
                 "gender": "M", "national_id": "12345", "active": True}, False),
    ("staff", {"code": "a-s1", "school": "a", "full_name": "Trần Thị B", "active": True}, True),
    ("attendance_daily", {"learner": "a-p1", "school": "a", "day": "2025-09-08",
                          "first_in": AT.isoformat()}, True),
    ("attendance_daily", {"learner": "a-p1", "school": "a"}, False),
    ("equipment", {"tag": "PJ-1", "type": "projector", "school": "a", "status": "in_service",
                   "updated_at": AT.isoformat()}, True),
    ("equipment", {"tag": "PJ-1", "type": "fridge", "school": "a", "status": "in_service",
                   "updated_at": AT.isoformat()}, False),
    ("kpi_snapshot", {"month": "2025-09-01", "scope": "district", "scope_id": "",
                      "indicator": "attendance_rate", "numerator": 90, "denominator": 100,
                      "target": 0.95, "taken_at": AT.isoformat()}, True),
    ("kpi_snapshot", {"month": "2025-09-01", "scope": "province", "scope_id": "",
                      "indicator": "x", "numerator": 1, "denominator": 2, "target": 1,
                      "taken_at": AT.isoformat()}, False),
]


@pytest.mark.parametrize(("kind", "doc", "valid"), CASES)
def test_schema_and_model_agree(kind: str, doc: dict[str, object], valid: bool) -> None:
    validator = jsonschema.Draft202012Validator(json_schema(kind),  # type: ignore[arg-type]
                                                format_checker=jsonschema.FormatChecker())
    assert validator.is_valid(doc) is valid
    if valid:
        made = MODELS[kind].model_validate(doc).model_dump(mode="json")  # type: ignore[index]
        assert validator.is_valid(made)
