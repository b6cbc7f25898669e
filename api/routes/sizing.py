"""Storage sizing: submit a study (role planner); it runs as a job whose result is ``sizing.json``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from api.db import Job
from api.deps import AppSettings, Planner, Runner
from api.errors import BusyError, InvalidInputError, UnavailableError
from api.jobs import new_job
from api.routes.schedules import _accepted, _case_size, _store_job, _validate
from api.routing import StrictRoute
from api.schemas import ERRORS, ErrorBody, JobAccepted, SizingRequestIn
from api.settings import Settings
from vpp.errors import CaseError, Problem

router = APIRouter(prefix="/v1/sizing", tags=["sizing"], route_class=StrictRoute)


def _params(body: SizingRequestIn, settings: Settings) -> dict[str, Any]:
    """The job's parameters: the request as ``vpp size`` takes it, with the server's scheduler and time limits."""
    limit = body.time_limit_s
    if limit is None:
        limit = min(settings.default_time_limit_s, settings.max_time_limit_s)
    elif limit > settings.max_time_limit_s:
        raise InvalidInputError(
            "the solver time limit is above the service's limit",
            [Problem("time_limit_s", f"at most {settings.max_time_limit_s:g} s (VPP_MAX_TIME_LIMIT_S), got {limit:g}")])
    params = body.model_dump(exclude_none=True, exclude={"template", "case", "time_limit_s"})
    if body.case is not None:
        params.update(case="inline", case_data=body.case)
    else:
        params["case"] = body.template
    params.update(time_limit_s=limit, scheduler=settings.sizing_scheduler, workers=None)
    return params


def _check(params: dict[str, Any]) -> None:
    """Everything about the request that is quick to check: the overrides, the sweep's grammar, the series' table."""
    from pydantic import ValidationError

    from vpp.sizing import SizingRequest
    from vpp.sizing.schema import economics_from, load_defaults, parse_sweep
    from vpp.sizing.year import read_year_series

    try:
        request = SizingRequest.model_validate(params)
    except ValidationError as exc:
        problems = [Problem(".".join(str(x) for x in e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
        raise InvalidInputError(f"{len(problems)} problem(s) in the sizing request", problems) from None
    try:
        economics_from(load_defaults(request.overrides())[0])
        if request.sweep is not None:
            parse_sweep(request.sweep)
        if request.series is not None:
            read_year_series(request.series_source())
    except CaseError as exc:
        raise InvalidInputError(f"{len(exc.problems)} problem(s) in the sizing request",
                                exc.problems, step=exc.step) from None


#: Retry-After of a 429 when the sizing studies are at their limit [s]: a study takes minutes.
SIZING_RETRY_AFTER_S = 60


def _open_studies(request: Request, kind: str = "sizing") -> int:
    """How many jobs of ``kind`` are queued or running."""
    with request.app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(Job)
                        .where(Job.kind == kind, Job.status.in_(("queued", "running")))) or 0


@router.post(
    "",
    status_code=202,
    response_model=JobAccepted,
    responses={**ERRORS, 413: {"model": ErrorBody, "description": "Body larger than VPP_MAX_BODY_BYTES."},
               429: {"model": ErrorBody, "description": "VPP_MAX_SIZING_JOBS studies are queued or running already."},
               503: {"model": ErrorBody, "description": "This server runs no studies (VPP_STUDY_WORKERS=0)."}},
    summary="Size storage: a year of days, the economics (a background job)",
)
async def create_sizing(body: SizingRequestIn, who: Planner, settings: AppSettings, runner: Runner,
                        request: Request) -> Any:
    """Queue a sizing study; 202 with the job, whose ``result`` is ``sizing.json`` when done."""
    if not settings.study_workers:
        raise UnavailableError("this server runs no studies (VPP_STUDY_WORKERS=0: its workers are kept for "
                               "schedules); submit the study to a server that runs them")
    params = _params(body, settings)
    if body.case is not None:
        _case_size(body.case, settings)
        await run_in_threadpool(_validate, body.case)
    await run_in_threadpool(_check, params)
    return await queue_study(request, runner, settings, new_job("sizing", params, created_by=who.name), "sizing studies")


async def queue_study(request: Request, runner: Any, settings: Settings, job: Job, what: str) -> Any:
    """Queue a planner's study (202), or refuse it (429) when VPP_MAX_SIZING_JOBS of its kind are open."""
    if await run_in_threadpool(_open_studies, request, job.kind) >= settings.max_sizing_jobs:
        raise BusyError(f"{settings.max_sizing_jobs} {what} are queued or running, the most this service takes "
                        "at once (VPP_MAX_SIZING_JOBS); submit again later",
                        headers={"Retry-After": str(SIZING_RETRY_AFTER_S)})
    await run_in_threadpool(_store_job, request, job)
    runner.wake()
    return _accepted(job)
