"""The results of a solved day (vpp/results.py): the bill, the periods an operator reads, the table round trip."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from models import SolveOptions
from vpp.case import load_case
from vpp.dispatch import solve_case
from vpp.results import curve_table, period_text, schedule_from_series, schedule_to_series

OPTS = SolveOptions(mip_gap=1e-9)


def case(steps: int, assets: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    grid = {"import_max_mw": 10.0, "buy_cny_per_mwh": 100.0} | kw.pop("grid", {})
    return {"name": "results", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 60, "steps": steps,
            "grid": grid, "assets": assets, **kw}


def _solve(data: dict[str, Any]) -> Any:
    return solve_case(load_case(data), OPTS)


def test_the_bill_counts_green_energy_at_the_time_of_use_price_and_its_premium_apart() -> None:
    # load 1 MW for 1 h; a green contract of 1 MW at 120 with a fee of 30, not optional; grid at 100.
    # Energy at the TOU price: 100; green premium: (120 − 100)·1 + 30 = 50; total 150 (the objective).
    g = {"id": "g", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 120, "fixed_cny": 30,
         "optional": False, "min_take": 1}
    r = _solve(case(1, [{"id": "l", "type": "load", "demand_mw": 1}, g]))
    bill = r.summary["bill_cny"]
    assert bill["energy_cny"] == pytest.approx(100)
    assert bill["green_premium_cny"] == pytest.approx(50)
    assert bill["total_cny"] == pytest.approx(r.objective_cny) == pytest.approx(150)
    assert sum(v for k, v in bill.items() if k != "total_cny") == pytest.approx(150)


def test_the_bill_has_the_maximum_demand_and_the_demand_response_apart() -> None:
    # load 5, c = 100/MW (peak 5 → 500), energy 500; an event asks 0 MW below a baseline of 6, paid 50:
    # revenue 50·0·1 = 0 … asks 1 below 6: net 5 ≤ 5, revenue 50·1·1 = 50.
    ev = {"id": "dr", "start_step": 0, "end_step": 1, "baseline_mw": 6, "reduction_mw": 1, "price_cny_per_mwh": 50,
          "shortfall_penalty_cny_per_mwh": 1000}
    r = _solve(case(1, [{"id": "l", "type": "load", "demand_mw": 5}], grid={"demand_charge_cny_per_mw": 100},
                    demand_response=[ev]))
    bill = r.summary["bill_cny"]
    assert bill["maximum_demand_cny"] == pytest.approx(500)
    assert bill["demand_response_revenue_cny"] == pytest.approx(-50)
    assert bill["demand_response_penalty_cny"] == pytest.approx(0)
    assert bill["total_cny"] == pytest.approx(950)


def test_the_net_import_is_in_the_curve() -> None:
    r = _solve(case(2, [{"id": "l", "type": "load", "demand_mw": [2, 3]},
                        {"id": "pv", "type": "pv", "available_mw": [0.5, 0]}]))
    curve = r.curve()
    assert curve["grid.net_import_mw"].tolist() == pytest.approx([1.5, 3])


@pytest.mark.parametrize(("start", "end", "text"), [
    ("2026-07-15T00:00:00+08:00", "2026-07-16T00:00:00+08:00", "00:00-24:00"),
    ("2026-07-15T22:00:00+08:00", "2026-07-16T00:00:00+08:00", "22:00-24:00"),
    ("2026-07-15T08:00:00+08:00", "2026-07-15T12:30:00+08:00", "08:00-12:30"),
    ("2026-07-15T20:00:00+08:00", "2026-07-16T02:00:00+08:00", "07-15 20:00-07-16 02:00"),
])
def test_periods_read_as_an_operator_reads_them(start: str, end: str, text: str) -> None:
    assert period_text({"from": start, "to": end}) == text


def test_a_whole_day_unserved_is_said_as_the_whole_day() -> None:
    # nothing can be imported: the 1 MW load is unserved all day.
    r = _solve(case(24, [{"id": "l", "type": "load", "demand_mw": 1}], grid={"import_max_mw": 0}))
    assert r.summary["messages"] == ["unserved energy at node grid: 24.000 MWh (max 1.000 MW) during 00:00-24:00"]


def test_the_schedule_round_trips_through_json_series() -> None:
    ev = {"id": "dr", "start_step": 1, "end_step": 2, "baseline_mw": 3, "reduction_mw": 1, "price_cny_per_mwh": 50,
          "shortfall_penalty_cny_per_mwh": 1000}
    r = _solve(case(3, [{"id": "l", "type": "load", "demand_mw": 2}], demand_response=[ev]))
    back = schedule_from_series(schedule_to_series(r.schedule, r.case.timestamps))
    pd.testing.assert_frame_equal(back, r.schedule, check_dtype=False)
    pd.testing.assert_frame_equal(curve_table(back), r.curve(), check_dtype=False)


def test_a_stochastic_schedule_round_trips_with_its_scenarios() -> None:
    data = case(2, [{"id": "l", "type": "load", "demand_mw": 2}],
                scenarios=[{"id": "a", "probability": 0.5, "series": {}},
                           {"id": "b", "probability": 0.5, "series": {"l.demand_mw": 3}}])
    r = _solve(data)
    back = schedule_from_series(schedule_to_series(r.schedule, r.case.timestamps))
    pd.testing.assert_frame_equal(back, r.schedule, check_dtype=False)
    assert "b|grid.import_mw" in r.curve().columns
