"""Cases: validation of a canonical case, every problem with its field path."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.concurrency import run_in_threadpool

from api.deps import AppSettings, Reader
from api.routing import StrictRoute
from api.schemas import ERRORS, ValidationReport
from vpp.case import validate_case

router = APIRouter(prefix="/v1/cases", tags=["cases"], route_class=StrictRoute)


@router.post("/validate", response_model=ValidationReport, responses=ERRORS, summary="Check a case")
async def validate(case: Annotated[dict[str, Any], Body(description="A canonical case (model.md §1).")],
                   who: Reader, settings: AppSettings) -> Any:
    """Every problem of the case (the body), with its field path; ``valid`` when there is none."""
    problems = []
    steps, assets = case.get("steps"), case.get("assets")
    if isinstance(steps, int) and steps > settings.max_steps:
        problems.append({"path": "steps", "message": f"at most {settings.max_steps} steps (VPP_MAX_STEPS), got {steps}"})
    if isinstance(assets, list) and len(assets) > settings.max_assets:
        problems.append({"path": "assets",
                         "message": f"at most {settings.max_assets} assets (VPP_MAX_ASSETS), got {len(assets)}"})
    if not problems:
        _, found = await run_in_threadpool(validate_case, case)
        problems = [{"path": p.path, "message": p.message} for p in found]
    return {"valid": not problems, "problems": problems}
