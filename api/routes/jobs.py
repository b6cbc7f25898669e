"""Jobs: the state of background work (queued, running, done with its links, failed with the reason)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.db import Job
from api.deps import DbSession, Reader
from api.errors import NotFoundError
from api.routing import StrictRoute
from api.schemas import ERRORS, ErrorBody, JobOut

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=StrictRoute)


@router.get("/{job_id}", response_model=JobOut, responses={**ERRORS, 404: {"model": ErrorBody}}, summary="A job")
def get_job(job_id: str, who: Reader, session: DbSession) -> Any:
    job = session.get(Job, job_id) if len(job_id) <= 36 and "\x00" not in job_id else None  # no id holds a NUL
    if job is None:
        raise NotFoundError(f"no job {job_id!r}")
    links = {"self": f"/v1/jobs/{job.id}"}
    if job.schedule_id:
        links["schedule"] = f"/v1/schedules/{job.schedule_id}"
        links["curve_csv"] = f"/v1/schedules/{job.schedule_id}/curve.csv"
    return {"id": job.id, "kind": job.kind, "status": job.status, "attempts": job.attempts,
            "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
            "reason": job.reason, "error": job.error, "result": job.result, "schedule_id": job.schedule_id,
            "links": links}
