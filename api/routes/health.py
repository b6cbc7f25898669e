"""Health: up, database reachable, HiGHS version (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.routing import StrictRoute
from api.schemas import Health

router = APIRouter(tags=["health"], route_class=StrictRoute)


def _database_ok(request: Request) -> bool:
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}}, summary="Health")
async def healthz(request: Request) -> Any:
    runner = request.app.state.runner
    ok = await run_in_threadpool(_database_ok, request)
    body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unreachable",
            "highs_version": runner.highs_version, "workers": runner.size, "study_workers": runner.caps["study"],
            "jobs_running": runner.busy, "studies_running": runner.running("study")}
    return JSONResponse(body, status_code=200 if ok else 503)
