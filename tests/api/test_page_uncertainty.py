"""The page's stochastic day in a real headless Chromium: scenarios asked for, the fan and its worth drawn."""

from __future__ import annotations

import httpx

from tests.api.conftest import Server
from tests.api.test_page import _browser_page, sign_in


def test_the_page_asks_for_scenarios_and_draws_the_fan_and_what_it_is_worth(server: Server) -> None:
    with _browser_page(viewport={"width": 1300, "height": 1400}) as (page, errors):
        sign_in(page, server.url)
        page.select_option("#case", "teda-east")
        page.fill("#date", "2026-07-15")
        page.fill("#mip-gap", "0.001")
        page.fill("#scenarios", "3")
        page.click("#request")
        page.wait_for_selector("#uncertainty-table tr", timeout=600_000)
        assert page.is_visible("#uncertainty")
        head = page.text_content("#uncertainty h3")
        assert head.startswith("Under uncertainty: 3 scenarios of PV and load")
        painted = page.eval_on_selector(
            "#chart-scenarios canvas",
            """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                      let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")
        assert painted > 5000, painted
        legend = page.text_content("#chart-scenarios")
        for label in ("s01", "s02", "s03", "10 %", "90 %", "expected"):
            assert label in legend, label
        table = page.text_content("#uncertainty-table")
        for row in ("value of the stochastic solution (VSS)", "expected value of perfect information (EVPI)",
                    "CVaR at 0.9 (worst 10 %)", "day-ahead decisions (stochastic plan)", "green-haiyun taken"):
            assert row in table, row
        assert errors == []
        # the main charts show the most probable scenario's schedule, named
        schedule_id = page.text_content("#status").split()[1].rstrip(":")
        with server.client() as c:
            body = c.get(f"/v1/schedules/{schedule_id}").json()
        likeliest = max(body["summary"]["scenarios"], key=lambda s: s["probability"])["id"]
        assert body["schedule"]["scenario"] == likeliest

        # a case file carries its own scenarios: the inputs are hidden for it
        page.select_option("#case", "file")
        assert not page.is_visible("#scenarios") and not page.is_visible("#risk-weight")


def test_scenarios_are_asked_of_a_template_and_checked_field_by_field(operator: httpx.Client) -> None:
    case = {"name": "c", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 1,
            "grid": {"import_max_mw": 1, "buy_cny_per_mwh": 1}}
    r = operator.post("/v1/schedules", json={"case": case, "scenarios": {"count": 2}})
    assert r.status_code == 422, r.text
    assert "'scenarios' are drawn from a template's forecasts" in r.text
    r = operator.post("/v1/schedules", json={"template": "teda-east", "scenarios": {"count": 0}})
    assert r.status_code == 422, r.text
    assert any(p["path"] == "scenarios.count" for p in r.json()["problems"]), r.text
    # a stochastic day always runs in the background: 202 with a job at once
    r = operator.post("/v1/schedules", json={"template": "teda-east", "date": "2026-07-15",
                                             "options": {"mip_gap": 1e-3}, "scenarios": {"count": 2, "draws": 50}})
    assert r.status_code == 202, r.text
