"""ASGI middleware: request id, body size limit, access log and the last-resort error answer.

Pure ASGI (no BaseHTTPMiddleware), outermost after Starlette's own error
middleware, so that even an unexpected error answers JSON with the request id
and no traceback.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from fastapi import HTTPException

from api.context import request_id

log = logging.getLogger("vpp.api")
access = logging.getLogger("vpp.api.access")

_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _json(status: int, body: dict[str, Any], rid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = json.dumps(body).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                         (b"x-request-id", rid.encode())]}
    return start, {"type": "http.response.body", "body": data}


class RequestContextMiddleware:
    """Request id in and out, body limit (413), access log line, generic 500 for the unexpected."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-request-id", "")
        rid = given if _ID_OK.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status_holder = {"status": 0, "started": False}

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            length = headers.get("content-length")
            too_big = False
            if length is not None:
                try:
                    too_big = int(length) > self.max_body_bytes
                except ValueError:
                    too_big = False
            if too_big:
                await self._send_413(send_wrapper, rid)
                return
            received = {"bytes": 0}

            async def receive_wrapper() -> dict[str, Any]:
                message = await receive()
                if message["type"] == "http.request":
                    received["bytes"] += len(message.get("body", b""))
                    if received["bytes"] > self.max_body_bytes:
                        raise HTTPException(413, "request body too large")
                return message

            try:
                await self.app(scope, receive_wrapper, send_wrapper)
            except HTTPException as exc:
                if exc.status_code != 413:
                    raise
                if not status_holder["started"]:
                    await self._send_413(send_wrapper, rid)
            except Exception:  # the last resort: never a traceback in a body
                log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
                if not status_holder["started"]:
                    start, body = _json(500, {"error": "internal_error",
                                              "message": "unexpected error; quote the request id when reporting it",
                                              "request_id": rid}, rid)
                    await send(start)
                    await send(body)
        finally:
            access.info("%s %s %s %.1f ms", scope.get("method"), scope.get("path"), status_holder["status"],
                        (time.perf_counter() - started) * 1000)
            request_id.reset(token)

    async def _send_413(self, send: Any, rid: str) -> None:
        body = json.dumps({"error": "body_too_large",
                           "message": f"request body larger than the limit of {self.max_body_bytes} bytes (VPP_MAX_BODY_BYTES)",
                           "request_id": rid}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
