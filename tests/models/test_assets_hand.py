"""Tiny cases whose optimum is derived by hand (in the comments), one or more per asset type and option.

Every case is solved through ``vpp.dispatch.solve_case`` with a MIP gap of 1e-9,
once by each engine (the matrix engine and the Pyomo model, ``models.optimize``);
the objective is asserted to 1e-6 relative, and the decisions that make it.
Δ = 1 h unless said otherwise; prices in CNY/MWh, powers in MW.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

from models import SolveOptions
from vpp.case import load_case
from vpp.dispatch import solve_case
from vpp.results import DispatchResult

START = "2026-07-15T00:00:00+08:00"
OPTS = SolveOptions(mip_gap=1e-9)


def case(steps: int, assets: list[dict[str, Any]], buy: Any = 100.0, step_minutes: int = 60, **kw: Any) -> dict[str, Any]:
    grid = {"import_max_mw": 10.0, "buy_cny_per_mwh": buy}
    grid.update(kw.pop("grid", {}))
    return {"name": "hand", "start": START, "step_minutes": step_minutes, "steps": steps,
            "grid": grid, "assets": assets, **kw}


ENGINE = "matrix"  # set per test by the fixture below


@pytest.fixture(autouse=True, params=["matrix", "pyomo"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test of this module runs once per engine."""
    monkeypatch.setattr(sys.modules[__name__], "ENGINE", request.param)
    return request.param


def run(data: dict[str, Any]) -> DispatchResult:
    result = solve_case(load_case(data), OPTS, engine=ENGINE)
    assert result.status == "optimal"
    return result


def series(result: DispatchResult, element: str, quantity: str) -> np.ndarray:
    s = result.schedule
    rows = s[(s["asset"] == element) & (s["quantity"] == quantity)].sort_values("step")
    return rows["value"].to_numpy(dtype=float)


def approx(x: Any) -> Any:
    return pytest.approx(x, rel=1e-6, abs=1e-6)


# ---------------------------------------------------------------------------
# 4.1 PV
# ---------------------------------------------------------------------------


def test_pv_surplus_beyond_export_limit_is_curtailed_at_its_cost() -> None:
    # t0: PV 5, load 1, export ≤ 2 → use 1, export 2 (+50 each), the other 2 MW must be
    #     curtailed at 10 each: -100 + 20 = -80. Curtailing more loses 50 + 10 per MWh.
    # t1: PV 1 = load 1: nothing bought, nothing curtailed.       Objective = -80.
    r = run(case(2, [{"id": "pv", "type": "pv", "available_mw": [5, 1], "curtailment_cny_per_mwh": 10},
                     {"id": "l", "type": "load", "demand_mw": 1}],
                 grid={"export_max_mw": 2, "sell_cny_per_mwh": 50}))
    assert r.objective_cny == approx(-80)
    assert series(r, "pv", "power_mw") == approx([3, 1])
    assert series(r, "pv", "curtailed_mw") == approx([2, 0])
    assert series(r, "grid", "export_mw") == approx([2, 0])
    assert r.summary["cost_cny"]["curtailment"] == approx(20)
    assert r.summary["cost_cny"]["export"] == approx(-100)


def test_pv_without_export_or_cost_covers_load_and_rest_is_curtailed_free() -> None:
    # PV [3, 0.5], load 1, buy 100, no export: t0 PV covers the load (2 curtailed at 0),
    # t1 buys 0.5 → 50.
    r = run(case(2, [{"id": "pv", "type": "pv", "available_mw": [3, 0.5]},
                     {"id": "l", "type": "load", "demand_mw": 1}]))
    assert r.objective_cny == approx(50)
    assert series(r, "grid", "import_mw") == approx([0, 0.5])


# ---------------------------------------------------------------------------
# 4.2 load
# ---------------------------------------------------------------------------


def test_fixed_load_at_two_prices() -> None:
    # 2·100 + 3·300 = 1100
    r = run(case(2, [{"id": "l", "type": "load", "demand_mw": [2, 3]}], buy=[100, 300]))
    assert r.objective_cny == approx(1100)
    assert series(r, "grid", "import_mw") == approx([2, 3])
    assert r.summary["energy_mwh"]["consumption_mwh"] == approx(5)


def test_fixed_load_with_half_hour_steps_uses_delta() -> None:
    # Δ = 0.5 h: 0.5·(2·100 + 4·300) = 700
    r = run(case(2, [{"id": "l", "type": "load", "demand_mw": [2, 4]}], buy=[100, 300], step_minutes=30))
    assert r.objective_cny == approx(700)
    assert r.summary["energy_mwh"]["import_mwh"] == approx(3)


# ---------------------------------------------------------------------------
# 4.3 battery
# ---------------------------------------------------------------------------

BATTERY = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 0.9,
           "discharge_efficiency": 0.9, "soc_min": 0, "soc_max": 1, "soc_initial": 0.5}


def test_battery_two_prices_known_efficiency() -> None:
    # soc[-1] = 1 MWh, final ≥ 1. Charge x at t0 (100), discharge d at t1 (300):
    # soc1 = 1 + 0.9x − d/0.9 ≥ 1 → d ≤ 0.81x. Cost 100(1+x) + 300(1 − 0.81x) = 400 − 143x,
    # x = 1: charge 1, soc 1.9, discharge 0.81, cost 2·100 + 0.19·300 = 257.
    r = run(case(2, [BATTERY, {"id": "l", "type": "load", "demand_mw": 1}], buy=[100, 300]))
    assert r.objective_cny == approx(257)
    assert series(r, "b", "charge_mw") == approx([1, 0])
    assert series(r, "b", "discharge_mw") == approx([0, 0.81])
    assert series(r, "b", "soc_mwh") == approx([1.9, 1.0])
    assert series(r, "grid", "import_mw") == approx([2, 0.19])


@pytest.mark.parametrize(("degradation", "objective", "discharged"), [
    # Per MWh charged at t0: +100, then 0.81 MWh discharged saves 300·0.81 = 243 and costs deg·0.81.
    # deg 200: 243 − 100 − 162 = −19 < 0 → idle, cost 400.
    (200, 400, 0.0),
    # deg 100: 243 − 100 − 81 = 62 > 0 → cycle fully, cost 400 − 62 = 338 (of which 81 degradation).
    (100, 338, 0.81),
])
def test_battery_degradation_makes_cycling_unprofitable(degradation: float, objective: float, discharged: float) -> None:
    b = dict(BATTERY, degradation_cny_per_mwh=degradation)
    r = run(case(2, [b, {"id": "l", "type": "load", "demand_mw": 1}], buy=[100, 300]))
    assert r.objective_cny == approx(objective)
    assert series(r, "b", "discharge_mw").sum() == approx(discharged)
    assert r.summary["cost_cny"].get("degradation", 0.0) == approx(degradation * discharged)


@pytest.mark.parametrize(("max_cycles", "objective", "discharged"), [
    # E = 1, η = 1, soc 0…1 from 0, load 1, prices 100/300/100/300. Each MWh moved from a 100 step
    # to a 300 step saves 200. Unlimited: two full cycles → 800 − 400 = 400.
    (None, 400, 2.0),
    # max_cycles 1: Σ dis·Δ ≤ 1·E = 1 MWh → one cycle only → 800 − 200 = 600.
    (1, 600, 1.0),
    # max_cycles 0.5: 0.5 MWh → 700.
    (0.5, 700, 0.5),
])
def test_battery_max_cycles_binding(max_cycles: float | None, objective: float, discharged: float) -> None:
    b = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 1, "charge_efficiency": 1,
         "discharge_efficiency": 1, "soc_min": 0, "soc_max": 1, "soc_initial": 0}
    if max_cycles is not None:
        b["max_cycles"] = max_cycles
    r = run(case(4, [b, {"id": "l", "type": "load", "demand_mw": 1}], buy=[100, 300, 100, 300]))
    assert r.objective_cny == approx(objective)
    assert series(r, "b", "discharge_mw").sum() == approx(discharged)
    assert r.summary["batteries"][0]["equivalent_cycles"] == approx(discharged)


def test_battery_self_discharge() -> None:
    # E 1, η 1, soc 0…1 from 0, final ≥ 0, σ = 0.1/h, load 1, prices 100/300.
    # soc0 = 0.9·0 + x; soc1 = 0.9·x − d ≥ 0 → d ≤ 0.9x. Cost 100(1+x) + 300(1 − 0.9x) = 400 − 170x
    # → x = 1, d = 0.9: 200 + 0.1·300 = 230.
    b = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 1, "charge_efficiency": 1,
         "discharge_efficiency": 1, "soc_min": 0, "soc_max": 1, "soc_initial": 0,
         "self_discharge_per_hour": 0.1}
    r = run(case(2, [b, {"id": "l", "type": "load", "demand_mw": 1}], buy=[100, 300]))
    assert r.objective_cny == approx(230)
    assert series(r, "b", "soc_mwh") == approx([1.0, 0.0])
    assert series(r, "b", "discharge_mw") == approx([0, 0.9])


def test_battery_self_discharge_on_the_initial_level_with_half_hour_steps() -> None:
    # Δ = 0.5 h, σ = 0.2/h → keep 0.9 per step. E 1, soc_initial 0.5, soc_final_min 0, soc_min 0,
    # η 1, one step, no load, export allowed at sell 100: soc0 = 0.9·0.5 − 0.5·dis ≥ 0 → dis ≤ 0.9 MW,
    # power 1 → dis 0.9, revenue 0.5·0.9·100 = 45. Objective −45.
    b = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 1, "charge_efficiency": 1,
         "discharge_efficiency": 1, "soc_min": 0, "soc_max": 1, "soc_initial": 0.5, "soc_final_min": 0,
         "self_discharge_per_hour": 0.2}
    r = run(case(1, [b], step_minutes=30, grid={"export_max_mw": 5, "sell_cny_per_mwh": 100}))
    assert r.objective_cny == approx(-45)
    assert series(r, "b", "discharge_mw") == approx([0.9])
    assert series(r, "b", "soc_mwh") == approx([0.0])


# ---------------------------------------------------------------------------
# 4.4 curtailable load
# ---------------------------------------------------------------------------

CL = {"id": "cl", "type": "curtailable_load", "demand_mw": 2, "max_reduction_mw": 1, "cost_cny_per_mwh": 500}


def test_curtailable_load_only_where_worth_it() -> None:
    # Prices 100/1000/100, cost 500: curtail 1 MW only at t1. 2·100 + 1·1000 + 500 + 2·100 = 1900.
    r = run(case(3, [CL], buy=[100, 1000, 100]))
    assert r.objective_cny == approx(1900)
    assert series(r, "cl", "reduction_mw") == approx([0, 1, 0])
    assert r.summary["cost_cny"]["load_curtailment"] == approx(500)


def test_curtailable_load_min_duration_holds_the_flag_for_its_minimum_duration() -> None:
    # D = 2, only t1 worth curtailing. model.md §4.4 constrains the reduction only from above
    # (r ≤ R·z): a curtailment event (z) must last ≥ 2 steps, but the reduction inside it may be 0.
    # So the event is held for 2 steps at no cost and the optimum is that of D = 1: 1900
    # (reduction only at t1). The "holding" costs nothing under the spec's formulation.
    cl = dict(CL, min_duration_steps=2)
    r = run(case(3, [cl], buy=[100, 1000, 100]))
    assert r.objective_cny == approx(1900)
    assert series(r, "cl", "reduction_mw") == approx([0, 1, 0])
    z = series(r, "cl", "curtailing")
    assert z[1] == 1
    # the event containing t1 lasts at least 2 steps
    assert z[0] == 1 or z[2] == 1


def test_curtailable_load_min_duration_longer_than_the_rest_of_the_horizon() -> None:
    # D = 3 over 3 steps, worth curtailing only at the last step (prices 100/100/1000).
    # An event may start at t2 and run past the horizon end (§4.4 sums starts over
    # τ ≥ max(0, t−D+1) only up to t): reduction at t2 only, 2·100·2 + 1000 + 500 = 1900.
    cl = dict(CL, min_duration_steps=3)
    r = run(case(3, [cl], buy=[100, 100, 1000]))
    assert r.objective_cny == approx(1900)
    assert series(r, "cl", "reduction_mw") == approx([0, 0, 1])


def test_curtailable_load_max_events_zero_forbids_curtailment() -> None:
    # max_events = 0: no start allowed → z = 0 → r = 0: 2·(100 + 1000 + 100) = 2400.
    cl = dict(CL, max_events=0)
    r = run(case(3, [cl], buy=[100, 1000, 100]))
    assert r.objective_cny == approx(2400)
    assert series(r, "cl", "reduction_mw") == approx([0, 0, 0])


def test_curtailable_load_max_events_one_with_two_separate_peaks() -> None:
    # Prices 1000/100/1000, max_events 1. Under §4.4 z may stay 1 through t1 with r = 0 there,
    # so ONE event spans t0…t2 and both peaks are curtailed: 2·(1000+100+1000) − 2·(1000 − 500)
    # = 4200 − 1000 = 3200 (the same as with no limit; see the report on this spec point).
    cl = dict(CL, max_events=1)
    r = run(case(3, [cl], buy=[1000, 100, 1000]))
    assert r.objective_cny == approx(3200)
    assert series(r, "cl", "reduction_mw") == approx([1, 0, 1])
    z = series(r, "cl", "curtailing")
    assert z.tolist() == [1, 1, 1]  # one event, held through the cheap step


# ---------------------------------------------------------------------------
# 4.5 shiftable load
# ---------------------------------------------------------------------------

# Prices 300/100/150/400/50, profile [1, 2]: start 0 → 300 + 200 = 500; start 1 → 100 + 300 = 400;
# start 2 → 150 + 800 = 950; start 3 → 400 + 100 = 500.
@pytest.mark.parametrize(("window", "start", "objective"), [
    ({}, 1, 400),
    ({"earliest_start": 2}, 3, 500),
    ({"latest_end": 3}, 1, 400),
    ({"latest_end": 2}, 0, 500),
    ({"earliest_start": 2, "latest_end": 4}, 2, 950),
])
def test_shiftable_load_lands_in_the_cheapest_window(window: dict[str, int], start: int, objective: float) -> None:
    sh = {"id": "sh", "type": "shiftable_load", "profile_mw": [1, 2], **window}
    r = run(case(5, [sh], buy=[300, 100, 150, 400, 50]))
    assert r.objective_cny == approx(objective)
    expect = np.zeros(5)
    expect[start : start + 2] = [1, 2]
    assert series(r, "sh", "consumption_mw") == approx(expect)
    assert r.summary["shiftable_loads"] == [
        {"id": "sh", "start_step": start, "start": f"2026-07-15T{start:02d}:00:00+08:00"}
    ]


# ---------------------------------------------------------------------------
# 4.6 flexible load
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("requirements", "objective", "power"), [
    # Prices 100/500/50, max [1, 2, 2], 3 MWh. Free: 2 at t2 (100) + 1 at t0 (100) = 200.
    ([], 200, [1, 0, 2]),
    # 2 MWh by step 2: t0 gives at most 1, so 1 at the expensive t1; the last 1 at t2:
    # 100 + 500 + 50 = 650.
    ([{"by_step": 2, "energy_mwh": 2}], 650, [1, 1, 1]),
])
def test_flexible_load_deadline_forces_energy_into_an_expensive_step(requirements: list, objective: float, power: list) -> None:
    fl = {"id": "ev", "type": "flexible_load", "max_power_mw": [1, 2, 2], "energy_mwh": 3,
          "requirements": requirements}
    r = run(case(3, [fl], buy=[100, 500, 50]))
    assert r.objective_cny == approx(objective)
    assert series(r, "ev", "consumption_mw") == approx(power)


def test_flexible_load_min_power() -> None:
    # Prices 100/500, min 0.5 each step, 2 MWh, max 2: 0.5 at t1 (250) and 1.5 at t0 (150) = 400.
    fl = {"id": "ev", "type": "flexible_load", "min_power_mw": 0.5, "max_power_mw": 2, "energy_mwh": 2}
    r = run(case(2, [fl], buy=[100, 500]))
    assert r.objective_cny == approx(400)
    assert series(r, "ev", "consumption_mw") == approx([1.5, 0.5])


# ---------------------------------------------------------------------------
# 4.7 green contract
# ---------------------------------------------------------------------------

LOAD2 = {"id": "l", "type": "load", "demand_mw": 2}


@pytest.mark.parametrize(("fixed", "taken", "objective"), [
    # Load 2, buy 300, contract 1 MW at 200: saves 100/MWh·2 MWh = 200 against its fixed fee.
    (50, True, 1200 - 200 + 50),  # worth it: 1050
    (250, False, 1200),  # fixed too high: 1200
])
def test_green_contract_worth_taking_or_not(fixed: float, taken: bool, objective: float) -> None:
    gc = {"id": "gc", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 200, "fixed_cny": fixed}
    r = run(case(2, [LOAD2, gc], buy=300, grid={"emission_t_per_mwh": 0.5}))
    assert r.objective_cny == approx(objective)
    assert r.summary["green_contracts"][0]["taken"] is taken
    g = 1.0 if taken else 0.0
    assert series(r, "gc", "purchase_mw") == approx([g, g])
    assert series(r, "grid", "import_mw") == approx([2, 2])  # green energy arrives through the import
    assert r.summary["emissions_t"] == approx(0.5 * (4 - 2 * g))  # green energy has zero emissions


def test_green_contract_not_optional_with_min_take() -> None:
    # Price 400 > buy 300, so only the minimum is taken: 0.5·1 MW each step.
    # 2·(0.5·400 + 1.5·300) + fixed 10 (always paid) = 1300 + 10 = 1310.
    gc = {"id": "gc", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 400,
          "min_take": 0.5, "optional": False, "fixed_cny": 10}
    r = run(case(2, [LOAD2, gc], buy=300))
    assert r.objective_cny == approx(1310)
    assert series(r, "gc", "purchase_mw") == approx([0.5, 0.5])
    assert r.summary["green_contracts"][0] == {"id": "gc", "taken": True, "energy_mwh": approx(1.0),
                                               "cost_cny": approx(410)}


# ---------------------------------------------------------------------------
# 4.8 thermal storage
# ---------------------------------------------------------------------------

ICE = {"id": "ice", "type": "thermal_storage", "cop": 3, "thermal_demand_mw": [0, 3],
       "capacity_mwh_th": 3, "level_initial": 0}


def test_thermal_storage_charged_at_the_cheap_step() -> None:
    # Prices 100/400, demand 3 MWh_th at t1, cop 3, 1 MW: charge 1 MW at t0 (h = 3), serve t1 from
    # the store (h = 0 ≥ h[-1] = 0). Cost 100.
    r = run(case(2, [dict(ICE, max_power_mw=1)], buy=[100, 400]))
    assert r.objective_cny == approx(100)
    assert series(r, "ice", "consumption_mw") == approx([1, 0])
    assert series(r, "ice", "level_mwh_th") == approx([3, 0])


def test_thermal_storage_unserved_at_voll_when_power_too_small() -> None:
    # 0.4 MW → at most 1.2 MWh_th a step; 2.4 < 3: 0.6 MWh_th unserved at voll 1000.
    # Electricity at 100/3 or 400/3 per MWh_th < 1000, so run flat out: 40 + 160 + 600 = 800.
    r = run(case(2, [dict(ICE, max_power_mw=0.4)], buy=[100, 400], voll_cny_per_mwh=1000))
    assert r.objective_cny == approx(800)
    assert series(r, "ice", "consumption_mw") == approx([0.4, 0.4])
    assert series(r, "ice", "unserved_thermal_mw_th").sum() == approx(0.6)
    assert r.summary["energy_mwh"]["unserved_thermal_mwh_th"] == approx(0.6)
    assert r.summary["cost_cny"]["unserved_thermal"] == approx(600)
    assert any(u["kind"] == "unserved_thermal" and u["where"] == "ice" for u in r.summary["unserved"])
    assert any("ice" in m for m in r.summary["messages"])


def test_unserved_thermal_summary_reports_its_peak_in_mw_th() -> None:
    # The electric item carries "max_mw" (a power); the thermal one carries "max_mw_th"
    # (0.6 MW_th here, all in one step). Regression: it was once mangled to "max_mwh_t".
    r = run(case(2, [dict(ICE, max_power_mw=0.4)], buy=[100, 400], voll_cny_per_mwh=1000))
    [u] = r.summary["unserved"]
    assert u["max_mw_th"] == approx(0.6)


def test_thermal_store_that_cannot_end_at_its_level_has_its_own_shortfall() -> None:
    # v2 fix (§4.8): 0 ≤ w ≤ demand, and h[N−1] + v ≥ h[−1] with the final shortfall v at voll.
    # A store with no chiller (max_power 0), no demand, level 1 of 2 MWh_th, loss 0.1/h, one step:
    # h0 = 0.9·1 + 0 (w ≤ demand = 0) → v = 1 − 0.9 = 0.1 MWh_th at voll 1000 → 100, named as the
    # store's final shortfall, not as unserved thermal demand (there is none).
    ts = {"id": "ice", "type": "thermal_storage", "max_power_mw": 0, "cop": 3, "thermal_demand_mw": 0,
          "capacity_mwh_th": 2, "level_initial": 0.5, "loss_per_hour": 0.1}
    r = run(case(1, [ts], voll_cny_per_mwh=1000))
    assert r.objective_cny == approx(100)
    assert series(r, "ice", "unserved_thermal_mw_th") == approx([0.0])
    assert r.summary["cost_cny"]["thermal_final_shortfall"] == approx(100)
    [u] = r.summary["unserved"]
    assert u["kind"] == "thermal_final_shortfall" and u["where"] == "ice"
    assert u["energy_mwh_th"] == approx(0.1)
    assert r.summary["messages"] == ["thermal store ice ends 0.100 MWh_th below its initial level"]


def test_thermal_unserved_is_at_most_the_thermal_demand() -> None:
    # v2 fix (§4.8): w ≤ demand. Demand 0.5 MW_th for 1 h, no chiller, level 0 of 2: the store cannot
    # serve it, so w = 0.5 MWh_th (voll 1000 → 500), and the level stays at 0 = h[−1] (no final shortfall).
    ts = {"id": "ice", "type": "thermal_storage", "max_power_mw": 0, "cop": 3, "thermal_demand_mw": 0.5,
          "capacity_mwh_th": 2, "level_initial": 0.0}
    r = run(case(1, [ts], voll_cny_per_mwh=1000))
    assert r.objective_cny == approx(500)
    assert series(r, "ice", "unserved_thermal_mw_th") == approx([0.5])
    assert r.summary["cost_cny"]["thermal_final_shortfall"] == approx(0)


def test_thermal_storage_standing_loss() -> None:
    # loss 0.1/h, 1 MW: t0 charge 1 → h0 = 3; h1 = 0.9·3 + 3·e1 − 3 ≥ 0 → e1 = 0.1 (40).
    # Charging less at t0 and more at t1 costs more (100/(3·0.9) < 400/3). Cost 100 + 40 = 140.
    r = run(case(2, [dict(ICE, max_power_mw=1, loss_per_hour=0.1)], buy=[100, 400]))
    assert r.objective_cny == approx(140)
    assert series(r, "ice", "consumption_mw") == approx([1, 0.1])


# ---------------------------------------------------------------------------
# Network, grid connection
# ---------------------------------------------------------------------------


def test_branch_limit_causes_unserved_energy_at_the_node() -> None:
    # Node s1 (capacity 1) with load [0.5, 3], buy 100, voll 1000:
    # t0 import 0.5 (50); t1 import 1 (100) + 2 MW unserved at s1 (2000). Total 2150.
    data = case(2, [{"id": "l", "type": "load", "node": "s1", "demand_mw": [0.5, 3]}], voll_cny_per_mwh=1000,
                network={"root": "grid", "nodes": [{"id": "s1", "parent": "grid", "capacity_mw": 1}]})
    r = run(data)
    assert r.objective_cny == approx(2150)
    assert series(r, "s1", "flow_mw") == approx([-0.5, -1])
    assert series(r, "s1", "unserved_mw") == approx([0, 2])
    [u] = r.summary["unserved"]
    assert u["kind"] == "unserved_electric"
    assert u["where"] == "s1"
    assert u["steps"] == [1]
    assert u["energy_mwh"] == approx(2)
    assert any("s1" in m and "unserved" in m for m in r.summary["messages"])


def test_branch_limits_in_a_chain() -> None:
    # grid ← s1 (cap 3) ← s2 (cap 1). Load 2 at s1, load 2 at s2, 1 step, buy 100, voll 1000:
    # s2 receives 1, 1 unserved at s2; s1 carries 2 + 1 = 3 = its limit. 300 + 1000 = 1300.
    data = case(1, [{"id": "l1", "type": "load", "node": "s1", "demand_mw": 2},
                    {"id": "l2", "type": "load", "node": "s2", "demand_mw": 2}], voll_cny_per_mwh=1000,
                network={"nodes": [{"id": "s1", "capacity_mw": 3}, {"id": "s2", "parent": "s1", "capacity_mw": 1}]})
    r = run(data)
    assert r.objective_cny == approx(1300)
    assert series(r, "s2", "unserved_mw") == approx([1])
    assert series(r, "s1", "flow_mw") == approx([-3])
    assert [u["where"] for u in r.summary["unserved"]] == ["s2"]


def test_export_capacity_limits_upward_flow() -> None:
    # PV 3 at s1 (capacity 5, export_capacity 1), sell 100, curtailment 10: export 1 (−100),
    # curtail 2 (+20). Objective −80.
    data = case(1, [{"id": "pv", "type": "pv", "node": "s1", "available_mw": 3, "curtailment_cny_per_mwh": 10}],
                grid={"export_max_mw": 10, "sell_cny_per_mwh": 100},
                network={"nodes": [{"id": "s1", "capacity_mw": 5, "export_capacity_mw": 1}]})
    r = run(data)
    assert r.objective_cny == approx(-80)
    assert series(r, "s1", "flow_mw") == approx([1])


def test_import_limit_causes_unserved_energy_at_the_root() -> None:
    # import_max 1, load 3 at the root, voll 1000: 100 + 2·1000 = 2100, named at the root "grid".
    r = run(case(1, [{"id": "l", "type": "load", "demand_mw": 3}], voll_cny_per_mwh=1000,
                 grid={"import_max_mw": 1}))
    assert r.objective_cny == approx(2100)
    assert [u["where"] for u in r.summary["unserved"]] == ["grid"]


def test_export_with_sell_price() -> None:
    # PV [3, 0] at the root, load 1, sell 40, buy 100: t0 export 2 (−80), t1 import 1 (100). 20.
    r = run(case(2, [{"id": "pv", "type": "pv", "available_mw": [3, 0]}, {"id": "l", "type": "load", "demand_mw": 1}],
                 grid={"export_max_mw": 5, "sell_cny_per_mwh": 40}))
    assert r.objective_cny == approx(20)
    assert series(r, "grid", "export_mw") == approx([2, 0])
    assert series(r, "grid", "import_mw") == approx([0, 1])


def test_import_export_exclusivity_blocks_arbitrage() -> None:
    # sell 150 > buy 100: importing 5 and exporting 5 at once would earn 250; the binary y forbids it.
    # Load 1 → import 1, cost 100.
    r = run(case(1, [{"id": "l", "type": "load", "demand_mw": 1}],
                 grid={"import_max_mw": 5, "export_max_mw": 5, "sell_cny_per_mwh": 150}))
    assert r.objective_cny == approx(100)
    assert series(r, "grid", "export_mw") == approx([0])
    assert series(r, "grid", "import_mw") == approx([1])


def test_demand_charge_spreads_a_flexible_load() -> None:
    # Load [2, 0], flexible 2 MWh (max 4), buy 100/200, demand charge 150/MW of peak import.
    # x at t0, 2 − x at t1: energy 600 − 100x, peak 2 + x → 900 + 50x → x = 0: 600 + 300 = 900.
    r = run(case(2, [{"id": "l", "type": "load", "demand_mw": [2, 0]},
                     {"id": "ev", "type": "flexible_load", "max_power_mw": 4, "energy_mwh": 2}],
                 buy=[100, 200], grid={"demand_charge_cny_per_mw": 150}))
    assert r.objective_cny == approx(900)
    assert series(r, "ev", "consumption_mw") == approx([0, 2])
    assert r.summary["peak_import_mw"] == approx(2)
    assert r.summary["cost_cny"]["demand"] == approx(300)


def test_carbon_price_moves_a_flexible_load_to_the_cleaner_step() -> None:
    # Buy 100 flat, emission 0.8/0.2 t/MWh, carbon 100 CNY/t, load 1 each step, flexible 1 MWh (max 1):
    # the flexible goes to t1 (100 + 20 < 100 + 80). Load: 180 + 120 = 300; flexible 120 → 420.
    # Emissions 0.8 + 0.2·2 = 1.2 t.
    r = run(case(2, [{"id": "l", "type": "load", "demand_mw": 1},
                     {"id": "ev", "type": "flexible_load", "max_power_mw": 1, "energy_mwh": 1}],
                 grid={"emission_t_per_mwh": [0.8, 0.2]}, carbon_price_cny_per_t=100))
    assert r.objective_cny == approx(420)
    assert series(r, "ev", "consumption_mw") == approx([0, 1])
    assert r.summary["emissions_t"] == approx(1.2)
    assert r.summary["cost_cny"]["carbon"] == approx(120)


# ---------------------------------------------------------------------------
# 5. green share, demand response
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("rho", "objective", "charged"), [
    # PV [2, 0] at the root, load 1 each step, sell 200 at t0 > buy 100, battery 1 MWh, η 1, from 0.
    # Storing c at t0 for t1 instead of exporting: cost −200(1 − c) + 100(1 − c) = −100(1 − c).
    # Renewable used = PV − export = 2 − (1 − c) = 1 + c out of 2 MWh consumed.
    (None, -100, 0.0),  # export: share 0.5
    (0.9, -20, 0.8),  # 1 + c ≥ 1.8 → c = 0.8: −100·0.2 = −20
])
def test_green_share_forces_pv_use_over_export(rho: float | None, objective: float, charged: float) -> None:
    b = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 1, "charge_efficiency": 1,
         "discharge_efficiency": 1, "soc_min": 0, "soc_max": 1, "soc_initial": 0}
    r = run(case(2, [{"id": "pv", "type": "pv", "available_mw": [2, 0]}, {"id": "l", "type": "load", "demand_mw": 1}, b],
                 grid={"export_max_mw": 5, "sell_cny_per_mwh": [200, 0]}, green_share_min=rho))
    assert r.objective_cny == approx(objective)
    assert series(r, "b", "charge_mw")[0] == approx(charged)
    assert r.summary["renewable_share"] == approx((1 + charged) / 2)


def test_green_share_forces_a_green_contract() -> None:
    # Load 1, buy 100, contract 1 MW at 150 (not worth it alone), ρ = 0.5: G ≥ 0.5 → 50 + 75 = 125.
    gc = {"id": "gc", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 150}
    r = run(case(1, [{"id": "l", "type": "load", "demand_mw": 1}, gc], green_share_min=0.5))
    assert r.objective_cny == approx(125)
    assert series(r, "gc", "purchase_mw") == approx([0.5])
    assert r.summary["renewable_share"] == approx(0.5)


CL_DR = {"id": "cl", "type": "curtailable_load", "demand_mw": 3, "max_reduction_mw": 1, "cost_cny_per_mwh": 200}


def dr(price: float, **kw: Any) -> dict[str, Any]:
    return {"id": "dr", "start_step": 0, "end_step": 1, "baseline_mw": 3, "reduction_mw": 1,
            "price_cny_per_mwh": price, "shortfall_penalty_cny_per_mwh": 1000, **kw}


def test_demand_response_event_worth_joining() -> None:
    # Curtailable 3 MW (1 MW at 200), buy 100, event: baseline 3, reduction 1, price 500, penalty 1000.
    # Join and curtail 1: 2·100 + 200 − 500 = −100. Not join: 300. Join, no curtail: 300 − 500 + 1000.
    r = run(case(1, [CL_DR], demand_response=[dr(500)]))
    assert r.objective_cny == approx(-100)
    [ev] = r.summary["demand_response"]
    assert ev["joined"] is True
    assert ev["shortfall_mwh"] == approx(0)
    assert series(r, "cl", "reduction_mw") == approx([1])
    assert r.summary["cost_cny"]["dr_revenue"] == approx(-500)


def test_demand_response_event_not_worth_joining() -> None:
    # Price 50: joining and curtailing gives 200 + 200 − 50 = 350 > 300 for staying out.
    r = run(case(1, [CL_DR], demand_response=[dr(50)]))
    assert r.objective_cny == approx(300)
    assert r.summary["demand_response"][0]["joined"] is False
    assert series(r, "cl", "reduction_mw") == approx([0])


def test_demand_response_event_not_optional_with_shortfall() -> None:
    # Fixed load 3, no flexibility, mandatory event (baseline 3, reduction 1, price 500, penalty 1000)
    # over two half-hour steps: net import 3 exceeds the target 2 by 1 MW each step.
    # 0.5·2·300 − 500·1·2·0.5 + 1000·1·2·0.5 = 300 − 500 + 1000 = 800.
    r = run(case(2, [{"id": "l", "type": "load", "demand_mw": 3}], buy=100, step_minutes=30,
                 demand_response=[dr(500, end_step=2, optional=False)]))
    assert r.objective_cny == approx(800)
    [ev] = r.summary["demand_response"]
    assert ev["joined"] is True
    assert ev["shortfall_mwh"] == approx(1.0)
    assert series(r, "dr", "shortfall_mw") == approx([1, 1])
    [u] = r.summary["unserved"]
    assert (u["kind"], u["where"], u["steps"]) == ("demand_response_shortfall", "dr", [0, 1])
    assert any("dr" in m and "shortfall" in m for m in r.summary["messages"])
