"""A replayed day (role planner): plan a day ahead, live it with the actual PV and load, as a background job.

``POST /v1/replays`` queues ``vpp replay`` (:mod:`vpp.replay`) for a template's day
or a canonical case; the job's ``result`` is ``replay.json``'s content (each
strategy's realised cost by bill line, regulation payments included, deviations, energy not served) with
``replay.csv``'s table by column under ``table``. Bad actuals, a date outside
them or an option out of range fail the job with the problems named by field.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from api.deps import AppSettings, Planner, Runner
from api.jobs import new_job
from api.routes.pareto import study_day, study_time_limit
from api.routes.sizing import queue_study
from api.routing import StrictRoute
from api.schemas import ERRORS, DayRequest, ErrorBody, JobAccepted, _Strict

router = APIRouter(prefix="/v1/replays", tags=["replays"], route_class=StrictRoute)


class OutageIn(_Strict):
    """An unannounced outage of the supply point, as one scenario of the stochastic plan."""

    hours: float = Field(gt=0, le=24, description="Its length [h].")
    start: str = Field("18:00", pattern=r"^\d{1,2}:\d{2}$", description="Its start, HH:MM local time.")
    rate_per_year: float = Field(None, gt=0, description="Outages of the supply point a year; the scenario's "  # type: ignore[assignment]
                                 "probability is rate × hours / 8760 (default: an [assumed] 0.5).")


class ReplayIn(DayRequest):
    """A ``template`` with a ``date``, or a canonical ``case``; the actuals, the strategies, the outage."""

    actuals_csv: str = Field(None, max_length=2_000_000, description="The day's measured series as CSV text, "  # type: ignore[assignment]
                             "columns timestamp, load_mw, pv_mw [MW] (default: the template's synthetic year).")
    strategies: list[Literal["deterministic", "stochastic"]] = Field(
        ["deterministic", "stochastic"], min_length=1, description="The day-ahead strategies to replay.")
    every_minutes: int = Field(60, ge=1, le=1440, description="Re-dispatch interval [min]: the case's step or a multiple.")
    scenarios: int = Field(5, ge=1, le=50, description="Scenarios of the stochastic plan.")
    seed: int = Field(0, ge=0, description="Seed of the scenario draws.")
    outage: OutageIn = Field(None, description="An outage scenario; the day is then replayed with and without it.")  # type: ignore[assignment]
    mip_gap: float = Field(1e-4, ge=0, lt=1, description="Relative MIP gap of every solve [-].")
    time_limit_s: float = Field(None, gt=0, description="Time limit of every solve [s]; default VPP_DEFAULT_TIME_LIMIT_S.")  # type: ignore[assignment]


@router.post("", status_code=202, response_model=JobAccepted,
             responses={**ERRORS, 429: {"model": ErrorBody, "description": "VPP_MAX_SIZING_JOBS replays are queued or running already."}},
             summary="Replay a day: plan it, then re-dispatch through it with the actuals (a background job)")
async def create_replay(body: ReplayIn, who: Planner, settings: AppSettings, runner: Runner, request: Request) -> Any:
    """Queue the replay; 202 with the job, whose ``result`` is ``replay.json``'s content and the per-step table."""
    from vpp.replay import DEFAULT_OUTAGE_RATE_PER_YEAR, OUTAGE_RATE_SOURCE

    params: dict[str, Any] = body.model_dump(exclude_none=True, exclude={"case", "template", "date", "peak_to_date_mw",
                                                                         "dr_events"})
    params["time_limit_s"] = study_time_limit(body.time_limit_s, settings)
    if body.outage is not None:
        given = body.outage.rate_per_year is not None
        params["outage"] = {"hours": body.outage.hours, "start": body.outage.start,
                            "rate_per_year": body.outage.rate_per_year if given else DEFAULT_OUTAGE_RATE_PER_YEAR,
                            "rate_source": "[given] request" if given else OUTAGE_RATE_SOURCE}
    params |= await study_day(body, settings)
    return await queue_study(request, runner, settings, new_job("replay", params, created_by=who.name), "replays")
