"""Equipment assets: the register with live state, metric charts, coverage, utilisation."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from hub.api.deps import ConnDep, ContextDep, Day, Moment, SchoolFilterDep
from hub.api.responses import AUTHED, NOT_FOUND
from hub.api.routes import alarms, work_orders
from hub.equipment import assets, series, utilisation
from hub.equipment.assets import AssetPublic, CoveragePublic
from hub.equipment.series import SeriesPoint
from hub.equipment.utilisation import Utilisation

assets_router = APIRouter(prefix="/api/v1", tags=["equipment"], responses=AUTHED)

TAG_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
METRIC_PATTERN: Final = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"
MAX_SPAN: Final = dt.timedelta(days=400)
DEFAULT_SPAN: Final = dt.timedelta(hours=24)
# A literal: Starlette renamed the constant (…_ENTITY -> …_CONTENT) across versions.
UNPROCESSABLE: Final = 422


class MetricSeriesPublic(BaseModel):
    asset: str
    metric: str
    bucket: str
    start: dt.datetime
    end: dt.datetime
    points: list[SeriesPoint]


@assets_router.get("/assets", response_model=list[AssetPublic])
def read_assets(ctx: ContextDep, conn: ConnDep, schools: SchoolFilterDep) -> list[AssetPublic]:
    if schools.matches_nothing:
        return []
    return assets.list_assets(
        conn, school=schools.school,
        offline_gate_s=ctx.settings.offline_after_gate_s,
        offline_classroom_s=ctx.settings.offline_after_classroom_s,
    )


@assets_router.get("/assets/{tag}/metrics", response_model=MetricSeriesPublic,
                   responses=NOT_FOUND)
def read_asset_metrics(
    ctx: ContextDep,
    conn: ConnDep,
    schools: SchoolFilterDep,
    tag: Annotated[str, Path(pattern=TAG_PATTERN)],
    metric: Annotated[str, Query(pattern=METRIC_PATTERN, max_length=100)],
    start: Annotated[Moment | None, Query(alias="from")] = None,
    end: Annotated[Moment | None, Query(alias="to")] = None,
    bucket: Literal["auto", "raw", "5m", "1h"] = "auto",
) -> MetricSeriesPublic:
    asset = assets.get_asset(conn, tag)
    if asset is None or not schools.allows(asset.school_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"asset {tag} not found")
    now = dt.datetime.now(ctx.tz)
    end_at = _aware(end, ctx.tz) if end else now
    start_at = _aware(start, ctx.tz) if start else end_at - DEFAULT_SPAN
    if start_at >= end_at:
        raise HTTPException(UNPROCESSABLE, "'from' must be before 'to'")
    if end_at - start_at > MAX_SPAN:
        raise HTTPException(UNPROCESSABLE,
                            f"at most {MAX_SPAN.days} days per query")
    chosen = series.choose_bucket(end_at - start_at) if bucket == "auto" else bucket
    subjects = [tag] + ([asset.device_id] if asset.device_id else [])
    points = series.series(conn, subjects=subjects, metric=metric, start=start_at,
                           end=end_at, bucket=chosen)
    return MetricSeriesPublic(asset=tag, metric=metric, bucket=chosen, start=start_at,
                              end=end_at, points=points)


@assets_router.get("/equipment/coverage", response_model=CoveragePublic)
def read_coverage(conn: ConnDep, schools: SchoolFilterDep) -> CoveragePublic:
    if schools.matches_nothing:
        return CoveragePublic(schools=[], district=assets.CoverageRow(
            school_id="*", assets=0, complete=0, share=0.0))
    return assets.coverage(conn, school=schools.school)


@assets_router.get("/equipment/utilisation", response_model=list[Utilisation])
def read_utilisation(
    ctx: ContextDep,
    conn: ConnDep,
    schools: SchoolFilterDep,
    date: Annotated[Day | None, Query(description="Local day, YYYY-MM-DD; default today")]
    = None,
) -> list[Utilisation]:
    if schools.matches_nothing:
        return []
    day = date or dt.datetime.now(ctx.tz).date()
    return utilisation.utilisation(conn, day=day, tz=ctx.settings.timezone,
                                   school=schools.school)


def _aware(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    # A time without an offset is the district's wall-clock time.
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


# Everything of issue #6 behind one router, so the app registers it with one line.
router = APIRouter()
for _part in (assets_router, alarms.router, work_orders.router):
    router.include_router(_part)
