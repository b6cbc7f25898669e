"""Frequency regulation through the service: the request's switch, the summary's section, and the page's panel."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import Server
from tests.api.test_page import CAPTURE_CHARTS, DRAWN, _browser_page, sign_in


def arbitrage() -> dict[str, Any]:
    """One lossless 1 MW / 2 MWh battery, load 2 MW, buy [100, 300], a capacity price of 50 CNY/MW·h.

    By hand (tests/vpp/test_regulation.py derives it): without regulation it shifts 0.8 MWh, cost 640;
    with it, 11/15 MWh and a band of 4/15 MW each hour, cost 1880/3; net value 40/3, revenue 80/3.
    """
    return {"name": "arbitrage", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": 2,
            "grid": {"import_max_mw": 10, "buy_cny_per_mwh": [100, 300]},
            "assets": [{"id": "load", "type": "load", "demand_mw": 2},
                       {"id": "bat", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
                        "discharge_efficiency": 1, "regulation": True}],
            "regulation": {"capacity_price_cny_per_mw_h": 50}}


def test_a_schedule_with_regulation_answers_with_the_bid_and_both_objectives(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"case": arbitrage(), "options": {"mip_gap": 0}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["summary"]["objective_cny"] == pytest.approx(1880 / 3, abs=1e-6)
    reg = body["summary"]["regulation"]
    assert [b["total_mw"] for b in reg["blocks"]] == pytest.approx([4 / 15, 4 / 15], abs=1e-6)
    assert [b["offer_mw"]["bat"] for b in reg["blocks"]] == pytest.approx([4 / 15, 4 / 15], abs=1e-6)
    assert reg["revenue_cny"] == pytest.approx({"capacity": 80 / 3, "mileage": 0, "total": 80 / 3}, abs=1e-6)
    c = reg["comparison"]
    assert c["without_regulation"]["objective_cny"] == pytest.approx(640, abs=1e-6)
    assert c["net_value_cny"] == pytest.approx(40 / 3, abs=1e-6)
    assert c["energy_margin_given_up_cny"] == pytest.approx(40 / 3, abs=1e-6)
    stored = operator.get(body["links"]["self"]).json()
    assert stored["summary"]["regulation"] == reg
    assert [s["values"] for s in stored["schedule"]["series"] if s["quantity"] == "regulation_mw"] == [
        pytest.approx([4 / 15, 4 / 15], abs=1e-6)]


def test_regulation_false_solves_the_day_without_the_market(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"case": arbitrage(), "options": {"mip_gap": 0}, "regulation": False})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["summary"]["objective_cny"] == pytest.approx(640, abs=1e-6)
    assert "regulation" not in body["summary"]
    assert "regulation" not in operator.get(body["links"]["case"]).json()  # the case that was solved


def test_the_regulation_switch_must_be_true_or_false(operator: httpx.Client) -> None:
    r = operator.post("/v1/schedules", json={"template": "teda-east", "regulation": "on"})
    assert r.status_code == 422
    assert {p["path"]: p["message"] for p in r.json()["problems"]} == {"regulation": "Input should be a valid boolean"}


def test_the_page_shows_the_bid_its_revenue_and_the_band(server: Server) -> None:
    with _browser_page(viewport={"width": 1300, "height": 1000}) as (page, errors):
        page.add_init_script(CAPTURE_CHARTS)
        sign_in(page, server.url)
        page.fill("#mip-gap", "0")
        page.select_option("#case", "file")
        page.set_input_files("#case-file", files=[{"name": "arbitrage.json", "mimeType": "application/json",
                                                   "buffer": json.dumps(arbitrage()).encode()}])
        page.click("#request")
        page.wait_for_selector("#regulation-bid tbody tr", timeout=90_000)
        page.wait_for_function(DRAWN)
        text = [page.text_content(f"#regulation p:nth-of-type({k})") for k in (1, 2, 3)]
        assert text == [
            "Offered in 2 of 2 blocks of 60 min, up to 0.27 MW (0.5 MW·h); expected loss following the signal 0.00 MWh.",
            "Revenue 27 CNY: capacity 27, mileage 0.",
            "Cost with regulation 627 CNY, without 640 CNY: net value 13 CNY, energy margin given up 13 CNY.",
        ]
        rows = page.eval_on_selector_all("#regulation-bid tr", "rows => rows.map((r) => [...r.cells].map((c) => c.textContent))")
        assert rows == [["block", "bat [MW]", "total [MW]", "capacity [CNY/MW·h]", "mileage [CNY/MW]", "revenue [CNY]"],
                        ["00:00–01:00", "0.27", "0.27", "50.0", "0.0", "13"],
                        ["01:00–02:00", "0.27", "0.27", "50.0", "0.0", "13"]]
        # the band's chart: net power −11/15 then 11/15 MW, the band 4/15 MW either side of it
        series = page.evaluate("""() => { const u = window.__charts.find((u) => u.root.isConnected
                                     && u.root.parentElement.id === "chart-regulation");
                                   return u.data.slice(1); }""")
        upper, lower, net = series
        assert net == pytest.approx([-11 / 15, 11 / 15, 11 / 15], abs=1e-6)
        assert upper == pytest.approx([-7 / 15, 1, 1], abs=1e-6) and lower == pytest.approx([-1, 7 / 15, 7 / 15], abs=1e-6)

        # the same day without regulation: the panel goes away
        status = page.evaluate("""async (body) => {
          const res = await fetch('/v1/schedules', { method: 'POST', headers: { 'Content-Type': 'application/json',
            Authorization: 'Bearer ' + localStorage.getItem('vpp.token') }, body: JSON.stringify(body) });
          return res.status; }""", {"case": arbitrage(), "regulation": False})
        assert status == 201
        page.reload()
        page.click("#recent tbody tr:first-child")
        page.wait_for_function("document.querySelector('#summary').textContent.includes('640')", timeout=30_000)
        assert page.is_hidden("#regulation")
    assert errors == []
