"""Storage sizing over real HTTP: a planner submits a study, the job's result is sizing.json.

The study is the hand case of tests/vpp/sizing/conftest.py: a 10 MW load with an
evening price step and an annualised capital cost of 91,250 CNY per MWh-year,
whose optimum is 20 MWh saving 2,547,700 CNY a year (derived there by hand).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import ADMIN, OPERATOR, PLANNER, VIEWER, Databases, Server
from tests.api.test_schedules import wait_job
from tests.vpp.sizing.conftest import HAND_BATTERY, HAND_ECONOMICS, hand_case_data, hand_series


def hand_study(**changes: Any) -> dict[str, Any]:
    case = hand_case_data()
    case["assets"].append({"id": "bess", "type": "battery", "power_mw": 5, "energy_mwh": 10, **HAND_BATTERY})
    year = hand_series(365)
    series = {"timestamp": [t.isoformat() for t in year["timestamp"]],
              **{c: year[c].tolist() for c in year.columns if c != "timestamp"}}
    return {"case": case, "series": series, "typical_days": 12, "sweep": "power=10,20,energy=10,20,30",
            "full_year_check": False, "economics": HAND_ECONOMICS, "battery": {"auxiliary_mw_per_mw": 0.0}} | changes


@pytest.fixture(scope="module")
def big_server(backend: str, databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server taking the default body limit (5 MB): a year of hourly series is about 0.4 MB of JSON."""
    srv = Server(databases.new(backend), tmp_path_factory.mktemp(f"sizing-{backend}"), VPP_MAX_BODY_BYTES=5_000_000).start()
    yield srv
    srv.stop()


def test_a_planner_sizes_the_hand_case(big_server: Server) -> None:
    with big_server.client(PLANNER) as planner:
        r = planner.post("/v1/sizing", json=hand_study())
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        assert r.headers["location"] == f"/v1/jobs/{job_id}"
        job = wait_job(planner, job_id, timeout=120)
    assert job["kind"] == "sizing" and job["status"] == "done", job
    result = job["result"]
    rec = result["recommended"]
    assert rec["energy_mwh"] == pytest.approx(20.0, abs=1e-6)
    assert rec["sites"] == [{"site": "grid", "power_mw": pytest.approx(rec["power_mw"]), "energy_mwh": pytest.approx(20.0, abs=1e-6)}]
    assert rec["saving_cny_per_year"] == pytest.approx(2_547_700, abs=1e-3)
    assert rec["annualised_capital_cny_per_year"] == pytest.approx(20 * 91_250, rel=1e-9)
    assert result["runner"] == "serial (this process)"  # VPP_SIZING_SCHEDULER's default: the worker itself
    assert result["failed_days"] == [] and result["complete"] is True


@pytest.mark.parametrize(("token", "status"), [(OPERATOR, 403), (VIEWER, 403), (None, 401), ("not-a-token", 401)])
def test_only_planners_and_admins_size(server: Server, token: str | None, status: int) -> None:
    with server.client(token) as client:
        r = client.post("/v1/sizing", json={"template": "teda-east", "typical_days": 2})
    assert r.status_code == status, r.text
    if status == 403:
        assert r.json()["message"] == "role '" + ("operator" if token == OPERATOR else "viewer") + "' may not do this (needs one of: planner, admin)"


BAD = [
    ({"template": "teda-east", "case": hand_case_data()}, "body", "give either 'template' or 'case' (with 'series'), not both or neither"),
    ({"case": hand_case_data()}, "body", "a 'case' needs the year's 'series'"),
    ({"template": "teda-west"}, "template", "unknown template 'teda-west'"),
    ({"template": "teda-east", "scheduler": "tcp://10.0.0.1:8786"}, "scheduler", "unknown field"),
    ({"template": "teda-east", "series": {"timestamp": ["2025-01-01T00:00:00"], "load_mw": [1.0]}}, "series.timestamp",
     "time zone missing"),
    ({"template": "teda-east", "sweep": "power=10"}, "sweep", "missing energy=…: the sweep needs both power (MW) and energy (MWh)"),
    ({"template": "teda-east", "economics": {"bogus_cny": 1.0}}, "economics.bogus_cny", "unknown key 'bogus_cny'"),
    ({"template": "teda-east", "time_limit_s": 10_000.0}, "time_limit_s", "at most 120 s (VPP_MAX_TIME_LIMIT_S), got 10000"),
    ({"template": "teda-east", "year": 1800}, "year", "greater than or equal to 1900"),
    ({"template": "teda-east", "sites": ["sub-1", " sub-2"]}, "sites[1]", "String should match pattern"),
]


@pytest.mark.parametrize(("body", "path", "message"), BAD, ids=["both-sources", "no-series", *[b[1] for b in BAD[2:]]])
def test_a_bad_study_is_refused_with_its_path(server: Server, body: dict[str, Any], path: str, message: str) -> None:
    with server.client(ADMIN) as admin:
        r = admin.post("/v1/sizing", json=body)
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert any(p["path"] == path and message in p["message"] for p in problems), problems


def test_a_case_with_errors_is_refused_before_it_is_queued(big_server: Server) -> None:
    study = hand_study()
    study["case"]["steps"] = 0
    with big_server.client(PLANNER) as planner:
        r = planner.post("/v1/sizing", json=study)
    assert r.status_code == 422, r.text
    assert any(p["path"] == "case.steps" for p in r.json()["problems"]), r.json()


def test_an_unknown_site_fails_the_job_with_the_reason(big_server: Server) -> None:
    with big_server.client(PLANNER) as planner:
        r = planner.post("/v1/sizing", json=hand_study(sites=["nowhere"]))
        assert r.status_code == 202, r.text
        job = wait_job(planner, r.json()["job_id"], timeout=120)
    assert job["status"] == "failed", job
    assert "nowhere" in job["reason"]
    assert job["error"]["error"] == "case" and job["error"]["problems"][0]["path"].startswith("sites")


def test_studies_beyond_the_limit_are_refused_with_retry_after(new_server: Any) -> None:
    srv = new_server(VPP_MAX_SIZING_JOBS="0").start()
    with srv.client(PLANNER) as planner:
        refused = planner.post("/v1/sizing", json={"template": "teda-east", "typical_days": 2})
        bad = planner.post("/v1/sizing", json={"template": "teda-east", "sweep": "power=1"})
        # a whole number may be written 2.0 (JSON has one kind of number): checked, then refused for the limit alone
        whole = planner.post("/v1/sizing", json={"template": "teda-east", "typical_days": 2.0, "year": 2025.0})
        half = planner.post("/v1/sizing", json={"template": "teda-east", "typical_days": 2.5})
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "60"
    assert refused.json()["error"] == "busy"
    assert refused.json()["message"] == ("0 sizing studies are queued or running, the most this service takes at once "
                                         "(VPP_MAX_SIZING_JOBS); submit again later")
    assert bad.status_code == 422  # a bad study is told so, busy or not
    assert whole.status_code == 429, whole.text
    assert half.status_code == 422
    assert half.json()["problems"] == [{"path": "typical_days", "message": "Input should be a valid integer"}]


def test_the_page_shows_why_the_answer_is_what_it_is(big_server: Server) -> None:
    """A finished sizing job on the page: the hand answer, the plan's own size, the tornado and the NPV curve."""
    from tests.api.test_page import _browser_page

    with big_server.client(PLANNER) as planner:
        r = planner.post("/v1/sizing", json=hand_study())
        job_id = r.json()["job_id"]
        job = wait_job(planner, job_id, timeout=120)
    assert job["status"] == "done", job
    with _browser_page(viewport={"width": 1300, "height": 1000}) as (page, errors):
        page.goto(big_server.url + "/")
        page.fill("#token", PLANNER)
        page.click("#save-token")
        page.fill("#sizing-job", job_id)
        page.click("#sizing-show")
        page.wait_for_selector("#sizing-tornado tbody tr", timeout=30_000)
        table = page.text_content("#sizing-table")
        assert "MW / 20.00 MWh (co-optimisation over the typical days)" in table  # the hand optimum
        assert "the plan 5.00 MW / 10.00 MWh" in table and "break-even capital cost" in table
        assert "saving by source" in table and "time of use energy" in table
        inputs = page.eval_on_selector_all("#sizing-tornado tbody tr", "rs => rs.map(r => r.cells[0].textContent)")
        assert sorted(inputs) == sorted(["capital cost", "discount rate", "lifetime years", "price spread", "event days", "demand charge"])
        assert page.eval_on_selector("#chart-sizing canvas", "c => c.width") > 300
        legend = page.text_content("#chart-sizing")
        assert "the plan" in legend and "recommended" in legend
        assert errors == [], errors
        page.fill("#sizing-job", "no-such-job")  # the browser logs the 404 itself
        page.click("#sizing-show")
        page.wait_for_function("document.getElementById('sizing-status').className === 'error'")
        assert page.text_content("#sizing-status").startswith("404")
