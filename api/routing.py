"""The route class of every endpoint: strict JSON, and the token checked before the body is read.

- JSON bodies are parsed strictly: ``NaN``, ``Infinity`` and numbers that
  overflow to infinity are refused (422 with the position), as they are not JSON.
- A route that requires a permission (an :func:`api.deps.require` dependency)
  checks the token and the role *before* the body is parsed, so a caller
  without a valid token learns nothing about the body (401/403 first).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


def strict_loads(data: bytes | str) -> Any:
    """json.loads that refuses NaN, Infinity and overflowing numbers (json.JSONDecodeError)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                body = await self.body()
                self._json = strict_loads(body)
            except UnicodeDecodeError as exc:
                raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from None
        return self._json


def _permission(dependant: Dependant) -> str | None:
    for sub in dependant.dependencies:
        found = getattr(sub.call, "permission", None) or _permission(sub)
        if found:
            return found
    return None


class StrictRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        permission = _permission(self.dependant)

        async def route(request: Request) -> Response:
            if permission is not None:
                from api.deps import check_access

                await check_access(request, permission)
            scope = request.scope
            if scope.get("method") in ("POST", "PUT", "PATCH"):
                # every body is read as JSON, whatever its Content-Type says (a form or text
                # body is then refused as invalid JSON, with the reason)
                headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
                scope = dict(scope, headers=[*headers, (b"content-type", b"application/json")])
            return await handler(StrictJSONRequest(scope, request.receive))

        return route
