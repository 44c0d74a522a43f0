"""Types and helpers shared by the config sections."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import StringConstraints, ValidationInfo

AssetTag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]

BASE_DIR_CONTEXT = "base_dir"


def resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """Relative paths in a device YAML are relative to that YAML, not to the cwd of systemd."""
    if value is None:
        return None
    value = value.expanduser()
    base = (info.context or {}).get(BASE_DIR_CONTEXT)
    if value.is_absolute() or base is None:
        return value
    return Path(base) / value
