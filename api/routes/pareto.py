"""The cost–carbon front (role planner): a job solving a day from least cost to least emission."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.deps import AppSettings, Planner, Runner
from api.errors import InvalidInputError
from api.jobs import new_job
from api.routes.schedules import _case_size, _validate
from api.routes.sizing import queue_study
from api.routing import StrictRoute
from api.schemas import ERRORS, DayRequest, ErrorBody, JobAccepted
from vpp.cases import TEMPLATES
from vpp.errors import Problem

router = APIRouter(prefix="/v1/pareto", tags=["pareto"], route_class=StrictRoute)


class ParetoIn(DayRequest):
    """A ``template`` with a ``date``, or a canonical ``case``; the number of points of the front."""

    points: int = Field(6, ge=2, le=25, description="Points of the front, both ends included.")
    mip_gap: float = Field(1e-6, ge=0, lt=1, description="Relative MIP gap of every solve [-].")
    time_limit_s: float = Field(None, gt=0, description="Time limit of every solve [s]; default VPP_DEFAULT_TIME_LIMIT_S.")  # type: ignore[assignment]


@router.post("", status_code=202, response_model=JobAccepted,
             responses={**ERRORS, 429: {"model": ErrorBody, "description": "VPP_MAX_SIZING_JOBS fronts are queued or running already."}},
             summary="The cost–carbon front of a day (a background job)")
async def create_front(body: ParetoIn, who: Planner, settings: AppSettings, runner: Runner, request: Request) -> Any:
    """Queue the front; 202 with the job, whose ``result`` is ``front.json``'s content."""
    params: dict[str, Any] = {"points": body.points, "mip_gap": body.mip_gap,
                              "time_limit_s": study_time_limit(body.time_limit_s, settings)}
    params |= await study_day(body, settings)
    return await queue_study(request, runner, settings, new_job("pareto", params, created_by=who.name), "fronts")


def study_time_limit(requested: float | None, settings: Any) -> float:
    """A study's time limit per solve [s]: the one requested (at most VPP_MAX_TIME_LIMIT_S, 422 otherwise) or the default."""
    limit = requested if requested is not None else min(settings.default_time_limit_s, settings.max_time_limit_s)
    if limit > settings.max_time_limit_s:
        raise InvalidInputError("the solver time limit is above the service's limit", [Problem(
            "time_limit_s", f"at most {settings.max_time_limit_s:g} s (VPP_MAX_TIME_LIMIT_S), got {limit:g}")])
    return limit


async def study_day(body: DayRequest, settings: Any) -> dict[str, Any]:
    """A study's day: the ``case`` (its size and validity checked, 413/422) or the ``template`` and ``date``."""
    if body.case is not None:
        _case_size(body.case, settings)
        await run_in_threadpool(_validate, body.case)
        return {"case": body.case}
    return {"template": body.template, "date": body.date or TEMPLATES[body.template].tomorrow().isoformat()}
