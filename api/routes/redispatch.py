"""Intraday re-dispatch of a stored schedule: the rest of its day from the measured state.

The stored schedule is the plan (its case, curve and summary); :mod:`vpp.redispatch`
makes the re-dispatch case, which is then solved and stored as any schedule
(``POST /v1/schedules`` with that case), so it is read back the same way.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import AppSettings, DbSession, Runner, Scheduler
from api.errors import InvalidInputError
from api.routes.schedules import _get, solve_schedule
from api.routing import StrictRoute
from api.schemas import (
    ERRORS,
    ErrorBody,
    JobAccepted,
    ScheduleCreated,
    ScheduleRequest,
    SolveOptionsIn,
)
from api.store import curve_csv
from vpp.errors import CaseError, Problem

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], route_class=StrictRoute)


class RedispatchRequest(BaseModel):
    """The re-dispatch time and the state measured then (as ``vpp redispatch --state`` reads it)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=True)

    at: str = Field(alias="from", description="HH:MM, a step boundary of the schedule's day (local time).",
                    examples=["12:00"])
    state: dict[str, Any] = Field(description="The measured state: batteries, thermal_storage, flexible_loads, "
                                  "shiftable_loads, curtailable_loads, demand_response, peak_to_date_mw.")
    options: SolveOptionsIn = Field(default_factory=SolveOptionsIn)
    run_async: bool = Field(False, alias="async", description="Answer 202 with a job at once.")


def _case(schedule: Any, body: RedispatchRequest) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """The re-dispatch case of a stored schedule (422 with ``from`` or ``state.…`` paths) and the
    day-ahead regulation offers it holds."""
    from vpp.redispatch import (
        STATE_STEPS,
        from_step,
        held_offers,
        plan_from_parts,
        redispatch_case,
        state_of,
    )

    plan = plan_from_parts(schedule.case, curve_csv(schedule.series), schedule.summary, f"schedule {schedule.id}")
    try:
        k = from_step(plan.case, body.at, "from")
        case = redispatch_case(plan, k, state_of(body.state), at=body.at)
        held = {name: band.tolist() for name, band in held_offers(plan, k).items()}
    except CaseError as exc:
        state = exc.step in STATE_STEPS
        problems = [Problem(f"state.{p.path}" if state and p.path else "state" if state else p.path, p.message)
                    for p in exc.problems]
        raise InvalidInputError(f"{len(problems)} problem(s) while {exc.step}", problems, step=exc.step) from None
    return json.loads(case.to_json(indent=None)), held


@router.post(
    "/{schedule_id}/redispatch",
    status_code=201,
    response_model=ScheduleCreated,
    responses={**ERRORS, 404: {"model": ErrorBody},
               202: {"model": JobAccepted, "description": "Accepted: solving in the background."},
               409: {"model": ErrorBody, "description": "No schedule: infeasible, or the time limit passed without one."},
               413: {"model": ErrorBody, "description": "Body larger than VPP_MAX_BODY_BYTES."}},
    summary="Re-dispatch the rest of a schedule's day from the measured state",
)
async def redispatch_schedule(schedule_id: str, body: RedispatchRequest, who: Scheduler, session: DbSession,
                              settings: AppSettings, runner: Runner, request: Request) -> Any:
    """Solve the rest of the day from ``from`` against the schedule's declared plan, stored as a new schedule."""
    schedule = await run_in_threadpool(_get, session, schedule_id)
    case, held = await run_in_threadpool(_case, schedule, body)
    solve = ScheduleRequest.model_validate({"case": case, "options": body.options.model_dump(exclude_none=True),
                                            "async": body.run_async})
    return await solve_schedule(solve, who, settings, runner, request, held=held)
