"""The gate's local card list: UID -> person code and card status, from YAML or CSV.

YAML, either a mapping or a list::

    04A1B2C3: {person: th-hai-thanh-00001, status: active}
    - {uid: "04:a1:b2:c3", person: th-hai-thanh-00002, status: lost, kind: student}

CSV with a header row ``uid,person,status[,kind]`` (status may be left empty: active).
``kind`` is ``student`` (the default) or ``staff``: staff pass outside opening hours.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from core.configbase import StrictModel
from edge.gate.policy import CardEntry
from protocol.ids import InvalidUid, normalise_uid
from protocol.sync import CardStatus, PersonKind


class CardListError(ValueError):
    """The card list cannot be used; the message names the file and the row."""


class CardRow(StrictModel):
    uid: str = Field(min_length=1, max_length=64, description="Card UID, hex, any separators")
    person: str = Field(min_length=1, max_length=64, description="Person code in the records")
    status: CardStatus = Field(default="active", description="active, blocked or lost")
    kind: PersonKind = Field(
        default="student", description="student or staff (staff pass outside opening hours)"
    )


def _rows_from_yaml(path: Path) -> Iterable[tuple[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CardListError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return []
    if isinstance(data, Mapping):
        rows: list[tuple[str, Any]] = []
        for uid, value in data.items():
            if not isinstance(value, Mapping):
                raise CardListError(f"{path}:{uid}: expected {{person: ..., status: ...}}")
            # YAML reads an all-digit UID such as 12345678 as an int.
            rows.append((str(uid), {"uid": str(uid), **value}))
        return rows
    if isinstance(data, list):
        return [(f"item {i}", item) for i, item in enumerate(data)]
    raise CardListError(f"{path}: expected a mapping or a list of cards")


def _rows_from_csv(path: Path) -> Iterable[tuple[str, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"uid", "person"} - set(reader.fieldnames or ())
        if missing:
            raise CardListError(f"{path}: CSV header lacks {', '.join(sorted(missing))}")
        rows = []
        for row in reader:
            cleaned = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
            rows.append((f"line {reader.line_num}", cleaned))
        return rows


def load_cards(path: Path) -> dict[str, CardEntry]:
    """The card table keyed by normalised UID. Duplicated UIDs are an error, not a guess."""
    try:
        rows = _rows_from_csv(path) if path.suffix.lower() == ".csv" else _rows_from_yaml(path)
    except OSError as exc:
        raise CardListError(f"{path}: cannot read: {exc.strerror or exc}") from None
    table: dict[str, CardEntry] = {}
    for where, raw in rows:
        if not isinstance(raw, Mapping):
            raise CardListError(f"{path}:{where}: expected a mapping with uid and person")
        try:
            row = CardRow.model_validate(
                {k: str(v) if k == "uid" else v for k, v in raw.items()}
            )
            uid = normalise_uid(row.uid)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "row"
            raise CardListError(f"{path}:{where}:{field}: {first['msg']}") from None
        except InvalidUid as exc:
            raise CardListError(f"{path}:{where}:uid: {exc}") from None
        if uid in table:
            raise CardListError(f"{path}:{where}:uid: {uid} is listed twice")
        table[uid] = CardEntry(person=row.person, status=row.status, kind=row.kind)
    return table
