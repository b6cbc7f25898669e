"""A replayed day over real HTTP (``POST /v1/replays``, role planner), on the hand day of tests/vpp/test_replay.py.

The hand day's figures are derived there: with a 10 % outage of hour 6 the hedged plan costs
1170 CNY on a normal day and 11,770 CNY when the outage comes, the deterministic plan 1160 and 13,570.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.api.conftest import OPERATOR, PLANNER, VIEWER, Server
from tests.api.test_schedules import wait_job
from tests.vpp.test_replay import HAND
from vpp.case import load_case


def hand_csv(load_mw: list[float] | float = 1.0) -> str:
    case = load_case(HAND)
    frame = pd.DataFrame({"timestamp": [t.isoformat() for t in case.timestamps], "load_mw": load_mw, "pv_mw": 0.0})
    text = io.StringIO()
    frame.to_csv(text, index=False)
    return text.getvalue()


def test_a_planner_replays_the_hand_day_with_and_without_the_outage(server: Server) -> None:
    body = {"case": HAND, "actuals_csv": hand_csv(), "every_minutes": 60, "scenarios": 1, "mip_gap": 0,
            "outage": {"start": "06:00", "hours": 1, "rate_per_year": 876}}
    with server.client(PLANNER) as planner:
        r = planner.post("/v1/replays", json=body)
        assert r.status_code == 202, r.text
        job = wait_job(planner, r.json()["job_id"], timeout=120)
    assert job["kind"] == "replay" and job["status"] == "done", job
    result = job["result"]
    realised = {(x["strategy"], x["world"]): x["realised_cost_cny"] for x in result["results"]}
    assert realised == pytest.approx({("deterministic", "normal"): 1160, ("deterministic", "outage"): 13570,
                                      ("stochastic", "normal"): 1170, ("stochastic", "outage"): 11770})
    assert result["outage_scenario"]["probability"] == pytest.approx(0.1)
    assert result["outage_scenario"]["rate_source"] == "[given] request"
    table = result["table"]
    assert len(table["step"]) == 4 * 8 and set(table["world"]) == {"normal", "outage"}


def test_bad_actuals_fail_the_job_naming_the_field(server: Server) -> None:
    with server.client(PLANNER) as planner:
        r = planner.post("/v1/replays", json={"case": HAND, "actuals_csv": hand_csv().replace("pv_mw", "solar"),
                                              "strategies": ["deterministic"]})
        assert r.status_code == 202, r.text
        job = wait_job(planner, r.json()["job_id"], timeout=60)
    assert job["status"] == "failed", job
    problem = job["error"]["problems"][0]
    assert problem["path"] == "actuals_csv"
    assert problem["message"].startswith("the CSV given has no column 'pv_mw': expected the columns timestamp, "
                                         "load_mw, pv_mw")


def test_an_interval_off_the_case_grid_fails_the_job_naming_the_field(server: Server) -> None:
    with server.client(PLANNER) as planner:
        r = planner.post("/v1/replays", json={"case": HAND, "actuals_csv": hand_csv(), "every_minutes": 45,
                                              "strategies": ["deterministic"]})
        job = wait_job(planner, r.json()["job_id"], timeout=60)
    assert job["status"] == "failed", job
    assert job["error"]["problems"] == [{"path": "every_minutes", "message": (
        "expected a whole multiple of the case's 60-minute step (e.g. 60), got 45")}]


@pytest.mark.parametrize(("body", "path"), [
    ({"strategies": ["psychic"]}, "strategies[0]"),
    ({"strategies": []}, "strategies"),
    ({"outage": {"hours": 30}}, "outage.hours"),
    ({"outage": {"hours": 2, "rate_per_year": 0}}, "outage.rate_per_year"),
    ({"scenarios": 0}, "scenarios"),
])
def test_a_bad_replay_request_is_refused_with_its_path(server: Server, body: dict, path: str) -> None:
    with server.client(PLANNER) as planner:
        r = planner.post("/v1/replays", json={"case": HAND} | body)
    assert r.status_code == 422, r.text
    assert [p["path"] for p in r.json()["problems"]] == [path], r.json()


@pytest.mark.parametrize(("token", "status"), [(VIEWER, 403), (OPERATOR, 403), (None, 401)])
def test_only_a_planner_replays(server: Server, token: str | None, status: int) -> None:
    with server.client(token) as client:
        r = client.post("/v1/replays", json={"case": HAND})
    assert r.status_code == status, r.text
