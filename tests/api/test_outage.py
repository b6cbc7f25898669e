"""The microgrid over real HTTP: a schedule with a known outage and a reserve, the outage study, the page.

The day is RESERVE_DAY of tests/vpp/test_outage.py (4 hours, buy [1000, 100, 100, 1000], a 1 MW load
half critical, a lossless 1 MW / 2 MWh battery): without a reserve the battery empties into the
1000 CNY/MWh hours; a 1 h reserve keeps 0.5 MWh above its minimum and costs 0.5 MWh × 900 = 450 CNY.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models import SolveOptions
from tests.api.conftest import OPERATOR, VIEWER, Server
from tests.api.test_page import _browser_page, painted_pixels, sign_in
from tests.api.test_schedules import wait_job
from tests.vpp.test_outage import RESERVE_DAY
from vpp.case import load_case
from vpp.dispatch import solve_case
from vpp.microgrid import with_backup_hours, with_outage

OPTS = SolveOptions(mip_gap=1e-9, threads=1)


@pytest.fixture
def operator(server: Server) -> Any:
    with server.client(OPERATOR) as c:
        yield c


def schedule(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    r = client.post("/v1/schedules", json={"case": RESERVE_DAY, "options": {"mip_gap": 0}, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_schedule_with_a_known_outage_and_a_reserve(operator: httpx.Client) -> None:
    made = schedule(operator, outage="01:00-02:00", backup_hours=1)
    expected = solve_case(with_backup_hours(with_outage(load_case(RESERVE_DAY), "01:00-02:00"), 1), OPTS)
    assert made["summary"]["objective_cny"] == pytest.approx(expected.objective_cny)
    assert made["summary"]["unserved"] == []
    case = operator.get(made["links"]["case"]).json()
    assert case["backup_hours"] == 1
    assert case["grid"]["import_max_mw"] == [10, 0, 10, 10]
    assert case["meta"]["outage"]["window"] == "01:00-02:00"
    series = operator.get(made["links"]["self"]).json()["schedule"]["series"]
    required = next(s for s in series if s["asset"] == "backup" and s["quantity"] == "required_mwh")
    assert required["values"] == pytest.approx([0.5] * 4)


@pytest.mark.parametrize(("extra", "path", "message"), [
    ({"outage": "3-4"}, "outage", "expected a time as HH:MM, got '3'; an outage is HH:MM-HH:MM in local time, "
                                  "e.g. 10:00-12:30"),
    ({"backup_hours": 0}, "backup_hours", "Input should be greater than 0"),
    ({"backup_hours": "1"}, "backup_hours", "Input should be a valid number"),
    ({"backup_hours": 1e300}, "backup_hours", "Input should be less than or equal to 8760"),
])
def test_a_bad_outage_or_reserve_is_refused_naming_the_field(operator: httpx.Client, extra: dict[str, Any],
                                                             path: str, message: str) -> None:
    r = operator.post("/v1/schedules", json={"case": RESERVE_DAY, **extra})
    assert r.status_code == 422, r.text
    assert r.json()["problems"] == [{"path": path, "message": message}]


def test_an_outage_outside_the_day_and_a_reserve_it_cannot_hold(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"case": RESERVE_DAY, "outage": "06:00-07:00"})
    assert r.status_code == 422, r.text
    assert r.json()["problems"] == [{"path": "outage", "message": "the outage 06:00-07:00 is not within the case's "
                                     "horizon 2026-07-15T00:00:00+08:00 to 2026-07-15T04:00:00+08:00"}]
    r = operator.post("/v1/schedules", json={"case": RESERVE_DAY, "backup_hours": 4})
    assert r.status_code == 409, r.text
    assert "backup_hours=4 needs 2 MWh in the batteries above their minimum" in r.json()["message"]


def test_the_outage_study_of_a_stored_schedule(operator: httpx.Client) -> None:
    made = schedule(operator)
    r = operator.post(f"/v1/schedules/{made['id']}/outage",
                      json={"hours": 2, "backup_hours": 1, "other_cny_per_mwh": 100})
    assert r.status_code == 202, r.text
    job = wait_job(operator, r.json()["job_id"], timeout=180)
    assert job["kind"] == "outage" and job["status"] == "done", job
    study = job["result"]
    assert study["schedule_id"] == made["id"]
    assert [v["label"] for v in study["variants"]] == ["without a reserve", "with a 1 h reserve"]
    reserved = solve_case(with_backup_hours(load_case(RESERVE_DAY), 1), OPTS)
    assert study["reserve_cost_cny"] == pytest.approx(reserved.objective_cny - made["summary"]["objective_cny"])
    assert study["reserve_cost_cny"] == pytest.approx(450)
    without, with_ = study["variants"]
    assert [p["length_hours"] for p in with_["curve"]] == [1, 2]
    assert with_["curve"][0]["share_survived"] == 1.0
    assert without["curve"][0]["share_survived"] < 1.0
    assert len(with_["critical_at_risk_mwh_by_step"]) == 4 and len(without["survived_hours_by_step"]) == 4


@pytest.mark.parametrize(("body", "path", "message"), [
    ({"hours": 5}, "hours", "expected at most the case's horizon (4 h), got 5"),
    ({"hours": 1, "other_cny_per_mwh": 30000}, "other_cny_per_mwh",
     "expected a price >= 0 and below the value of lost load (20000 CNY/MWh), got 30000"),
    ({"hours": -1}, "hours", "Input should be greater than 0"),
])
def test_a_bad_study_is_refused_naming_the_field(operator: httpx.Client, body: dict[str, Any], path: str,
                                                 message: str) -> None:
    made = schedule(operator)
    r = operator.post(f"/v1/schedules/{made['id']}/outage", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["problems"] == [{"path": path, "message": message}]


def test_a_study_needs_an_operator_and_a_schedule(server: Server, operator: httpx.Client) -> None:
    made = schedule(operator)
    with server.client(VIEWER) as viewer:
        assert viewer.post(f"/v1/schedules/{made['id']}/outage", json={}).status_code == 403
    r = operator.post("/v1/schedules/no-such-schedule/outage", json={})
    assert r.status_code == 404 and r.json()["message"] == "no schedule 'no-such-schedule'"


def test_the_page_requests_a_reserve_and_shows_the_outage_study(server: Server, operator: httpx.Client) -> None:
    made = schedule(operator, backup_hours=1)
    with _browser_page(viewport={"width": 1300, "height": 1400}) as (page, errors):
        sign_in(page, server.url)
        # the request form takes the outage and the reserve
        assert page.is_visible("#outage") and page.is_visible("#backup-hours")
        page.wait_for_selector("#recent tbody tr")
        page.click(f"#recent tbody tr:has-text('{RESERVE_DAY['name']}')")
        page.wait_for_selector("#outage-study:not([hidden])")
        assert "backup reserve 1 h" in page.text_content("#outage-facts")
        page.fill("#outage-hours", "2")
        page.click("#outage-run")
        page.wait_for_selector("#outage-table tr", timeout=180_000)
        table = page.text_content("#outage-table")
        assert "without a reserve" in table and "with a 1 h reserve" in table
        assert "carried through 1 h" in table
        assert "450" in page.text_content("#outage-cost")
        for chart in ("#chart-survival", "#chart-at-risk"):
            painted = painted_pixels(page, chart)
            assert painted > 2000, (chart, painted)
        assert errors == []
    assert made["summary"]["objective_cny"] > 0


def test_the_page_sends_the_outage_and_the_reserve_with_its_request(server: Server) -> None:
    with _browser_page(viewport={"width": 1300, "height": 1000}) as (page, errors):
        sign_in(page, server.url)
        page.fill("#outage", "25:00-26:00")
        page.click("#request")
        page.wait_for_selector("#problems li")
        assert page.text_content("#problems") == (
            "outage: 25:00 is not a time of the day (00:00 to 24:00); an outage is HH:MM-HH:MM in local time, "
            "e.g. 10:00-12:30")
        assert errors == [] or all("422" in e for e in errors)
