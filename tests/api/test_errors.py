"""Every error path of the service over real HTTP: 401, 403, 404, 413, 422 with field paths; no 500, no traceback."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from api.app import create_app
from api.settings import Settings
from tests.api import cases
from tests.api.conftest import OPERATOR, PLANNER, VIEWER, Server, auth
from vpp.case import validate_case


def assert_clean(body: dict[str, Any]) -> None:
    """An error body: code, message, request id, and never a traceback or a file path."""
    text = json.dumps(body)
    assert {"error", "message", "request_id"} <= set(body), body
    assert "Traceback" not in text and "/work/" not in text and ".py" not in text, text


def problems(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 422, (r.status_code, r.text)
    body = r.json()
    assert_clean(body)
    return {p["path"]: p["message"] for p in body["problems"]}


# ---------------------------------------------------------------------------
# 401 / 403
# ---------------------------------------------------------------------------


def api_routes(routes: list[Any]) -> Any:
    """Every APIRoute, also inside included routers (newer FastAPI keeps them in ``original_router``)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def v1_routes() -> list[tuple[str, str]]:
    """(method, path with placeholders filled) of every /v1 route of the app."""
    app = create_app(Settings(database_url="sqlite:///:memory:", api_tokens=""))
    out = []
    for route in api_routes(app.routes):
        if route.path.startswith("/v1"):
            path = route.path.replace("{schedule_id}", "00000000-0000-0000-0000-000000000000") \
                             .replace("{job_id}", "00000000-0000-0000-0000-000000000000") \
                             .replace("{participant}", "a-participant")
            assert "{" not in path, f"a /v1 route with an unknown path parameter: {route.path}"
            out.extend((method, path) for method in sorted(route.methods))
    return out


def test_the_route_table_has_the_endpoints_of_the_issue() -> None:
    routes = set(v1_routes())
    assert {("POST", "/v1/schedules"), ("GET", "/v1/schedules"), ("POST", "/v1/cases/validate"),
            ("GET", "/v1/schedules/00000000-0000-0000-0000-000000000000"),
            ("GET", "/v1/schedules/00000000-0000-0000-0000-000000000000/curve.csv"),
            ("GET", "/v1/jobs/00000000-0000-0000-0000-000000000000")} <= routes


@pytest.mark.parametrize("headers", [{}, auth("not-a-token"), {"Authorization": "Basic b3A6b3A="},
                                     {"Authorization": "Bearer"}, {"Authorization": OPERATOR}],
                         ids=["missing", "wrong", "basic", "empty", "no-scheme"])
def test_every_v1_route_answers_401_without_a_valid_token(server: Server, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for method, path in v1_routes():
            r = c.request(method, path, headers=headers, content=b'{"template": "teda-east"}')
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
            body = r.json()
            assert_clean(body)
            assert body["error"] == "unauthorized"


def test_401_messages(anonymous: httpx.Client) -> None:
    r = anonymous.get("/v1/schedules")
    assert r.json()["message"] == "missing Authorization header: send 'Authorization: Bearer <token>'"
    r = anonymous.get("/v1/schedules", headers=auth("nope"))
    assert r.json()["message"] == "unknown token"
    r = anonymous.get("/v1/schedules", headers={"Authorization": "Basic abc"})
    assert r.json()["message"] == "malformed Authorization header: expected 'Bearer <token>'"


def test_a_bad_body_without_a_token_is_401_not_422(anonymous: httpx.Client) -> None:
    r = anonymous.post("/v1/schedules", content=b"{not json")
    assert r.status_code == 401


@pytest.mark.parametrize("token,role", [(VIEWER, "viewer"), (PLANNER, "planner")])
def test_a_role_without_the_permission_gets_403(server: Server, token: str, role: str) -> None:
    with server.client(token) as c:
        r = c.post("/v1/schedules", json={"template": "teda-east", "date": "2026-07-15"})
        assert r.status_code == 403
        body = r.json()
        assert_clean(body)
        assert body["error"] == "forbidden"
        assert body["message"] == f"role '{role}' may not do this (needs one of: operator, admin)"
        # even with a broken body: the role is checked first
        assert c.post("/v1/schedules", content=b"{broken").status_code == 403
        # reading is allowed
        assert c.get("/v1/schedules").status_code == 200


def test_admin_may_create(server: Server) -> None:
    from tests.api.conftest import ADMIN

    with server.client(ADMIN) as c:
        r = c.post("/v1/schedules", json={"case": cases.flat(77, name="by-admin")})
        assert r.status_code == 201 and r.json()["summary"]["objective_cny"] == pytest.approx(4 * 77)


# ---------------------------------------------------------------------------
# 422 with field paths
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw,path,message", [
    (b"{not json", "body", "the body is not valid JSON: Expecting property name enclosed in double quotes"),
    (b'{"template": "teda-east", "options": {"mip_gap": NaN}}', "body", "the body is not valid JSON: NaN is not a JSON number"),
    (b'{"template": "teda-east", "options": {"mip_gap": Infinity}}', "body", "the body is not valid JSON: Infinity is not a JSON number"),
    (b'{"template": "teda-east", "options": {"time_limit_s": -Infinity}}', "body", "the body is not valid JSON: -Infinity is not a JSON number"),
    (b'{"template": "teda-east", "options": {"time_limit_s": 1e999}}', "body", "the body is not valid JSON: 1e999 is too large for a number"),
    (b"\xff\xfe{}", "body", "the body is not valid JSON: the body is not UTF-8"),
    (b"", "body", "required field is missing"),
    (b"[1, 2]", "body", "Input should be a valid dictionary or object to extract fields from"),
    (b'{"template": "teda-east", "dat": "2026-07-15"}', "dat", "unknown field (misspelt? unknown fields are refused, never ignored)"),
    (b'{"template": "teda-east", "options": {"gap": 0.1}}', "options.gap", "unknown field (misspelt? unknown fields are refused, never ignored)"),
    (b'{"template": "teda-east", "date": "2026-02-30"}', "date", "2026-02-30 is not a day of the calendar: February 2026 has 28 days"),
    (b'{"template": "teda-east", "date": "15/07/2026"}', "date", "expected a date as YYYY-MM-DD, got '15/07/2026'"),
    (b'{"template": "teda-east", "date": 20260715}', "date", "Input should be a valid string"),
    (b'{"template": "teda-west", "date": "2026-07-15"}', "template", "unknown template 'teda-west': expected one of ['teda-east']"),
    (b'{"template": "teda-east", "async": "yes"}', "async", "Input should be a valid boolean"),
    (b'{"template": "teda-east", "options": {"mip_gap": "0.1"}}', "options.mip_gap", "Input should be a valid number"),
    (b'{"template": "teda-east", "options": {"mip_gap": 1.5}}', "options.mip_gap", "Input should be less than 1"),
    (b'{"template": "teda-east", "options": {"time_limit_s": 0}}', "options.time_limit_s", "Input should be greater than 0"),
    (b'{"template": "teda-east", "options": {"time_limit_s": 121}}', "options.time_limit_s", "at most 120 s (VPP_MAX_TIME_LIMIT_S), got 121"),
    (b"{}", "body", "give either 'case' (a canonical case) or 'template' (with 'date'), not both or neither"),
    (b'{"template": "teda-east", "case": {}}', "body", "give either 'case' (a canonical case) or 'template' (with 'date'), not both or neither"),
    (b'{"case": {}, "date": "2026-07-15"}', "body", "'date' applies to a template only; a case carries its own start"),
    (b'{"case": [1]}', "case", "Input should be a valid dictionary"),
], ids=lambda x: x if isinstance(x, str) and len(x) < 30 else None)
def test_invalid_requests_answer_422_with_the_path(operator: httpx.Client, raw: bytes, path: str, message: str) -> None:
    found = problems(operator.post("/v1/schedules", content=raw, headers={"Content-Type": "application/json"}))
    assert found.get(path) == message, found


def test_a_body_sent_as_a_form_is_read_as_json_and_refused_with_the_reason(operator: httpx.Client) -> None:
    found = problems(operator.post("/v1/schedules", content=b"template=teda-east",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"}))
    assert found == {"body": "the body is not valid JSON: Expecting value"}


def test_a_case_with_errors_answers_422_with_every_problem_and_its_path(operator: httpx.Client) -> None:
    data = cases.broken()
    r = operator.post("/v1/schedules", json={"case": data})
    found = problems(r)
    _, expected = validate_case(data)
    assert len(expected) >= 4
    assert found == {f"case.{p.path}": p.message for p in expected}
    assert "assets[1].power_mw" in {p.path for p in expected}
    assert found["case.assets[1].power_mw"] == "expected a number >= 0, got -1"
    assert r.json()["error"] == "invalid_input"


def test_the_size_limits_answer_422(operator: httpx.Client) -> None:
    # the defaults: VPP_MAX_STEPS=2016, VPP_MAX_ASSETS=500
    data = cases.flat(100, steps=2017)
    data["assets"] += [{"id": f"l{i}", "type": "load", "demand_mw": 1} for i in range(500)]
    found = problems(operator.post("/v1/schedules", json={"case": data}))
    assert found == {"case.steps": "at most 2016 steps (VPP_MAX_STEPS), got 2017",
                     "case.assets": "at most 500 assets (VPP_MAX_ASSETS), got 501"}
    report = operator.post("/v1/cases/validate", json=data).json()
    assert report == {"valid": False, "problems": [
        {"path": "steps", "message": "at most 2016 steps (VPP_MAX_STEPS), got 2017"},
        {"path": "assets", "message": "at most 500 assets (VPP_MAX_ASSETS), got 501"}]}


def test_bad_query_parameters_answer_422(viewer: httpx.Client) -> None:
    assert problems(viewer.get("/v1/schedules", params={"date": "2026-7-1"})) == \
        {"date": "String should match pattern '^\\d{4}-\\d{2}-\\d{2}$'"}
    assert problems(viewer.get("/v1/schedules", params={"date": "2026-02-31"})) == \
        {"date": "2026-02-31 is not a day of the calendar: February 2026 has 28 days"}
    assert problems(viewer.get("/v1/schedules", params={"limit": 0})) == {"limit": "Input should be greater than or equal to 1"}
    assert problems(viewer.get("/v1/schedules", params={"offset": "x"})) == \
        {"offset": "Input should be a valid integer, unable to parse string as an integer"}


# ---------------------------------------------------------------------------
# 413, 404, request ids, CORS
# ---------------------------------------------------------------------------


def test_a_body_over_the_limit_answers_413(operator: httpx.Client) -> None:
    big = {"case": cases.flat(100), "padding": "x" * 300_001}
    r = operator.post("/v1/schedules", json=big)
    assert r.status_code == 413
    body = r.json()
    assert_clean(body)
    assert body["error"] == "body_too_large"
    assert body["message"] == "request body larger than the limit of 300000 bytes (VPP_MAX_BODY_BYTES)"


def test_a_chunked_body_over_the_limit_answers_413(operator: httpx.Client) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 10_000

    r = operator.post("/v1/schedules", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "body_too_large"


def test_unknown_ids_answer_404(viewer: httpx.Client) -> None:
    for path, what in [("/v1/schedules/nope", "schedule"), ("/v1/schedules/nope/curve.csv", "schedule"),
                       ("/v1/schedules/nope/case", "schedule"), ("/v1/jobs/nope", "job")]:
        r = viewer.get(path)
        assert r.status_code == 404
        assert_clean(r.json())
        assert r.json()["message"] == f"no {what} 'nope'"
    r = viewer.get("/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = viewer.delete("/v1/schedules")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_request_ids_are_echoed_or_made(viewer: httpx.Client, server: Server) -> None:
    r = viewer.get("/v1/schedules", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = viewer.get("/v1/jobs/nope", headers={"X-Request-ID": "bad id with spaces"})
    made = r.headers["x-request-id"]
    assert made != "bad id with spaces" and len(made) == 32 and r.json()["request_id"] == made
    deadline = time.monotonic() + 5  # the access line is written just after the answer
    while f"[{made}]" not in server.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"[{made}] GET /v1/jobs/nope 404" in server.log_text()  # the request id is in the log line


def test_tokens_never_appear_in_the_log(server: Server, operator: httpx.Client, anonymous: httpx.Client) -> None:
    operator.get("/v1/schedules")
    anonymous.get("/v1/schedules", headers=auth("secret-wrong-token-xyz"))
    log = server.log_text()
    for secret in (OPERATOR, VIEWER, "secret-wrong-token-xyz"):
        assert secret not in log


def test_cors_is_closed_by_default(viewer: httpx.Client) -> None:
    r = viewer.get("/v1/schedules", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in r.headers
    r = viewer.options("/v1/schedules", headers={"Origin": "https://elsewhere.example",
                                                   "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers and r.status_code == 405


# ---------------------------------------------------------------------------
# validation endpoint, health, docs
# ---------------------------------------------------------------------------


def test_validate_lists_every_problem_with_its_path(viewer: httpx.Client) -> None:
    data = cases.broken()
    r = viewer.post("/v1/cases/validate", json=data)
    assert r.status_code == 200, r.text
    _, expected = validate_case(data)
    assert r.json() == {"valid": False, "problems": [{"path": p.path, "message": p.message} for p in expected]}
    ok = viewer.post("/v1/cases/validate", json=cases.day())
    assert ok.json() == {"valid": True, "problems": []}
    assert problems(viewer.post("/v1/cases/validate", content=b"[]")) == \
        {"body": "Input should be a valid dictionary"}


def test_health_needs_no_token_and_names_highs(anonymous: httpx.Client) -> None:
    r = anonymous.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["workers"] == 2
    assert body["highs_version"].startswith("HiGHS ")


def test_openapi_and_docs(anonymous: httpx.Client) -> None:
    spec = anonymous.get("/openapi.json").json()
    assert {"/v1/schedules", "/v1/schedules/{schedule_id}", "/v1/schedules/{schedule_id}/curve.csv",
            "/v1/jobs/{job_id}", "/v1/cases/validate", "/healthz"} <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    post = spec["paths"]["/v1/schedules"]["post"]
    assert {"201", "202", "401", "403", "409", "413", "422"} <= set(post["responses"])
    assert anonymous.get("/docs").status_code == 200


def test_the_documented_templates_are_the_built_in_ones(anonymous: httpx.Client) -> None:
    from vpp.cases import TEMPLATES

    spec = anonymous.get("/openapi.json").json()
    assert spec["components"]["schemas"]["ScheduleRequest"]["properties"]["template"]["enum"] == sorted(TEMPLATES)
    assert spec["components"]["schemas"]["SolveOptionsIn"]["properties"]["time_limit_s"]["maximum"] == 120


def test_text_with_a_nul_character_is_refused_with_its_path(operator: httpx.Client) -> None:
    data = cases.flat(100, name="nul\u0000name")
    found = problems(operator.post("/v1/schedules", json={"case": data}))
    assert found == {"case.name": "the text holds a NUL character (\\u0000), which cannot be stored"}


def test_a_very_long_case_name_is_stored(operator: httpx.Client) -> None:
    name = "长" * 300 + " substation, line\nbreak"
    r = operator.post("/v1/schedules", json={"case": cases.flat(100, name=name)})
    assert r.status_code == 201, r.text
    assert r.json()["case"] == name
    assert operator.get(r.json()["links"]["curve_csv"]).status_code == 200


def test_a_key_with_a_nul_character_is_refused(operator: httpx.Client) -> None:
    data = cases.flat(100)
    data["meta"] = {"a\u0000b": 1}
    found = problems(operator.post("/v1/schedules", json={"case": data}))
    assert found == {"case.meta": "a key holds a NUL character (\\u0000), which cannot be stored"}
