"""Every day of a year materialises into a valid case, and one day a month solves as an operator expects.

The year loop validates only (no solve): 2025 reads the month's peak and the
baselines from the shipped history, 2026 from the documented profiles. The
monthly solves check what a Tianjin grid operator would look at first.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from vpp.case import load_case
from vpp.cases import materialize, teda_east
from vpp.cases.green import import_floor_mw
from vpp.dispatch import solve_case

PRICES = {281.0, 581.0, 881.0, 1041.0}  # 500 × (0.4, 1, 1.6, 1.92) + 81 CNY/MWh


def calendar_of(year: int) -> set[dt.date]:
    d, _ = teda_east.template_data()
    return {dt.date.fromisoformat(e["date"]) for e in d["demand_response"]["calendar"] if e["date"].startswith(str(year))}


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_of_the_year_materialises(year: int) -> None:
    called = calendar_of(year)
    day, seen = dt.date(year, 1, 1), 0
    with_events = set()
    while day.year == year:
        case = materialize("teda-east", day)
        again = load_case(json.loads(case.to_json()))  # the canonical JSON is a valid case
        assert again.steps == 96 and again.start.date() == day
        assert set(np.round(case.series(case.grid.buy_cny_per_mwh), 6)) <= PRICES, day
        assert 0 <= case.grid.peak_to_date_mw < case.grid.import_max_mw, day
        assert (case.grid.peak_to_date_mw == 0) == (day.day == 1), day
        assets = [a.model_dump() for a in case.assets]
        green = sum(case.series(a.available_mw) for a in case.assets if a.type == "green_contract")
        assert np.all(green <= import_floor_mw(assets, case.steps) + 1e-6), day  # settled within the floor
        if case.demand_response:
            with_events.add(day)
        seen += 1
        day += dt.timedelta(days=1)
    assert seen == 365 and with_events == called


@pytest.mark.parametrize("month", range(1, 13))
def test_one_day_a_month_solves_as_an_operator_expects(month: int) -> None:
    case = materialize("teda-east", dt.date(2026, month, 15))
    s = solve_case(case).summary
    assert s["status"] == "optimal"
    assert all(u["kind"] == "demand_response_shortfall" for u in s["unserved"])  # no unserved energy or heat
    assert s["energy_mwh"]["unserved_mwh"] == pytest.approx(0.0, abs=1e-6)
    # The batteries follow the time-of-use calendar: one cycle in July and August (one valley, one peak block),
    # at most two elsewhere (两充两放: two valleys, two peaks); never more.
    for b in s["batteries"]:
        assert b["equivalent_cycles"] <= (1.2 if month in (7, 8) else 2.0) + 1e-6, b
    # Green contracts are settled, not dispatched: every one taken, every MWh of it.
    for g in s["green_contracts"]:
        avail = case.series(next(a for a in case.assets if a.id == g["id"]).available_mw)
        assert g["taken"] and g["energy_mwh"] == pytest.approx(avail.sum() / 4, abs=1e-6)
    # Mid-month the day pays the demand charge only above the month's peak so far.
    demand = s["cost_cny"].get("demand", 0.0)
    excess = max(0.0, s["peak_import_mw"] - case.grid.peak_to_date_mw)
    assert demand == pytest.approx(36_000 * excess, abs=1e-3)
    # An event only on a calendar day: of the 15ths, the cold snap of 15 January 2026.
    called = ["dr-peak-shaving-2026-01-15"] if month == 1 else []
    assert [e["id"] for e in s["demand_response"]] == called
    assert (s["cost_cny"].get("dr_revenue", 0.0) < 0) == bool(called)
