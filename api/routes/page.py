"""The page at ``/``: request a schedule and look at the day (static HTML, JS and the vendored uPlot)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.routing import StrictRoute

STATIC = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(tags=["page"], route_class=StrictRoute, include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})
