"""Edge devices and their effective state (status, Last Will and silence combined)."""

from __future__ import annotations

from fastapi import APIRouter

from hub.api.deps import ConnDep, ContextDep, SchoolFilterDep
from hub.api.responses import AUTHED
from hub.read import queries
from hub.read.queries import DevicePublic

router = APIRouter(prefix="/api/v1", tags=["devices"], responses=AUTHED)


@router.get("/devices", response_model=list[DevicePublic])
def read_devices(ctx: ContextDep, conn: ConnDep, schools: SchoolFilterDep) -> list[DevicePublic]:
    if schools.matches_nothing:
        return []
    return queries.list_devices(
        conn,
        school=schools.school,
        offline_gate_s=ctx.settings.offline_after_gate_s,
        offline_classroom_s=ctx.settings.offline_after_classroom_s,
    )
