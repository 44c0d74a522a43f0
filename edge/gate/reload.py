"""``reload-config`` on a gate, the pure part: which settings changed, which of them apply
live, and the gate config they make. The agent swaps the result in under its lock.

Live means the next tap or frame uses it and nothing is half-applied: directions, hours,
anti-passback, pulse length and the face thresholds. Anything else (the broker, the
reader, the camera, the mode) needs a restart, and the reply says which paths.
"""

from __future__ import annotations

from typing import Any

from edge.config import AgentConfig, GateConfig

# Settings reload-config applies without a restart (dotted paths in the YAML); any
# other change is reported back as needing one.
LIVE_SETTINGS = (
    "gate.direction",
    "gate.anti_passback_minutes",
    "gate.hours",
    "gate.face_fresh_s",
    "gate.relay.pulse_s",
    "gate.face.tolerance",
    "gate.face.margin",
    "gate.face.agree",
    "gate.face.window",
)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict) or not data:
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def changed_settings(old: AgentConfig, new: AgentConfig) -> list[str]:
    """Dotted paths whose value differs between two configs (lists compare whole)."""
    before, after = _flatten(old.model_dump(mode="json")), _flatten(new.model_dump(mode="json"))
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def is_live(path: str) -> bool:
    return any(path == live or path.startswith(live + ".") for live in LIVE_SETTINGS)


def sort_changes(old: AgentConfig, new: AgentConfig) -> dict[str, list[str]]:
    """The changed paths, as reload-config answers them: applied live, or needing a restart."""
    changed = changed_settings(old, new)
    return {"applied": [path for path in changed if is_live(path)],
            "needs_restart": [path for path in changed if not is_live(path)]}


def live_gate(current: GateConfig, new: GateConfig) -> GateConfig:
    """``current`` with the live settings of ``new``; everything else stays as it runs."""
    face = current.face
    if face is not None and new.face is not None:
        face = face.model_copy(update={
            "tolerance": new.face.tolerance, "margin": new.face.margin,
            "agree": new.face.agree, "window": new.face.window,
        })
    return current.model_copy(update={
        "direction": new.direction,
        "anti_passback_minutes": new.anti_passback_minutes,
        "hours": new.hours,
        "face_fresh_s": new.face_fresh_s,
        "relay": current.relay.model_copy(update={"pulse_s": new.relay.pulse_s}),
        "face": face,
    })
