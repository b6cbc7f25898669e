"""Settlement (operator) and the cost–carbon front (planner) over real HTTP, on the hand days of tests/vpp.

The settlement day is tests/vpp/test_settlement.py's: the factory's 4 MW and the mill's 2 MW
earn 12,000 CNY, of which the aggregator keeps 2,400 and the rest is shared 6,400 to 3,200.
The front's day is tests/vpp/test_pareto.py's: its least emission is 16 tCO2 at 23,200 CNY.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import ADMIN, OPERATOR, PLANNER, VIEWER, Server
from tests.api.test_schedules import wait_job
from tests.vpp.test_pareto import front_case
from tests.vpp.test_settlement import hand_case

#: The database is this module's subject: on PostgreSQL too when VPP_TEST_DATABASE_URL is set (conftest).
pytestmark = pytest.mark.every_database


@pytest.fixture(scope="module")
def schedule_id(server: Server) -> str:
    with server.client(OPERATOR) as operator:
        r = operator.post("/v1/schedules", json={"case": hand_case()})
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture
def planner(server: Server) -> Iterator[httpx.Client]:
    with server.client(PLANNER) as c:
        yield c


def test_an_operator_settles_a_stored_schedule(server: Server, schedule_id: str) -> None:
    with server.client(OPERATOR) as operator:
        r = operator.post("/v1/settlements", json={"schedule_ids": [schedule_id]})
        assert r.status_code == 202, r.text
        job = wait_job(operator, r.json()["job_id"], timeout=90)
        assert job["kind"] == "settlement" and job["status"] == "done", job
        result = job["result"]
        net = {p["participant"]: p["net_cny"] for p in result["participants"]}
        assert net == {"town": 0.0, "factory": 6400.0, "mill": 3200.0, "(aggregator)": 2400.0}
        assert result["every_pot_adds_up"] is True and result["schedule_ids"] == [schedule_id]
        page = operator.get(f"/v1/settlements/{job['id']}/statements/factory")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Net for the period: 6,400.00 CNY" in page.text
        missing = operator.get(f"/v1/settlements/{job['id']}/statements/nobody")
        assert missing.status_code == 404 and missing.json()["message"] == f"no statement of 'nobody' in job '{job['id']}'"


def test_rules_given_in_the_request_change_the_split(server: Server, schedule_id: str) -> None:
    with server.client(ADMIN) as admin:
        r = admin.post("/v1/settlements", json={"schedule_ids": [schedule_id], "rules": {"sharing": {"aggregator_share": 0.5}}})
        job = wait_job(admin, r.json()["job_id"], timeout=90)
    net = {p["participant"]: p["net_cny"] for p in job["result"]["participants"]}
    assert net["(aggregator)"] == 6000.0 and net["factory"] == 4000.0 and net["mill"] == 2000.0
    assert job["result"]["rules"]["aggregator_share"] == {"value": 0.5, "source": "[given] request"}


@pytest.mark.parametrize(("body", "path", "message"), [
    ({"schedule_ids": ["no-such-id"]}, "schedule_ids[0]", "no schedule 'no-such-id'"),
    ({"schedule_ids": []}, "schedule_ids", "at least 1 item"),
    ({"schedule_ids": "x", "rules": {}}, "schedule_ids", "valid list"),
])
def test_a_bad_settlement_is_refused_with_its_path(server: Server, body: dict, path: str, message: str) -> None:
    with server.client(OPERATOR) as operator:
        r = operator.post("/v1/settlements", json=body)
    assert r.status_code == 422, r.text
    assert any(p["path"] == path and message in p["message"] for p in r.json()["problems"]), r.json()


def test_bad_rules_are_refused_before_the_job(server: Server, schedule_id: str) -> None:
    with server.client(OPERATOR) as operator:
        r = operator.post("/v1/settlements", json={"schedule_ids": [schedule_id],
                                                   "rules": {"effective_response": {"lower_fraction": 2}}})
    assert r.status_code == 422, r.text
    assert r.json()["problems"] == [{"path": "rules.effective_response.lower_fraction",
                                     "message": "expected a fraction between 0 and 1, got 2"}]


@pytest.mark.parametrize(("token", "url", "status"), [
    (VIEWER, "/v1/settlements", 403), (PLANNER, "/v1/settlements", 403), (None, "/v1/settlements", 401),
    (VIEWER, "/v1/pareto", 403), (OPERATOR, "/v1/pareto", 403),
])
def test_roles(server: Server, token: str | None, url: str, status: int) -> None:
    with server.client(token) as client:
        r = client.post(url, json={"schedule_ids": ["x"]} if "settle" in url else {"case": front_case(), "points": 2})
    assert r.status_code == status, r.text


def test_a_planner_draws_the_front(planner: httpx.Client) -> None:
    r = planner.post("/v1/pareto", json={"case": front_case(), "points": 3})
    assert r.status_code == 202, r.text
    job = wait_job(planner, r.json()["job_id"], timeout=90)
    assert job["kind"] == "pareto" and job["status"] == "done", job
    points = job["result"]["points"]
    assert len(points) == 3 and job["result"]["monotone"] is True
    assert points[-1]["emissions_t"] == pytest.approx(16.0, abs=1e-6)
    assert points[-1]["cost_cny"] == pytest.approx(23_200.0, abs=1e-3)
    assert points[0]["chosen_from_cny_per_t"] == 0.0 and points[-1]["chosen_to_cny_per_t"] is None  # ∞ in JSON


def test_a_bad_front_request_names_the_field(planner: httpx.Client) -> None:
    r = planner.post("/v1/pareto", json={"case": front_case(), "points": 1})
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "points", r.text
    r = planner.post("/v1/pareto", json={"template": "teda-east", "case": front_case()})
    assert r.status_code == 422 and "give either 'case'" in r.text


def test_the_page_settles_the_schedule_shown_and_draws_a_front(server: Server, tmp_path) -> None:  # noqa: ANN001
    import json

    from tests.api.test_page import _browser_page

    hand, front = tmp_path / "hand.json", tmp_path / "front.json"
    hand.write_text(json.dumps(hand_case()), encoding="utf-8")
    front.write_text(json.dumps(front_case()), encoding="utf-8")
    with _browser_page(viewport={"width": 1300, "height": 1400}) as (page, errors):
        page.goto(server.url + "/")
        page.fill("#token", ADMIN)  # an operator settles, a planner draws fronts: the admin does both
        page.click("#save-token")
        page.select_option("#case", "file")
        page.set_input_files("#case-file", str(hand))
        page.click("#request")
        page.wait_for_selector("#summary tr", timeout=90_000)
        assert page.is_visible("#settle-panel") and "hand · 2026-07-15" in page.text_content("#settle-title")

        page.click("#settle")
        page.wait_for_selector("#settle-table tbody tr", timeout=90_000)
        assert page.text_content("#settle-status").startswith("Settled: 12,000.00 CNY in all; every share adds up to the fen: yes")
        rows = page.eval_on_selector_all("#settle-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
        assert [r[0] for r in rows] == ["factory", "mill", "(aggregator)"]
        assert [r[4] for r in rows] == ["6,400.00", "3,200.00", "2,400.00"]
        painted = page.eval_on_selector(
            "#chart-settle canvas", """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                                              let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")
        assert painted > 3000
        with page.expect_popup() as popup:
            page.click("#settle-table tbody tr:first-child a")
        popup.value.wait_for_load_state()
        assert "Net for the period: 6,400.00 CNY" in popup.value.text_content("body")

        page.set_input_files("#case-file", str(front))
        page.fill("#pareto-points", "3")
        page.click("#pareto-run")
        page.wait_for_selector("#pareto-table tbody tr", timeout=90_000)
        assert "front monotone" in page.text_content("#pareto-status")
        cells = page.eval_on_selector_all("#pareto-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
        assert len(cells) == 3 and cells[-1][1] == "16.000" and cells[-1][2] == "23,200" and cells[-1][5].endswith("– ∞")
        assert page.eval_on_selector("#chart-pareto canvas", "c => c.width") > 300
    assert errors == []


def test_vpp_settle_reads_a_stored_schedule_by_its_id(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import json
    import uuid

    from typer.testing import CliRunner

    from api.db import Schedule, make_engine, migrate, session_factory
    from api.kinds import schedule_series
    from vpp.case import load_case
    from vpp.cli import app
    from vpp.dispatch import solve_case

    url = f"sqlite:///{tmp_path / 'vpp.db'}"
    engine = make_engine(url)
    migrate(engine)
    result = solve_case(load_case(hand_case()))
    schedule_id = str(uuid.uuid4())
    with session_factory(engine)() as s, s.begin():
        s.add(Schedule(id=schedule_id, case_name="hand", date="2026-07-15", status=result.status,
                       objective_cny=result.objective_cny, summary=result.summary, series=schedule_series(result),
                       case=json.loads(result.case.to_json()), options={}))
    engine.dispose()
    monkeypatch.setenv("VPP_DATABASE_URL", url)
    run = CliRunner().invoke(app, ["settle", "--schedule", schedule_id, "--out", str(tmp_path / "out"), "--no-pdf"])
    assert run.exit_code == 0, run.output
    table = (tmp_path / "out" / "settlement.csv").read_text(encoding="utf-8")
    assert "factory,plant,6400.0,0.0,0.0,0.0,6400.0" in table
    other = str(uuid.uuid4())
    missing = CliRunner().invoke(app, ["settle", "--schedule", other, "--no-pdf"], env={"COLUMNS": "1000"})
    assert missing.exit_code == 2 and f"no stored schedule '{other}' in the service's database" in missing.output


def test_fronts_are_refused_when_the_planners_limit_is_reached(new_server) -> None:  # noqa: ANN001
    srv = new_server(VPP_MAX_SIZING_JOBS=0).start()
    with srv.client(PLANNER) as planner:
        r = planner.post("/v1/pareto", json={"case": front_case(), "points": 2})
    assert r.status_code == 429 and r.headers["retry-after"] == "60", r.text
    assert r.json()["message"] == ("0 fronts are queued or running, the most this service takes at once "
                                   "(VPP_MAX_SIZING_JOBS); submit again later")
