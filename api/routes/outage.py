"""What an outage would cost: the outage study of a stored schedule, as a background job (role operator).

``POST /v1/schedules/{id}/outage`` queues a study of outages of up to ``hours``
starting at every step of the schedule (``vpp outage``); the job's ``result``
is the study's summary section (:func:`vpp.microgrid.study.study_section`):
per schedule (without and with the reserve), the survival curve and the
critical energy at risk by start step, and the reserve's cost.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.db import Schedule
from api.deps import AppSettings, DbSession, Runner, Scheduler
from api.errors import InvalidInputError
from api.jobs import new_job
from api.routes.schedules import _accepted, _get, _store_job
from api.routing import StrictRoute
from api.schemas import ERRORS, ErrorBody, JobAccepted, _Strict

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], route_class=StrictRoute)


class OutageStudyRequest(_Strict):
    """Outages of up to ``hours`` from every step of the schedule; a reserve to compare with."""

    hours: float = Field(4.0, gt=0, description="The longest outage simulated [h] (from one step up).")
    backup_hours: float = Field(None, gt=0, le=8760, description="The backup reserve to compare with [h] (default: the "  # type: ignore[assignment]
                                "schedule's own); the day is solved again with it and without any.")
    other_cny_per_mwh: float = Field(None, ge=0, description="Price of shedding the non-critical load in an outage "  # type: ignore[assignment]
                                     "[CNY/MWh] (default: a tenth of the value of lost load).")


def _check(schedule: Schedule, body: OutageStudyRequest) -> None:
    """The study's inputs against the schedule's case (422 naming the field)."""
    from vpp.case import load_case
    from vpp.microgrid.study import study_problems
    from vpp.microgrid.survival import OTHER_SHARE_OF_VOLL

    case = load_case(schedule.case)
    other = body.other_cny_per_mwh if body.other_cny_per_mwh is not None else case.voll_cny_per_mwh * OTHER_SHARE_OF_VOLL
    problems = study_problems(case, body.hours, other, backup_hours=body.backup_hours)
    if problems:
        raise InvalidInputError(f"{len(problems)} problem(s) in the outage study", problems)


@router.post(
    "/{schedule_id}/outage",
    status_code=202,
    response_model=JobAccepted,
    responses={**ERRORS, 404: {"model": ErrorBody},
               413: {"model": ErrorBody, "description": "Body larger than VPP_MAX_BODY_BYTES."}},
    summary="Simulate an outage from every step of a schedule (a background job)",
)
async def create_outage_study(schedule_id: str, body: OutageStudyRequest, who: Scheduler, session: DbSession,
                              settings: AppSettings, runner: Runner, request: Request) -> Any:
    """Queue the study; 202 with the job, whose ``result`` is the study when done."""
    schedule = await run_in_threadpool(_get, session, schedule_id)
    await run_in_threadpool(_check, schedule, body)
    params = {"schedule_id": schedule.id, "case": schedule.case, "series": schedule.series,
              "objective_cny": schedule.objective_cny, "mip_gap": (schedule.summary or {}).get("mip_gap"),
              "time_limit_s": min(settings.default_time_limit_s, settings.max_time_limit_s),
              **body.model_dump(exclude_none=True)}
    job = new_job("outage", params, created_by=who.name)
    await run_in_threadpool(_store_job, request, job)
    runner.wake()
    return _accepted(job)
