"""The signed-in account."""

from __future__ import annotations

from fastapi import APIRouter

from hub.api.deps import CurrentUser
from hub.api.models import UserPublic

router = APIRouter(prefix="/api/v1", tags=["users"])


@router.get("/me", response_model=UserPublic)
def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic(
        username=user.username, role=user.role, school=user.school_id, full_name=user.full_name
    )
