"""Settlement with the participants (role operator): a job over stored schedules; each participant's statement."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.db import Job
from api.deps import DbSession, Reader, Runner, Scheduler
from api.errors import InvalidInputError, NotFoundError
from api.jobs import new_job
from api.routes.schedules import _accepted, _store_job
from api.routing import StrictRoute
from api.schemas import ERRORS, ErrorBody, JobAccepted, _Strict
from api.stored import stored_schedule
from vpp.errors import CaseError, Problem

router = APIRouter(prefix="/v1/settlements", tags=["settlement"], route_class=StrictRoute)


class SettlementIn(_Strict):
    """Stored schedules to settle (one day, or the days of a month) and overrides of the settlement rules."""

    schedule_ids: list[str] = Field(min_length=1, max_length=62, description="Ids of stored schedules, one per day.")
    rules: dict[str, Any] = Field(default_factory=dict, description=(
        "Overrides of vpp/settlement_rules.yaml by section, e.g. {\"sharing\": {\"aggregator_share\": 0.1}}."))


def _check(request: Request, body: SettlementIn) -> None:
    from vpp.settlement import rules_from

    problems = []
    try:
        rules_from(body.rules, "[given] request")
    except CaseError as exc:
        problems += [Problem(f"rules.{p.path}" if p.path else "rules", p.message) for p in exc.problems]
    with request.app.state.sessions() as s:
        for i, schedule_id in enumerate(body.schedule_ids):
            if stored_schedule(s, schedule_id) is None:
                problems.append(Problem(f"schedule_ids[{i}]", f"no schedule {schedule_id!r}"))
    if problems:
        raise InvalidInputError(f"{len(problems)} problem(s) in the settlement request", problems)


@router.post("", status_code=202, response_model=JobAccepted, responses=ERRORS,
             summary="Settle stored schedules with the participants (a background job)")
async def create_settlement(body: SettlementIn, who: Scheduler, runner: Runner, request: Request) -> Any:
    """Queue a settlement; 202 with the job, whose ``result`` is ``settlement.json`` with each statement's HTML."""
    await run_in_threadpool(_check, request, body)
    job = new_job("settlement", {"schedule_ids": body.schedule_ids, "rules": body.rules}, created_by=who.name)
    await run_in_threadpool(_store_job, request, job)
    runner.wake()
    return _accepted(job)


@router.get("/{job_id}/statements/{participant}", response_class=HTMLResponse,
            responses={**ERRORS, 404: {"model": ErrorBody}, 200: {"content": {"text/html": {}}}},
            summary="A participant's one-page statement (HTML)")
def get_statement(job_id: str, participant: str, who: Reader, session: DbSession) -> HTMLResponse:
    job = session.get(Job, job_id) if len(job_id) <= 36 and "\x00" not in job_id else None
    if job is None or job.kind != "settlement":
        raise NotFoundError(f"no settlement job {job_id!r}")
    page = ((job.result or {}).get("statements") or {}).get(participant)
    if page is None:
        raise NotFoundError(f"no statement of {participant!r} in job {job_id!r}" +
                            ("" if job.status == "done" else f" (the job is {job.status})"))
    return HTMLResponse(page)
