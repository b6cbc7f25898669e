"""Re-dispatch of a stored schedule over real HTTP, and ``vpp redispatch`` reading its plan from the service.

The day is tests/vpp/test_redispatch.py's HAND case, whose optima are derived there:
the rest of the day from 04:00 costs 630 CNY with nothing changed, and 1350 CNY
(500 of them for 0.5 MWh above the plan) with the battery at 1.5 MWh instead of 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import OPERATOR, VIEWER, Server
from tests.vpp.test_redispatch import HAND, HAND_NET
from vpp.redispatch import fetch_plan, planned_state

EXACT = {"mip_gap": 0}


@pytest.fixture(scope="module")
def plan_id(server: Server) -> str:
    with server.client() as operator:
        r = operator.post("/v1/schedules", json={"case": HAND, "options": EXACT})
    assert r.status_code == 201, r.text
    assert r.json()["summary"]["objective_cny"] == pytest.approx(1160.0)
    return r.json()["id"]


def test_a_battery_below_plan_is_redispatched_with_the_hand_deviation_and_stored(
        operator: httpx.Client, plan_id: str) -> None:
    r = operator.post(f"/v1/schedules/{plan_id}/redispatch",
                      json={"from": "04:00", "state": {"batteries": {"bat": {"soc_mwh": 1.5}}}, "options": EXACT})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] != plan_id and r.headers["location"] == f"/v1/schedules/{body['id']}"
    assert body["summary"]["objective_cny"] == pytest.approx(1350.0)
    assert body["summary"]["cost_cny"]["deviation"] == pytest.approx(500.0)
    case = operator.get(f"/v1/schedules/{body['id']}/case").json()
    assert case["start"] == "2026-07-15T04:00:00+08:00" and case["steps"] == 4
    assert case["grid"]["schedule_mw"] == pytest.approx(HAND_NET[4:])
    assert case["meta"]["redispatch"]["plan"] == f"schedule {plan_id}"
    curve = operator.get(f"/v1/schedules/{body['id']}/curve.csv").text
    assert "grid.deviation_short_mw" in curve.splitlines()[0]


def test_nothing_changed_read_over_http_resolves_to_the_plan(server: Server, operator: httpx.Client,
                                                            plan_id: str) -> None:
    plan = fetch_plan(plan_id, server.url, VIEWER)  # the plan as vpp redispatch reads it from the service
    assert plan.declared_mw.tolist() == pytest.approx(HAND_NET)
    r = operator.post(f"/v1/schedules/{plan_id}/redispatch",
                      json={"from": "04:00", "state": planned_state(plan, 4), "options": EXACT})
    assert r.status_code == 201, r.text
    assert r.json()["summary"]["objective_cny"] == pytest.approx(630.0)
    assert r.json()["summary"]["cost_cny"]["deviation"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"from": "04:00", "state": {"batteries": {"bat": {"soc_mwh": 2.5}}}}, "state.batteries.bat.soc_mwh",
         "above the capacity: expected between 0 and energy_mwh=2 MWh, got 2.5 MWh"),
        ({"from": "04:00", "state": {"batteries": {"bat": {"level": 1}}}}, "state.batteries.bat.level",
         "unknown field 'level' (expected one of: soc_fraction, soc_mwh)"),
        ({"from": "04:00", "state": {}}, "state.batteries.bat",
         "missing: every battery needs its stored energy (soc_mwh or soc_fraction)"),
        ({"from": "04:30", "state": {}}, "from",
         "04:30 is not on the plan's 60-minute grid: expected a step boundary such as 04:00 or 05:00"),
    ],
)
def test_a_bad_state_answers_422_with_the_field(operator: httpx.Client, plan_id: str, body: dict[str, Any],
                                               path: str, message: str) -> None:
    r = operator.post(f"/v1/schedules/{plan_id}/redispatch", json=body)
    assert r.status_code == 422, r.text
    assert {"path": path, "message": message} in r.json()["problems"]


def test_unknown_schedule_and_a_viewer_are_refused(server: Server, operator: httpx.Client, plan_id: str) -> None:
    r = operator.post("/v1/schedules/00000000-0000-0000-0000-000000000000/redispatch", json={"from": "04:00", "state": {}})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    with server.client(VIEWER) as viewer:
        r = viewer.post(f"/v1/schedules/{plan_id}/redispatch", json={"from": "04:00", "state": {}})
    assert r.status_code == 403


def test_the_command_reads_a_stored_schedule_as_its_plan(server: Server, plan_id: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"batteries": {"bat": {"soc_mwh": 1.5}}}), encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "vpp.cli", "redispatch", "--plan", plan_id, "--url", server.url, "--token", VIEWER,
         "--from", "04:00", "--state", str(state), "--out", str(tmp_path / "rest"), "--no-chart", "--mip-gap", "0"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "rest" / "summary.json").read_text(encoding="utf-8"))
    assert summary["objective_cny"] == pytest.approx(1350.0)
    bad = subprocess.run(
        [sys.executable, "-m", "vpp.cli", "redispatch", "--plan", plan_id, "--url", server.url, "--token", "nope",
         "--from", "04:00", "--state", str(state)], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert bad.returncode == 2
    assert "plan: the service refused the token (401" in bad.stderr
    assert OPERATOR not in bad.stderr
