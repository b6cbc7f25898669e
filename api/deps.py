"""Dependencies of the routes, as ``Annotated`` aliases.

``Reader``, ``Scheduler`` (and later ``Planner``) are the caller, checked for
a valid token and the permission; ``DbSession`` is a SQLAlchemy session per
request; ``AppSettings`` and ``Runner`` are the app's settings and job runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.jobs import JobRunner
from api.security import AuthError, ForbiddenError, Principal, authenticate, bearer_token
from api.settings import Settings

#: Declares the bearer scheme in the OpenAPI document (the check itself is :func:`check_access`).
bearer_scheme = HTTPBearer(auto_error=False, description="A token from VPP_API_TOKENS or `vpp token create`.")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_runner(request: Request) -> JobRunner:
    return request.app.state.runner


def _principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = bearer_token(request.headers.get("authorization"))
    with request.app.state.sessions() as session:
        principal = authenticate(token, request.app.state.env_tokens, session)
    request.state.principal = principal
    return principal


async def check_access(request: Request, permission: str) -> Principal:
    """The caller, if its token is valid (AuthError: 401) and its role holds ``permission`` (403)."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        principal = await run_in_threadpool(_principal, request)
    if not principal.can(permission):
        raise ForbiddenError(principal.role, permission)
    return principal


class require:  # noqa: N801 - used like a function: Depends(require("read"))
    """A dependency that admits callers holding ``permission``."""

    def __init__(self, permission: str) -> None:
        self.permission = permission

    async def __call__(
        self, request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
    ) -> Principal:
        return await check_access(request, self.permission)


AppSettings = Annotated[Settings, Depends(get_settings)]
DbSession = Annotated[Session, Depends(get_session)]
Runner = Annotated[JobRunner, Depends(get_runner)]
Reader = Annotated[Principal, Depends(require("read"))]
Scheduler = Annotated[Principal, Depends(require("schedule"))]
Planner = Annotated[Principal, Depends(require("size"))]

__all__ = ["AppSettings", "AuthError", "DbSession", "Planner", "Reader", "Runner", "Scheduler", "check_access", "require"]
