"""Schedules: create (solve), read, list, and the 96-point curve as CSV."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.db import Job, Schedule
from api.deps import AppSettings, DbSession, Reader, Runner, Scheduler
from api.errors import InvalidInputError, NoScheduleError, NotFoundError
from api.jobs import JobRunner, new_job
from api.routing import StrictRoute
from api.schemas import (
    DATE_PATTERN,
    ERRORS,
    ErrorBody,
    JobAccepted,
    ScheduleCreated,
    ScheduleList,
    ScheduleOut,
    ScheduleRequest,
    parse_date,
)
from api.settings import Settings
from api.store import curve_csv
from vpp.case import validate_case
from vpp.cases import TEMPLATES
from vpp.errors import Problem

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], route_class=StrictRoute)

def links(schedule_id: str, job_id: str | None = None) -> dict[str, str]:
    out = {"self": f"/v1/schedules/{schedule_id}", "curve_csv": f"/v1/schedules/{schedule_id}/curve.csv",
           "case": f"/v1/schedules/{schedule_id}/case"}
    if job_id:
        out["job"] = f"/v1/jobs/{job_id}"
    return out


def _time_limit(body: ScheduleRequest, settings: Settings) -> float:
    limit = body.options.time_limit_s
    if limit is None:
        return min(settings.default_time_limit_s, settings.max_time_limit_s)
    if limit > settings.max_time_limit_s:
        raise InvalidInputError(
            "the solver time limit is above the service's limit",
            [Problem("options.time_limit_s",
                     f"at most {settings.max_time_limit_s:g} s (VPP_MAX_TIME_LIMIT_S), got {limit:g}")])
    return limit


def _case_size(case: dict[str, Any], settings: Settings) -> int:
    """steps × assets of a case body, after the size limits (422 above them)."""
    steps = case.get("steps")
    assets = case.get("assets")
    problems = []
    if isinstance(steps, int) and not isinstance(steps, bool) and steps > settings.max_steps:
        problems.append(Problem("case.steps", f"at most {settings.max_steps} steps (VPP_MAX_STEPS), got {steps}"))
    if isinstance(assets, list) and len(assets) > settings.max_assets:
        problems.append(Problem("case.assets", f"at most {settings.max_assets} assets (VPP_MAX_ASSETS), got {len(assets)}"))
    if problems:
        raise InvalidInputError("the case is larger than the service's limits", problems)
    n_steps = steps if isinstance(steps, int) else 0
    return n_steps * (len(assets) if isinstance(assets, list) else 0)


def _validate(case: dict[str, Any]) -> None:
    _, problems = validate_case(case)
    if problems:
        raise InvalidInputError(f"{len(problems)} problem(s) in the case",
                                [Problem(f"case.{p.path}" if p.path else "case", p.message) for p in problems],
                                step="reading the case")


def _store_job(request: Request, job: Job) -> None:
    with request.app.state.sessions() as s, s.begin():
        s.add(job)


def _load_job(request: Request, job_id: str) -> Job:
    with request.app.state.sessions() as s:
        return s.get(Job, job_id)


def _load_schedule(request: Request, schedule_id: str) -> Schedule | None:
    with request.app.state.sessions() as s:
        return s.get(Schedule, schedule_id)


def _accepted(job: Job) -> JSONResponse:
    body = JobAccepted(job_id=job.id, status="running" if job.status == "running" else "queued",
                       links={"job": f"/v1/jobs/{job.id}"})
    return JSONResponse(body.model_dump(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.post(
    "",
    status_code=201,
    response_model=ScheduleCreated,
    responses={**ERRORS,
               202: {"model": JobAccepted, "description": "Accepted: solving in the background (async, or a large case)."},
               409: {"model": ErrorBody, "description": "No schedule: infeasible, or the time limit passed without one."},
               413: {"model": ErrorBody, "description": "Body larger than VPP_MAX_BODY_BYTES."}},
    summary="Solve a day-ahead schedule",
)
async def create_schedule(body: ScheduleRequest, who: Scheduler, settings: AppSettings, runner: Runner,
                          request: Request) -> Any:
    """Solve ``case`` (or the ``template`` for ``date``); 201 with the summary, or 202 with a job."""
    return await solve_schedule(body, who, settings, runner, request)


async def solve_schedule(body: ScheduleRequest, who: Any, settings: Any, runner: Any, request: Request,
                         held: dict[str, list[float]] | None = None) -> Any:
    """:func:`create_schedule`; ``held``: first-stage decisions to hold by family name (a re-dispatch's
    day-ahead regulation offers, :func:`vpp.redispatch.held_offers`)."""
    limit = _time_limit(body, settings)
    options = {"mip_gap": body.options.mip_gap, "time_limit_s": limit}
    run_async = body.run_async
    if body.case is not None:
        size = _case_size(body.case, settings)
        await run_in_threadpool(_validate, body.case)
        params: dict[str, Any] = {"case": body.case, "options": options}
        run_async = run_async or size > settings.async_threshold_step_assets
    else:
        day = body.date or TEMPLATES[body.template].tomorrow().isoformat()  # tomorrow where the template lives
        params = {"template": body.template, "date": day, "options": options, **body.template_inputs()}
        if body.scenarios is not None:  # a stochastic day takes many solves: always in the background
            params["scenarios"] = body.scenarios.model_dump()
            run_async = True
    params["regulation"] = body.regulation
    params |= body.model_dump(include={"outage", "backup_hours"}, exclude_none=True)
    if held:
        params["held"] = held
    job = new_job("schedule", params, created_by=who.name)
    if run_async:
        await run_in_threadpool(_store_job, request, job)
        runner.wake()
        return _accepted(job)
    event = runner.register(job.id)
    try:
        await run_in_threadpool(_store_job, request, job)
        runner.wake()
        await _wait_for_end(request, runner, job.id, event, limit + settings.sync_wait_margin_s)
    finally:
        runner.unregister(job.id, event)
    try:
        stored = await run_in_threadpool(_load_job, request, job.id)
        schedule = await run_in_threadpool(_load_schedule, request, stored.schedule_id) if stored.schedule_id else None
    except SQLAlchemyError:  # the job is stored and runs: the caller follows it once the database answers
        return _accepted(job)
    job = stored
    if job.status == "done":
        created = ScheduleCreated(id=schedule.id, job_id=job.id, status=schedule.status, case=schedule.case_name,
                                  date=schedule.date, summary=schedule.summary, links=links(schedule.id, job.id))
        return JSONResponse(created.model_dump(), status_code=201, headers={"Location": f"/v1/schedules/{schedule.id}"})
    if job.status == "failed":
        _raise_failed(job)
    return _accepted(job)  # still queued or running: the caller follows the job


#: How often a synchronous request looks in the database for its job's end when another server may run it [s].
SYNC_POLL_S = 0.5


async def _wait_for_end(request: Request, runner: JobRunner, job_id: str, event: asyncio.Event,
                        timeout_s: float) -> None:
    """Until the job ends on this server (``event``) or, on PostgreSQL, on another one, or ``timeout_s`` passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (remaining := deadline - loop.time()) > 0:
        try:
            await asyncio.wait_for(event.wait(), timeout=min(remaining, SYNC_POLL_S) if runner.postgresql
                                   else remaining)
            return
        except TimeoutError:
            pass
        if runner.postgresql:  # several servers share the queue: the job may have run on another one
            try:
                stored = await run_in_threadpool(_load_job, request, job_id)
            except SQLAlchemyError:
                continue
            if stored is not None and stored.status in ("done", "failed"):
                return


def _raise_failed(job: Job) -> None:
    error = job.error or {}
    if error.get("error") == "case":
        problems = [Problem(p["path"], p["message"]) for p in error.get("problems", [])]
        raise InvalidInputError(job.reason or "invalid case", problems, job_id=job.id)
    raise NoScheduleError(job.reason or "the job failed", status=error.get("status", error.get("error", "failed")),
                          job_id=job.id, links={"job": f"/v1/jobs/{job.id}"})


@router.get("", response_model=ScheduleList, responses=ERRORS, summary="List schedules, newest first")
def list_schedules(
    who: Reader,
    session: DbSession,
    settings: AppSettings,
    date: Annotated[str | None, Query(pattern=DATE_PATTERN, description="Only this day (YYYY-MM-DD).")] = None,
    case: Annotated[str | None, Query(max_length=200, description="Only this case name or template.")] = None,
    limit: Annotated[int | None, Query(ge=1, description="Page size (default VPP_PAGE_SIZE, at most VPP_MAX_PAGE_SIZE).")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    size = min(limit or settings.page_size, settings.max_page_size)
    if date is not None:
        try:
            parse_date(date)
        except ValueError as exc:
            raise InvalidInputError("invalid query", [Problem("date", str(exc))]) from None
    if case is not None and "\x00" in case:
        raise InvalidInputError("invalid query", [Problem("case", "the text holds a NUL character (\\u0000)")])
    where = []
    if date is not None:
        where.append(Schedule.date == date)
    if case is not None:
        where.append((Schedule.case_name == case) | (Schedule.template == case))
    total = session.scalar(select(func.count()).select_from(Schedule).where(*where)) or 0
    rows = session.execute(
        select(Schedule.id, Schedule.created_at, Schedule.case_name, Schedule.date, Schedule.template,
               Schedule.status, Schedule.objective_cny)
        .where(*where).order_by(Schedule.created_at.desc(), Schedule.id.desc()).limit(size).offset(offset)
    ).all()
    items = [{"id": r.id, "created_at": r.created_at, "case": r.case_name, "date": r.date, "template": r.template,
              "status": r.status, "objective_cny": r.objective_cny, "links": {"self": f"/v1/schedules/{r.id}"}}
             for r in rows]
    nxt = None
    if offset + size < total:
        query = [f"limit={size}", f"offset={offset + size}"]
        if date is not None:
            query.append(f"date={date}")
        if case is not None:
            query.append(f"case={quote(case)}")
        nxt = "/v1/schedules?" + "&".join(query)
    return {"items": items, "total": total, "limit": size, "offset": offset, "next": nxt}


def _get(session: DbSession, schedule_id: str) -> Schedule:
    # no id is longer or holds a NUL (which PostgreSQL refuses to even compare)
    schedule = session.get(Schedule, schedule_id) if len(schedule_id) <= 36 and "\x00" not in schedule_id else None
    if schedule is None:
        raise NotFoundError(f"no schedule {schedule_id!r}")
    return schedule


@router.get("/{schedule_id}", response_model=ScheduleOut, responses={**ERRORS, 404: {"model": ErrorBody}},
            summary="A schedule: summary and per-step series")
def get_schedule(schedule_id: str, who: Reader, session: DbSession) -> Any:
    s = _get(session, schedule_id)
    return {"id": s.id, "job_id": s.job_id, "created_at": s.created_at, "case": s.case_name, "date": s.date,
            "template": s.template, "status": s.status, "objective_cny": s.objective_cny, "options": s.options,
            "summary": s.summary, "schedule": s.series, "links": links(s.id, s.job_id)}


@router.get("/{schedule_id}/curve.csv", response_class=Response,
            responses={**ERRORS, 404: {"model": ErrorBody}, 200: {"content": {"text/csv": {}}}},
            summary="The wide per-step curve (96 points for a 15-minute day) as CSV")
def get_curve(schedule_id: str, who: Reader, session: DbSession) -> Response:
    s = _get(session, schedule_id)
    return Response(curve_csv(s.series), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": content_disposition(f"{s.case_name}-{s.date}-curve.csv")})


def content_disposition(name: str) -> str:
    """An attachment header for any case name: an ASCII ``filename`` and the UTF-8 ``filename*`` (RFC 6266).

    A header must be Latin-1 without control characters: a case named in Chinese,
    or with a line break in its name, would otherwise break the answer.
    """
    name = "".join("-" if c in '/\\' or not c.isprintable() else c for c in name)[:200]
    ascii_name = "".join(c if c.isascii() and c not in '"%;' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/{schedule_id}/case", responses={**ERRORS, 404: {"model": ErrorBody}},
            summary="The materialised canonical case that was solved")
def get_case(schedule_id: str, who: Reader, session: DbSession) -> Any:
    return _get(session, schedule_id).case
