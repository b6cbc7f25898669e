"""Schedules over real HTTP: create (sync and async), read, list, the curve CSV, unserved and no-schedule answers."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import pandas as pd
import pytest

from api.kinds import schedule_series
from models import SolveOptions
from tests.api import cases
from tests.api.conftest import Server
from vpp.case import load_case
from vpp.dispatch import solve_case
from vpp.results import curve_table

#: The database is this module's subject: on PostgreSQL too when VPP_TEST_DATABASE_URL is set (conftest).
pytestmark = pytest.mark.every_database


def solve_locally(data: dict[str, Any]) -> Any:
    """What the engine gives for the same case with the service's settings (default gap, one thread)."""
    return solve_case(load_case(data), SolveOptions(mip_gap=1e-4, time_limit_s=60, threads=1))


def wait_job(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


@pytest.fixture(scope="module")
def day_local() -> Any:
    return solve_locally(cases.day())


@pytest.fixture(scope="module")
def day_created(server: Server) -> dict[str, Any]:
    with server.client() as operator:
        r = operator.post("/v1/schedules", json={"case": cases.day()})
    assert r.status_code == 201, r.text
    return r.json()


def test_create_answers_201_with_the_summary_the_engine_gives(day_created: dict[str, Any], day_local: Any) -> None:
    body = day_created
    local = day_local.summary
    assert body["status"] == local["status"] == "optimal"
    assert body["case"] == "day" and body["date"] == "2026-07-15"
    s = body["summary"]
    assert abs(s["objective_cny"] - local["objective_cny"]) < 1.0  # to the yuan
    for term, value in local["cost_cny"].items():
        assert abs(s["cost_cny"][term] - value) < 1.0, term
    for key, value in local["energy_mwh"].items():
        assert s["energy_mwh"][key] == pytest.approx(value, abs=1e-6), key
    assert s["emissions_t"] == pytest.approx(local["emissions_t"], abs=1e-6)
    assert s["demand_response"][0]["joined"] == local["demand_response"][0]["joined"]
    assert set(s) == set(local)
    assert body["links"]["self"] == f"/v1/schedules/{body['id']}"
    assert body["links"]["curve_csv"] == f"/v1/schedules/{body['id']}/curve.csv"
    assert body["links"]["job"] == f"/v1/jobs/{body['job_id']}"


def test_read_gives_the_summary_and_every_per_step_series(
        viewer: httpx.Client, day_created: dict[str, Any], day_local: Any) -> None:
    r = viewer.get(day_created["links"]["self"])
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["id"] == day_created["id"] and got["summary"] == day_created["summary"]
    assert got["options"] == {"mip_gap": 1e-4, "time_limit_s": 60.0, "threads": 1}
    want = schedule_series(day_local)
    assert got["schedule"]["timestamps"] == want["timestamps"] and len(want["timestamps"]) == 96
    assert [(s["asset"], s["quantity"]) for s in got["schedule"]["series"]] == \
        [(s["asset"], s["quantity"]) for s in want["series"]]
    for mine, theirs in zip(got["schedule"]["series"], want["series"], strict=True):
        assert mine["unit"] == theirs["unit"] and mine["node"] == theirs["node"]
        assert [v is None for v in mine["values"]] == [v is None for v in theirs["values"]]
        assert [v for v in mine["values"] if v is not None] == \
            pytest.approx([v for v in theirs["values"] if v is not None], abs=1e-6), (mine["asset"], mine["quantity"])
    case = viewer.get(day_created["links"]["case"])
    assert case.status_code == 200 and case.json()["name"] == "day" and case.json()["steps"] == 96


def test_curve_csv_is_the_96_point_wide_table(viewer: httpx.Client, day_created: dict[str, Any], day_local: Any) -> None:
    r = viewer.get(day_created["links"]["curve_csv"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    got = pd.read_csv(io.StringIO(r.text))
    want = curve_table(day_local.schedule)
    assert len(got) == 96 and list(got.columns) == list(want.columns)
    assert got["timestamp"].tolist() == [t.isoformat() for t in want["timestamp"]]
    assert got["point"].tolist() == list(range(1, 97))
    numeric = [c for c in want.columns if c not in ("timestamp", "point", "step")]
    for column in numeric:
        assert got[column].to_numpy() == pytest.approx(want[column].to_numpy(dtype=float), abs=1e-6, nan_ok=True), column
    # and the CSV holds the stored schedule's per-step values
    stored = viewer.get(day_created["links"]["self"]).json()["schedule"]["series"]
    for s in stored:
        column = got[f"{s['asset']}.{s['quantity']}"]
        assert [None if pd.isna(v) else v for v in column] == pytest.approx(s["values"], abs=1e-6)


def test_list_is_newest_first_paginated_and_filtered(server: Server, operator: httpx.Client, viewer: httpx.Client) -> None:
    tag = f"list-{time.monotonic_ns()}"
    made = []
    for i, start in enumerate(["2026-03-01T00:00:00+08:00", "2026-03-02T00:00:00+08:00", "2026-03-02T00:00:00+08:00"]):
        r = operator.post("/v1/schedules", json={"case": cases.flat(100 + i, name=tag if i else tag + "-other", start=start)})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    everything = viewer.get("/v1/schedules", params={"limit": 200}).json()
    ids = [it["id"] for it in everything["items"]]
    assert ids.index(made[2]) < ids.index(made[1]) < ids.index(made[0])  # newest first
    created = [it["created_at"] for it in everything["items"]]
    assert created == sorted(created, reverse=True)

    by_case = viewer.get("/v1/schedules", params={"case": tag}).json()
    assert [it["id"] for it in by_case["items"]] == [made[2], made[1]] and by_case["total"] == 2
    by_date = viewer.get("/v1/schedules", params={"date": "2026-03-01"}).json()
    assert made[0] in [it["id"] for it in by_date["items"]]
    assert all(it["date"] == "2026-03-01" for it in by_date["items"])
    both = viewer.get("/v1/schedules", params={"case": tag, "date": "2026-03-02", "limit": 1}).json()
    assert [it["id"] for it in both["items"]] == [made[2]]
    assert both["total"] == 2 and both["limit"] == 1
    assert both["next"] == f"/v1/schedules?limit=1&offset=1&date=2026-03-02&case={tag}"
    second = viewer.get(both["next"]).json()
    assert [it["id"] for it in second["items"]] == [made[1]] and second["next"] is None
    assert viewer.get("/v1/schedules", params={"case": tag, "offset": 5}).json()["items"] == []
    item = by_case["items"][0]
    assert item["created_at"].endswith("Z")  # UTC, with its zone, whatever the database
    assert item["objective_cny"] == pytest.approx(4 * 102) and item["status"] == "optimal"


def test_async_request_answers_202_and_the_job_leads_to_the_schedule(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"case": cases.flat(123, name="async"), "async": True})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and r.headers["location"] == f"/v1/jobs/{body['job_id']}"
    job = wait_job(operator, body["job_id"])
    assert job["status"] == "done" and job["kind"] == "schedule" and job["attempts"] == 1
    assert job["reason"] is None and job["finished_at"] is not None
    schedule = operator.get(job["links"]["schedule"]).json()
    assert schedule["summary"]["objective_cny"] == pytest.approx(4 * 123)
    assert schedule["job_id"] == job["id"]
    assert operator.get(job["links"]["curve_csv"]).status_code == 200


def test_a_large_case_goes_to_the_background_by_itself(operator: httpx.Client) -> None:
    # 96 steps × 32 assets = 3,072 step-assets > VPP_ASYNC_THRESHOLD_STEP_ASSETS=3000 in the test server
    r = operator.post("/v1/schedules", json={"case": cases.many_loads(32)})
    assert r.status_code == 202, r.text
    job = wait_job(operator, r.json()["job_id"])
    assert job["status"] == "done"
    summary = operator.get(job["links"]["schedule"]).json()["summary"]
    assert summary["objective_cny"] == pytest.approx(32 * 24 * 300)


def test_teda_east_template(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"template": "teda-east", "date": "2026-07-15"})
    assert r.status_code == 201, r.text
    body = r.json()
    s = body["summary"]
    assert body["case"] == s["case"] and body["date"] == "2026-07-15"
    assert s["status"] == "optimal" and s["steps"] == 96 and s["step_minutes"] == 15
    assert 5.0e6 < s["objective_cny"] < 7.0e6 and s["unserved"] == []
    listed = operator.get("/v1/schedules", params={"case": "teda-east", "date": "2026-07-15"}).json()
    assert body["id"] in [it["id"] for it in listed["items"]]
    curve = pd.read_csv(io.StringIO(operator.get(body["links"]["curve_csv"]).text))
    assert len(curve) == 96


def test_an_unservable_case_still_gives_a_schedule_naming_the_unserved_energy(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"case": cases.unservable()})
    assert r.status_code == 201, r.text
    s = r.json()["summary"]
    assert s["energy_mwh"]["unserved_mwh"] == pytest.approx(4.0)
    [unserved] = s["unserved"]
    assert unserved["kind"] == "unserved_electric" and unserved["where"] == "grid"
    assert unserved["energy_mwh"] == pytest.approx(4.0) and unserved["steps"] == [0, 1, 2, 3]
    assert s["messages"] == ["unserved energy at node grid: 4.000 MWh (max 1.000 MW) during 00:00-04:00"]


def test_an_infeasible_case_answers_409_with_the_reason(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"case": cases.infeasible()})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "no_schedule" and body["status"] == "infeasible"
    assert "gc" in body["message"]
    job = operator.get(body["links"]["job"]).json()
    assert job["status"] == "failed" and job["error"] == {"error": "solver", "status": "infeasible"}
    assert job["reason"] == body["message"] and job["schedule_id"] is None


def test_a_time_limit_without_any_schedule_answers_409(operator: httpx.Client) -> None:
    # 1 µs: HiGHS stops before presolve finishes (tests/models/test_solve.py)
    r = operator.post("/v1/schedules", json={"case": cases.big(), "options": {"mip_gap": 1e-9, "time_limit_s": 1e-6}})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["status"] == "time_limit_no_solution"
    assert "1e-06 s limit without any feasible schedule" in body["message"]


def test_a_time_limit_without_any_schedule_fails_the_async_job_with_the_reason(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"case": cases.big(), "async": True,
                                             "options": {"mip_gap": 1e-9, "time_limit_s": 1e-6}})
    assert r.status_code == 202, r.text
    job = wait_job(operator, r.json()["job_id"])
    assert job["status"] == "failed"
    assert "1e-06 s limit without any feasible schedule" in job["reason"]
    assert job["error"] == {"error": "solver", "status": "time_limit_no_solution"}
    assert "schedule" not in job["links"]


def test_a_template_that_cannot_be_materialised_for_the_day_answers_422(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"template": "teda-east", "date": "9999-12-31"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_input"
    assert body["problems"] == [{"path": "date", "message": "Out of bounds nanosecond timestamp: 9999-12-30 16:00:00"}]
    job = operator.get(f"/v1/jobs/{body['job_id']}").json()
    assert job["status"] == "failed" and job["error"]["error"] == "case"
    assert job["reason"] == ("1 problem while materialising the case:\n"
                             "  - Out of bounds nanosecond timestamp: 9999-12-30 16:00:00")


def test_a_template_day_takes_the_months_peak_and_added_events(operator: httpx.Client) -> None:
    """As `vpp dispatch --peak-to-date 600 --dr-event valley_filling,12:00-14:00,6,250`."""
    r = operator.post("/v1/schedules", json={
        "template": "teda-east", "date": "2026-07-14", "peak_to_date_mw": 600,
        "dr_events": [{"kind": "valley_filling", "window": "12:00-14:00", "amount_mw": 6, "price_cny_per_mwh": 250}]})
    assert r.status_code == 201, r.text
    body = r.json()
    case = operator.get(body["links"]["case"]).json()
    assert case["grid"]["peak_to_date_mw"] == 600
    (event,) = case["demand_response"]
    assert (event["id"], event["kind"], event["increase_mw"], event["price_cny_per_mwh"]) == (
        "dr-added-1", "valley_filling", 6, 250)
    assert (event["start_step"], event["end_step"]) == (48, 56)
    assert body["summary"]["cost_cny"].get("demand", 0.0) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(("body", "path", "message"), [
    ({"template": "teda-east", "peak_to_date_mw": -1}, "peak_to_date_mw", "Input should be greater than or equal to 0"),
    ({"template": "teda-east", "dr_events": [{"kind": "valley_filling", "window": "12-14", "amount_mw": 6}]},
     "dr_events[0].window", "expected a time as HH:MM, got '12'"),
    ({"template": "teda-east", "dr_events": [{"kind": "shave", "window": "12:00-14:00", "amount_mw": 6}]},
     "dr_events[0].kind", "Input should be 'peak_shaving' or 'valley_filling'"),
    ({"case": {}, "peak_to_date_mw": 400}, "body", "'peak_to_date_mw' and 'dr_events' apply to a template only; a case "
     "carries its own grid.peak_to_date_mw and demand_response"),
])
def test_a_bad_peak_or_event_answers_422_with_the_path(operator: httpx.Client, body: dict[str, Any], path: str,
                                                        message: str) -> None:
    r = operator.post("/v1/schedules", json=body)
    assert r.status_code == 422, r.text
    found = {p["path"]: p["message"] for p in r.json()["problems"]}
    assert found.get(path) == message, found


def test_an_event_outside_the_tianjin_range_answers_422_naming_it(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"template": "teda-east", "date": "2026-07-14", "dr_events": [
        {"kind": "peak_shaving", "window": "20:00-21:00", "amount_mw": 2}]})
    assert r.status_code == 422, r.text
    assert r.json()["problems"] == [{"path": "dr_events[0]", "message": "the event's 2 MWh (2 MW over 20:00-21:00) is "
                                     "outside the Tianjin DR range for aggregators [6, 1200] MWh"}]
