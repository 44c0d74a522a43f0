"""Schools of the district, with their enrolment and device counts."""

from __future__ import annotations

from fastapi import APIRouter

from hub.api.deps import ConnDep, SchoolFilterDep
from hub.api.responses import AUTHED
from hub.read import queries
from hub.read.queries import SchoolPublic

router = APIRouter(prefix="/api/v1", tags=["schools"], responses=AUTHED)


@router.get("/schools", response_model=list[SchoolPublic])
def read_schools(conn: ConnDep, schools: SchoolFilterDep) -> list[SchoolPublic]:
    if schools.matches_nothing:
        return []
    # A district has tens of schools: filtering the full list here is cheaper than a query.
    return [s for s in queries.list_schools(conn) if schools.allows(s.id)]
