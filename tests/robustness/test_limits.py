"""The limits that protect the machine are settings: each one, set small, answers a clear 413 or 422 naming
its variable; a page size above the largest is cut to it; a bad limit stops the server at start with the
variable's name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api import cases
from tests.api.conftest import Databases, Server
from tests.robustness import figures

SMALL = {"VPP_MAX_BODY_BYTES": "4096", "VPP_MAX_STEPS": "8", "VPP_MAX_ASSETS": "2", "VPP_MAX_TIME_LIMIT_S": "3",
         "VPP_PAGE_SIZE": "2", "VPP_MAX_PAGE_SIZE": "3", "VPP_MAX_JSON_DEPTH": "6"}


@pytest.fixture(scope="module")
def small(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    srv = Server(databases.new("sqlite"), tmp_path_factory.mktemp("limits"), **SMALL).start()
    with srv.client() as c:
        yield c
    srv.stop()


def refused(r: httpx.Response, status: int) -> dict[str, Any]:
    figures.count("limits", r.status_code)
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert {"error", "message", "request_id"} <= set(body)
    return body


def test_max_body_bytes(small: httpx.Client) -> None:
    body = refused(small.post("/v1/schedules", content=b'{"case": "' + b"x" * 5000 + b'"}'), 413)
    assert body == {"error": "body_too_large", "request_id": body["request_id"],
                    "message": "request body larger than the limit of 4096 bytes (VPP_MAX_BODY_BYTES)"}


def test_max_steps_and_max_assets(small: httpx.Client) -> None:
    data = cases.flat(100, steps=9)
    data["assets"] += [{"id": f"l{i}", "type": "load", "demand_mw": 1} for i in range(2)]
    body = refused(small.post("/v1/schedules", json={"case": data}), 422)
    assert body["message"] == "the case is larger than the service's limits"
    assert body["problems"] == [{"path": "case.steps", "message": "at most 8 steps (VPP_MAX_STEPS), got 9"},
                                {"path": "case.assets", "message": "at most 2 assets (VPP_MAX_ASSETS), got 3"}]


def test_max_time_limit(small: httpx.Client) -> None:
    body = refused(small.post("/v1/schedules", json={"case": cases.flat(100), "options": {"time_limit_s": 3.5}}), 422)
    assert body["problems"] == [{"path": "options.time_limit_s",
                                 "message": "at most 3 s (VPP_MAX_TIME_LIMIT_S), got 3.5"}]
    ok = small.post("/v1/schedules", json={"case": cases.flat(100), "options": {"time_limit_s": 3}})
    assert ok.status_code == 201


def test_max_json_depth(small: httpx.Client) -> None:
    deep = {"case": {"name": {"a": {"b": {"c": {"d": {"e": 1}}}}}}}  # 7 levels
    body = refused(small.post("/v1/schedules", json=deep), 422)
    assert body["problems"] == [{"path": "case.name.a.b.c.d",
                                 "message": "nested deeper than 6 levels (VPP_MAX_JSON_DEPTH)"}]
    body = refused(small.post("/v1/cases/validate", json=[[[[[[[1]]]]]]]), 422)
    assert body["problems"][0]["message"] == "nested deeper than 6 levels (VPP_MAX_JSON_DEPTH)"


def test_page_size_default_and_largest(small: httpx.Client) -> None:
    for i in range(4):
        assert small.post("/v1/schedules", json={"case": cases.flat(10 + i, name=f"page-{i}")}).status_code == 201
    default = small.get("/v1/schedules").json()
    assert default["limit"] == 2 and len(default["items"]) == 2
    cut = small.get("/v1/schedules", params={"limit": 1000}).json()
    assert cut["limit"] == 3 and len(cut["items"]) == 3 and cut["next"].startswith("/v1/schedules?limit=3&offset=3")
    body = refused(small.get("/v1/schedules", params={"limit": 0}), 422)
    assert body["problems"] == [{"path": "limit", "message": "Input should be greater than or equal to 1"}]


@pytest.mark.parametrize("env,message", [
    ({"VPP_MAX_BODY_BYTES": "10"}, "error: VPP_MAX_BODY_BYTES: Input should be greater than or equal to 1024 (got '10')"),
    ({"VPP_MAX_STEPS": "many"},
     "error: VPP_MAX_STEPS: Input should be a valid integer, unable to parse string as an integer (got 'many')"),
    ({"VPP_MAX_JSON_DEPTH": "1"}, "error: VPP_MAX_JSON_DEPTH: Input should be greater than or equal to 4 (got '1')"),
    ({"VPP_SIZING_SCHEDULER": "tcp://nowhere"},
     "error: VPP_SIZING_SCHEDULER: String should match pattern '^(serial|local|tcp://[^\\s/]+:\\d+)$' (got 'tcp://nowhere')"),
    ({"VPP_WORKERS": "2", "VPP_STUDY_WORKERS": "2"},
     "error: VPP_STUDY_WORKERS: at most VPP_WORKERS - 1 = 1: one worker at least stays for schedules (got '2')"),
    ({"VPP_STUDY_WORKERS": "-1"}, "error: VPP_STUDY_WORKERS: Input should be greater than or equal to 0 (got '-1')"),
    ({"VPP_JOB_LEASE_S": "5"}, "error: VPP_JOB_LEASE_S: at least 3 heartbeats (3 × VPP_JOB_HEARTBEAT_S = 6 s), or a "
     "running job would be taken back from a server that is alive (got '5')"),
])
def test_a_bad_limit_stops_the_server_at_start_with_its_name(env: dict[str, str], message: str, tmp_path: Any) -> None:
    done = subprocess.run([sys.executable, "-m", "vpp.cli", "serve", "--port", "1"], cwd=tmp_path,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == message
    assert "Traceback" not in done.stderr
