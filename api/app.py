"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors, schemas
from api.context import RequestIdFilter
from api.db import make_engine, migrate, session_factory
from api.jobs import JobRunner
from api.middleware import RequestContextMiddleware
from api.routes import (
    cases,
    health,
    jobs,
    outage,
    page,
    pareto,
    redispatch,
    replays,
    schedules,
    settlement,
    sizing,
)
from api.routes.page import STATIC
from api.security import parse_env_tokens
from api.settings import Settings

DESCRIPTION = """Day-ahead schedules of the virtual power plant over HTTP.

Every `/v1` endpoint needs `Authorization: Bearer <token>`; roles: viewer (read),
operator (create schedules, settle them), planner (sizing, the cost–carbon front), admin (everything).
"""


def _version() -> str:
    try:
        return version("vpp-dispatch")
    except PackageNotFoundError:
        return "0"


def configure_logging(level: str) -> None:
    """The service's log lines carry the request id; tokens are never logged."""
    logger = logging.getLogger("vpp")
    if not any(getattr(h, "_vpp", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
        handler.addFilter(RequestIdFilter())
        handler._vpp = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def create_app(settings: Settings | None = None) -> FastAPI:
    """The scheduling service; the database is migrated and the job runner started on start-up."""
    settings = settings or Settings()
    env_tokens = parse_env_tokens(settings.api_tokens)
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url, settings.db_busy_timeout_s, settings.db_connect_timeout_s)
        migrate(engine)
        sessions = session_factory(engine)
        runner = JobRunner(settings, sessions)
        app.state.engine, app.state.sessions, app.state.runner = engine, sessions, runner
        runner.start()
        logging.getLogger("vpp.api").info("scheduling service up: %d worker(s), database %s",
                                          settings.workers, engine.url.render_as_string(hide_password=True))
        try:
            yield
        finally:
            runner.stop()
            engine.dispose()

    app = FastAPI(title="VPP scheduling service", version=_version(), description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.env_tokens = env_tokens
    errors.install(app)
    for module in (schedules, redispatch, outage, sizing, settlement, pareto, replays, jobs, cases, health, page):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if settings.cors_origin_list:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                           expose_headers=["X-Request-ID", "Location"])
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    _document_limits(app, settings)
    return app


def _document_limits(app: FastAPI, settings: Settings) -> None:
    """Put the canonical case and this deployment's limits into the OpenAPI document (:func:`api.schemas.document`)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = schemas.document(build(), settings.max_time_limit_s, settings.max_steps,
                                                  settings.max_assets)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory api.app:app_from_env`` (settings from the environment)."""
    return create_app(Settings())
