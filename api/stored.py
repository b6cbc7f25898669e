"""Stored schedules read outside a request: ``vpp settle --schedule ID`` and the settlement job."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.db import Schedule


def stored_schedule(session: Session, schedule_id: str) -> dict[str, Any] | None:
    """The stored schedule ``schedule_id`` as ``{id, case, series, summary}``, or None when there is none."""
    if len(schedule_id) > 36 or "\x00" in schedule_id:
        return None
    s = session.get(Schedule, schedule_id)
    if s is None:
        return None
    return {"id": s.id, "case": s.case, "series": s.series, "summary": s.summary, "date": s.date}


def stored_schedule_from_env(schedule_id: str) -> dict[str, Any] | None:
    """:func:`stored_schedule` in the service's database (VPP_DATABASE_URL or the default)."""
    from api.cli import load_settings
    from api.db import make_engine, session_factory

    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_factory(engine)() as session:
            return stored_schedule(session, schedule_id)
    finally:
        engine.dispose()
