"""The route class of every endpoint: strict JSON, and the token checked before the body is read.

- JSON bodies are parsed strictly: ``NaN``, ``Infinity``, numbers that
  overflow to infinity and integers of more than 100 digits are refused (422
  with the position), as they are not JSON or not numbers anyone means; so
  are bodies nested deeper than ``VPP_MAX_JSON_DEPTH`` levels and strings
  holding an unpaired surrogate (``"\\ud800"``: no database can store it).
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

from api.errors import InvalidInputError
from vpp.errors import Problem


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


#: Longest integer literal read [digits]; a longer one is refused rather than converted.
MAX_INT_DIGITS = 100


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {digits} digits is too large for a number")
    return int(text)


def strict_loads(data: bytes | str) -> Any:
    """json.loads that refuses NaN, Infinity, overflowing numbers and huge integers (json.JSONDecodeError)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None


def _where(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)[:100]
    return out or "body"


def shape_problem(data: Any, max_depth: int) -> Problem | None:
    """The first part of a parsed body that no route can take: too deep, or text with an unpaired surrogate.

    Walks the body without recursion (a deep body must not exhaust the stack here).
    """
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > max_depth:
            return Problem(_where(path[:max_depth]), f"nested deeper than {max_depth} levels (VPP_MAX_JSON_DEPTH)")
        if isinstance(value, dict):
            for key, item in value.items():
                if not _is_text(key):
                    return Problem(_where(path), "a key holds an unpaired surrogate (\\ud800-\\udfff): not valid text")
                if "\x00" in key:
                    return Problem(_where(path), "a key holds a NUL character (\\u0000), which cannot be stored")
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, i)) for i, item in enumerate(value))
        elif isinstance(value, str) and not _is_text(value):
            return Problem(_where(path), "the text holds an unpaired surrogate (\\ud800-\\udfff): not valid text")
        elif isinstance(value, str) and "\x00" in value:
            return Problem(_where(path), "the text holds a NUL character (\\u0000), which cannot be stored")
    return None


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class StrictJSONRequest(Request):
    async def check_shape(self, max_depth: int) -> None:
        """Parse the body now and refuse what no route can take (InvalidInputError, 422).

        A body that is not JSON at all is left to the route, which answers with
        the parser's reason; a body too deep to parse is refused here.
        """
        body = await self.body()
        if not body:
            return
        try:
            data = strict_loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return
        except RecursionError:
            raise InvalidInputError("the body is nested too deeply", [
                Problem("body", f"nested deeper than {max_depth} levels (VPP_MAX_JSON_DEPTH)")]) from None
        problem = shape_problem(data, max_depth)
        if problem is not None:
            raise InvalidInputError("1 problem(s) in the request", [problem])
        self._json = data

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
                strict = StrictJSONRequest(scope, request.receive)
                await strict.check_shape(request.app.state.settings.max_json_depth)
                return await handler(strict)
            return await handler(StrictJSONRequest(scope, request.receive))

        return route
