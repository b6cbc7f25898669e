"""Errors → HTTP, in one place.

Every error body has the same shape::

    {"error": "<code>", "message": "<for people>", "request_id": "...",
     "problems": [{"path": "case.assets[0].power_mw", "message": "..."}]}   # when there are any

No body carries a stack trace or a file path: anything unexpected becomes a
generic ``internal_error`` with the request id (the traceback goes to the log).
A database that is locked past its busy timeout or unreachable answers 503
``database_unavailable`` with ``Retry-After``; messages and paths repeated
from the request are cut to :data:`MAX_ECHO` characters.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.context import request_id
from api.security import AuthError, ForbiddenError
from vpp.case import field_path
from vpp.errors import CaseError, InfeasibleError, Problem, SolverError

log = logging.getLogger("vpp.api")


class ApiError(Exception):
    """An error with an HTTP status, a code and a message (and problems, for 422)."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, problems: list[Problem] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.extra = extra


class NotFoundError(ApiError):
    status_code = 404
    code = "not_found"


class InvalidInputError(ApiError):
    status_code = 422
    code = "invalid_input"


class BusyError(ApiError):
    """The service holds as much work of this kind as it takes (raise with ``headers={"Retry-After": ...}``)."""

    status_code = 429
    code = "busy"


class UnavailableError(ApiError):
    """This server does not do what was asked (e.g. it runs no studies); another server may."""

    status_code = 503
    code = "unavailable"


class NoScheduleError(ApiError):
    """The solve ended without a schedule (infeasible, time limit without one, a failed job)."""

    status_code = 409
    code = "no_schedule"


#: Longest message or path an error body repeats [characters]: a 5 MB string is not echoed back.
MAX_ECHO = 500


def clip(text: str, limit: int = MAX_ECHO) -> str:
    """``text``, cut to ``limit`` characters with a note of how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def error_body(code: str, message: str, problems: list[Problem] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": clip(message)}
    if problems:
        body["problems"] = [{"path": clip(p.path), "message": clip(p.message)} for p in problems]
    body.update(extra)
    body["request_id"] = request_id.get()
    return body


def error_response(http_status: int, code: str, message: str, problems: list[Problem] | None = None,
                   headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, problems, **extra), status_code=http_status, headers=headers)


def _loc_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """("body", "case", "assets", 0, "power_mw") → "case.assets[0].power_mw"; query/path params keep their name.

    The request's source is dropped; the rest is :func:`vpp.case.field_path`, the one converter of
    error locations to field paths the command line and the service share.
    """
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        source = parts.pop(0)
        if not parts:
            return "body" if source == "body" else source
    return field_path(parts)


def _validation_message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "json_invalid":
        return f"the body is not valid JSON: {ctx.get('error', 'decode error')}"
    if kind == "extra_forbidden":
        return "unknown field (misspelt? unknown fields are refused, never ignored)"
    if kind == "missing":
        return "required field is missing"
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def validation_problems(errors: list[dict[str, Any]]) -> list[Problem]:
    return [Problem("body" if e.get("type") == "json_invalid" else _loc_path(e.get("loc", ())), _validation_message(e))
            for e in errors]


def install(app: FastAPI) -> None:
    """Register the exception handlers of the service."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = validation_problems(list(exc.errors()))
        return error_response(422, "invalid_input", f"{len(problems)} problem(s) in the request", problems)

    @app.exception_handler(CaseError)
    async def _case(_: Request, exc: CaseError) -> JSONResponse:
        return error_response(422, "invalid_case", f"{len(exc.problems)} problem(s) while {exc.step}", exc.problems)

    @app.exception_handler(SolverError)
    async def _solver(_: Request, exc: SolverError) -> JSONResponse:
        code = "infeasible" if isinstance(exc, InfeasibleError) else "no_schedule"
        return error_response(409, code, str(exc), status=exc.status)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.problems, **exc.extra)

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        return error_response(401, "unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(ForbiddenError)
    async def _forbidden(_: Request, exc: ForbiddenError) -> JSONResponse:
        return error_response(403, "forbidden", str(exc))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError | PoolTimeout) -> JSONResponse:
        if isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError | InterfaceError) \
                and not exc.connection_invalidated:
            raise exc  # not an outage: the last-resort handler answers 500 and logs it
        retry = request.app.state.settings.retry_after_s
        log.warning("database busy or unreachable (%s); answered 503", type(exc.orig if isinstance(exc, DBAPIError)
                                                                              else exc).__name__)
        return error_response(503, "database_unavailable",
                              f"the database is busy or unreachable: retry in {retry} s",
                              headers={"Retry-After": str(retry)})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), message,
                              headers=getattr(exc, "headers", None))
