"""Intraday re-dispatch (vpp/redispatch.py): the rest of a day from the measured state, against the declared plan.

Every plan is a real day-ahead solve written to a folder as ``vpp dispatch``
writes it, read back as the command reads it. Optima are derived by hand in
the comments; the "nothing changed" checks compare with the day-ahead's own
schedule and with its objective less the cost of the steps before the
re-dispatch time, recomputed from the written curve (an independent route).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from models import SolveOptions
from vpp.case import load_case
from vpp.dispatch import resolve_case, solve_case
from vpp.errors import CaseError
from vpp.redispatch import (
    Plan,
    deviation_defaults,
    from_step,
    held_offers,
    planned_state,
    read_plan,
    read_plan_folder,
    redispatch,
    redispatch_case,
    state_of,
)
from vpp.results import write_outputs

EXACT = SolveOptions(mip_gap=0.0)
START = "2026-07-15T00:00:00+08:00"

# HAND: 8 hours, 1 MW of load, a lossless 1 MW / 2 MWh battery (soc 0–1, starts and must end at
# 1 MWh, wear 10 CNY/MWh) under rising morning prices. Deviation from the declared plan: 1000 CNY/MWh
# above it, 800 below, no tolerance; the day-ahead declares its own plan (no schedule_mw).
#
# Day-ahead optimum, by hand: the only 1 MWh of room is filled at the cheapest hour 0 (100); the
# battery gives 1 MW at hours 4 (500) and 5 (450), refills 1 MWh at hour 6 (200, cheaper than 210).
# Net import [2, 1, 1, 1, 0, 0, 2, 1] MW; energy 200+105+110+115+0+0+400+210 = 1140, wear 20 → 1160.
# The declared plan is that net import (plan_mw), with no deviation.
HAND: dict[str, Any] = {
    "name": "hand", "start": START, "step_minutes": 60, "steps": 8,
    "grid": {"import_max_mw": 10, "buy_cny_per_mwh": [100, 105, 110, 115, 500, 450, 200, 210],
             "deviation": {"short_cny_per_mwh": 1000, "long_cny_per_mwh": 800}},
    "assets": [
        {"id": "load", "type": "load", "demand_mw": 1},
        {"id": "bat", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
         "discharge_efficiency": 1, "soc_min": 0, "soc_max": 1, "degradation_cny_per_mwh": 10},
    ],
}
HAND_NET = [2, 1, 1, 1, 0, 0, 2, 1]
HAND_OBJECTIVE = 1160.0


def dispatched(case: dict[str, Any] | Any, folder: Path) -> Plan:
    """Solve ``case`` day-ahead, write its outputs as ``vpp dispatch`` does, read them back as a plan."""
    result = solve_case(load_case(case), EXACT)
    write_outputs(result, folder, chart=False)
    return read_plan_folder(folder)


def cost_before(plan: Plan, k: int) -> float:
    """The day-ahead's cost of steps 0 … k−1 [CNY], from the written curve, term by term.

    Costs already paid by the re-dispatch time: energy and export, carbon, wear, curtailment and
    its starts, green energy (and a green fee, paid with the day-ahead decision), and the demand charge of
    raising the billing period's peak before k.
    """
    case, col, dt_h = plan.case, plan.column, plan.case.dt_hours
    grid = case.grid
    handled = {"energy", "export", "carbon", "degradation", "load_curtailment", "load_curtailment_start",
               "green_energy", "green_fixed",
               "pv_curtailment", "demand", "deviation", "dr_revenue", "dr_penalty", "unserved", "unserved_thermal",
               "thermal_final_shortfall", "regulation_capacity", "regulation_mileage"}
    assert set(plan.summary["cost_cny"]) - {"total"} <= handled, plan.summary["cost_cny"]
    cost = float((case.series(grid.buy_cny_per_mwh) * col("grid", "grid_energy_mw"))[:k].sum() * dt_h)
    cost -= float((case.series(grid.sell_cny_per_mwh) * col("grid", "export_mw"))[:k].sum() * dt_h)
    cost += case.carbon_price_cny_per_t * float(col("grid", "emissions_t")[:k].sum())
    for a in case.assets:
        if a.type == "battery":
            cost += a.degradation_cny_per_mwh * float(col(a.id, "discharge_mw")[:k].sum() * dt_h)
        elif a.type == "curtailable_load":
            cost += a.cost_cny_per_mwh * float(col(a.id, "reduction_mw")[:k].sum() * dt_h)
            on = col(a.id, "curtailing")[:k] > 0.5
            cost += a.start_cny * int(np.sum(on & ~np.concatenate([[False], on[:-1]])))
        elif a.type == "green_contract":
            cost += a.price_cny_per_mwh * float(col(a.id, "purchase_mw")[:k].sum() * dt_h)
            cost += a.fixed_cny if plan.report("green_contracts", a.id)["taken"] else 0.0
        elif a.type == "pv":
            cost += a.curtailment_cny_per_mwh * float(col(a.id, "curtailed_mw")[:k].sum() * dt_h)
        if a.type == "battery" and a.regulation and case.regulation is not None:
            reg = case.regulation  # the band's capacity and mileage payment (§5.4)
            paid = case.series(reg.capacity_price_cny_per_mw_h) + case.series(
                reg.mileage_price_cny_per_mw) * reg.mileage_mw_per_mw_h * a.regulation_performance
            cost -= float((paid * col(a.id, "regulation_mw"))[:k].sum() * dt_h)
    if grid.demand_charge_cny_per_mw > 0:
        peak = max(grid.peak_to_date_mw, float(col("grid", "import_mw")[:k].max()))
        cost += grid.demand_charge_cny_per_mw * (peak - grid.peak_to_date_mw)
    return cost


def rest_of(plan: Plan, at: str, state: dict[str, Any] | None = None) -> Any:
    return redispatch(plan, at, state_of(state if state is not None else planned_state(plan, from_step(plan.case, at))),
                      EXACT)


def net_of(result: Any) -> np.ndarray:
    curve = result.curve()
    return (curve["grid.import_mw"] - curve["grid.export_mw"]).to_numpy()


# ---------------------------------------------------------------------------
# Nothing changed: the rest of the day re-solves to the same schedule, with no deviation
# ---------------------------------------------------------------------------


def test_hand_case_nothing_changed_resolves_to_the_same_schedule_and_no_deviation(tmp_path: Path) -> None:
    plan = dispatched(HAND, tmp_path / "plan")
    assert plan.summary["objective_cny"] == pytest.approx(HAND_OBJECTIVE)
    np.testing.assert_allclose(plan.declared_mw, HAND_NET, atol=1e-9)
    # At 04:00 the battery is full (2 MWh), as planned.
    assert planned_state(plan, 4)["batteries"] == {"bat": {"soc_mwh": pytest.approx(2.0)}}
    rest = rest_of(plan, "04:00")
    assert rest.case.steps == 4 and rest.case.start.isoformat() == "2026-07-15T04:00:00+08:00"
    np.testing.assert_allclose(rest.case.series(rest.case.grid.schedule_mw), HAND_NET[4:], atol=1e-9)
    np.testing.assert_allclose(net_of(rest), HAND_NET[4:], atol=1e-6)
    np.testing.assert_allclose(rest.curve()["bat.soc_mwh"], plan.column("bat", "soc_mwh")[4:], atol=1e-6)
    assert rest.summary["cost_cny"]["deviation"] == pytest.approx(0.0, abs=1e-6)
    # The rest of the day costs what the plan's last four hours cost: 400 + 210 + wear 20 = 630,
    # which is also the day's 1160 less the 530 of energy before 04:00.
    assert rest.objective_cny == pytest.approx(630.0)
    assert rest.objective_cny == pytest.approx(plan.summary["objective_cny"] - cost_before(plan, 4))


def test_hand_case_with_a_level_below_plan_pays_the_hand_deviation(tmp_path: Path) -> None:
    # At 04:00 the battery holds 1.5 MWh instead of the planned 2. The plan from 04:00 is
    # [0, 0, 2, 1] MW at 500, 450, 200, 210 CNY/MWh, load 1 MW, the battery must end at ≥ 1 MWh.
    # Holding the plan at hours 4 and 5 takes 2 MWh from the battery: 0.5 MWh must be imported
    # above the plan. Cheapest at hour 5 (450 + 1000 per MWh, against 500 + 1000 at hour 4):
    # discharge 1 MW at hour 4, 0.5 MW at hour 5; the empty battery refills 1 MWh at hour 6 as
    # planned (net 2), hour 7 as planned (net 1). Buying less at hours 4–5 and meeting the end
    # level later would deviate twice.
    #   energy   0 + 0.5·450 + 2·200 + 1·210 = 835
    #   wear     1.5 MWh · 10                =  15
    #   deviation 0.5 MWh · 1000             = 500
    #   total                                  1350
    plan = dispatched(HAND, tmp_path / "plan")
    rest = rest_of(plan, "04:00", {"batteries": {"bat": {"soc_mwh": 1.5}}})
    assert rest.summary["cost_cny"]["deviation"] == pytest.approx(500.0)
    assert rest.objective_cny == pytest.approx(1350.0)
    curve = rest.curve()
    np.testing.assert_allclose(curve["grid.deviation_short_mw"], [0, 0.5, 0, 0], atol=1e-6)
    np.testing.assert_allclose(curve["grid.deviation_long_mw"], 0, atol=1e-6)
    # The same from the measured fraction of the energy: 0.75 × 2 MWh.
    again = rest_of(plan, "04:00", {"batteries": {"bat": {"soc_fraction": 0.75}}})
    assert again.objective_cny == pytest.approx(1350.0)


# SMALL: 24 hours with every kind of asset a state describes, a demand charge and priced deviations.
def small_day() -> dict[str, Any]:
    t = np.arange(24)
    buy = np.where(t < 8, 200.0, np.where((t >= 17) & (t < 21), 900.0, 500.0))
    pv = np.round(np.clip(np.sin((t - 6) / 12 * np.pi), 0, None) * 4, 4)
    return {
        "name": "small", "start": START, "step_minutes": 60, "steps": 24,
        "network": {"root": "grid", "nodes": [{"id": "sub", "capacity_mw": 30}]},
        "grid": {"import_max_mw": 30, "buy_cny_per_mwh": buy.tolist(), "demand_charge_cny_per_mw": 50,
                 "peak_to_date_mw": 8, "emission_t_per_mwh": 0.6,
                 "deviation": {"short_cny_per_mwh": 300, "long_cny_per_mwh": 200}},
        "assets": [
            {"id": "load", "type": "load", "node": "sub", "demand_mw": np.round(5 + np.sin(t / 4), 4).tolist()},
            {"id": "pv", "type": "pv", "node": "sub", "available_mw": pv.tolist()},
            {"id": "bat", "type": "battery", "node": "sub", "power_mw": 2, "energy_mwh": 4,
             "degradation_cny_per_mwh": 5},
            {"id": "ev", "type": "flexible_load", "node": "sub", "max_power_mw": 2, "energy_mwh": 10,
             "requirements": [{"by_step": 18, "energy_mwh": 6}]},
            {"id": "early", "type": "shiftable_load", "profile_mw": [1, 1.5, 1]},
            {"id": "late", "type": "shiftable_load", "profile_mw": [2, 2], "earliest_start": 14, "latest_end": 22},
            {"id": "plant", "type": "curtailable_load", "demand_mw": 3, "max_reduction_mw": 2,
             "cost_cny_per_mwh": 300, "min_duration_steps": 2, "max_events": 1},
            {"id": "green", "type": "green_contract", "available_mw": [0] * 10 + [1] * 6 + [0] * 8,
             "price_cny_per_mwh": 350, "fixed_cny": 100, "min_take": 0.5},
            {"id": "ice", "type": "thermal_storage", "max_power_mw": 2, "cop": 3, "capacity_mwh_th": 20,
             "thermal_demand_mw": [1.0] * 12 + [12.0] + [2.0] * 11, "level_initial": 0.5},
        ],
        "demand_response": [{"id": "dr", "start_step": 18, "end_step": 20, "baseline_mw": 12, "reduction_mw": 1,
                             "price_cny_per_mwh": 800, "shortfall_penalty_cny_per_mwh": 1500}],
    }


def test_small_day_nothing_changed_at_noon_gives_the_same_net_import_and_the_rest_of_its_cost(tmp_path: Path) -> None:
    plan = dispatched(small_day(), tmp_path / "plan")
    state = planned_state(plan, 12)
    # What the plan decided and the state carries: the early process ran at night, the late one
    # has not started, the green contract was taken, the event was joined.
    assert state["shiftable_loads"]["early"]["started"] is True
    assert state["shiftable_loads"]["late"] == {"started": False}
    assert plan.report("green_contracts", "green")["taken"] is True
    assert state["demand_response"] == {"dr": {"joined": True}}
    rest = rest_of(plan, "12:00", state)
    notes = rest.case.meta["redispatch"]["notes"]
    assert any("starts it at its day-ahead initial level" in n for n in notes), notes  # the exact thermal rule
    np.testing.assert_allclose(net_of(rest), plan.net_import_mw[12:], atol=1e-6)
    np.testing.assert_allclose(rest.curve()["ice.level_mwh_th"], plan.column("ice", "level_mwh_th")[12:], atol=1e-6)
    assert rest.summary["cost_cny"]["deviation"] == pytest.approx(0.0, abs=1e-6)
    assert rest.objective_cny == pytest.approx(plan.summary["objective_cny"] - cost_before(plan, 12), rel=1e-9)


def test_the_redispatch_case_of_the_small_day_is_the_rest_of_the_day(tmp_path: Path) -> None:
    plan = dispatched(small_day(), tmp_path / "plan")
    state = planned_state(plan, 12)
    state["flexible_loads"]["ev"]["delivered_mwh"] = 4.0
    state["peak_to_date_mw"] = 9.5
    case = redispatch_case(plan, 12, state_of(state))
    by_id = {a.id: a for a in case.assets}
    assert case.steps == 12 and case.grid.peak_to_date_mw == 9.5
    assert case.grid.deviation.short_cny_per_mwh == 300  # the day-ahead's prices
    # 10 MWh less the 4 delivered; the 6 MWh due by step 18 are 2 more by step 6 of the rest.
    assert by_id["ev"].energy_mwh == pytest.approx(6.0)
    assert [(r.by_step, r.energy_mwh) for r in by_id["ev"].requirements] == [(6, pytest.approx(2.0))]
    # The early process ran its three hours: a fixed load of zeros. The late one keeps [14, 22) → [2, 10).
    assert by_id["early"].type == "load" and case.series(by_id["early"].demand_mw).sum() == 0
    assert (by_id["late"].earliest_start, by_id["late"].latest_end) == (2, 10)
    assert by_id["green"].optional is False and by_id["green"].fixed_cny == 0
    assert [(e.start_step, e.end_step, e.optional) for e in case.demand_response] == [(6, 8, False)]
    assert by_id["bat"].soc_final_min == 0.5  # the day-ahead's end level, not the measured start
    assert case.meta["redispatch"]["from"] == "12:00"


def test_a_process_under_way_becomes_a_fixed_load_of_the_rest_of_its_profile(tmp_path: Path) -> None:
    plan = dispatched(small_day(), tmp_path / "plan")
    state = planned_state(plan, 12)
    state["shiftable_loads"]["early"] = {"started": True, "start": "11:00"}
    case = redispatch_case(plan, 12, state_of(state))
    early = next(a for a in case.assets if a.id == "early")
    np.testing.assert_allclose(case.series(early.demand_mw), [1.5, 1] + [0] * 10)


def test_an_event_not_joined_is_removed(tmp_path: Path) -> None:
    plan = dispatched(small_day(), tmp_path / "plan")
    state = planned_state(plan, 12)
    state["demand_response"]["dr"]["joined"] = False
    assert redispatch_case(plan, 12, state_of(state)).demand_response == []


def teda_with_deviation(day: dt.date) -> dict[str, Any]:
    """The TEDA east case of ``day`` whose day-ahead declares its plan, deviations priced without tolerance."""
    data = json.loads(resolve_case("teda-east", day).to_json())
    data["grid"]["deviation"] = {"short_cny_per_mwh": 100, "long_cny_per_mwh": 100}
    return data


def test_teda_day_nothing_changed_at_noon_resolves_to_the_same_schedule(tmp_path: Path) -> None:
    # 13 May 2026: a working day outside the ice store's seasons (the store's end rule: see the
    # thermal tests below).
    plan = dispatched(teda_with_deviation(dt.date(2026, 5, 13)), tmp_path / "plan")
    rest = rest_of(plan, "12:00")
    assert rest.case.steps == 48
    np.testing.assert_allclose(net_of(rest), plan.declared_mw[48:], atol=1e-5)
    assert rest.summary["cost_cny"]["deviation"] == pytest.approx(0.0, abs=1e-4)
    assert rest.objective_cny == pytest.approx(plan.summary["objective_cny"] - cost_before(plan, 48), rel=1e-8)


def test_an_updated_case_of_the_day_is_held_to_the_plan_it_did_not_make(tmp_path: Path) -> None:
    # The load is forecast at 1.2 MW from 04:00 instead of 1 (a new case of the same day); the
    # battery is full as planned. Hours 4 and 5: the battery's 1 MW each, 0.2 MW above the plan
    # [0, 0] (energy 0.2·500 + 0.2·450 = 190, deviation 0.4·1000 = 400). Hours 6 and 7 (plan 2, 1):
    # refilling 1 MWh at hour 6 is 0.2 above the plan at each hour (energy 2.2·200 + 1.2·210 = 692,
    # deviation 400); refilling 0.8 at hour 6 and 0.2 at 7 is also 0.4 above it but costs 694.
    # Wear 20. Total 190 + 400 + 692 + 400 + 20 = 1702, of which deviation 800.
    plan = dispatched(HAND, tmp_path / "plan")
    day = copy.deepcopy(HAND)
    day["assets"][0]["demand_mw"] = [1, 1, 1, 1, 1.2, 1.2, 1.2, 1.2]
    rest = redispatch(plan, "04:00", state_of(planned_state(plan, 4)), EXACT, case=load_case(day))
    np.testing.assert_allclose(rest.case.series(rest.case.grid.schedule_mw), HAND_NET[4:], atol=1e-9)
    assert rest.summary["cost_cny"]["deviation"] == pytest.approx(800.0)
    assert rest.objective_cny == pytest.approx(1702.0)
    other = copy.deepcopy(HAND)
    other["steps"] = 4
    other["grid"]["buy_cny_per_mwh"] = HAND["grid"]["buy_cny_per_mwh"][:4]
    with pytest.raises(CaseError, match=r"^1 problem while reading the case:\n  - case: the case covers 4 steps of "
                       r"60 min from 2026-07-15T00:00:00\+08:00, the plan 8 steps"):
        redispatch_case(plan, 2, state_of(planned_state(plan, 2)), case=load_case(other))


# ---------------------------------------------------------------------------
# The thermal store: from the measured level, still ending at the day-ahead initial level
# ---------------------------------------------------------------------------

# ICE: 4 hours, a 10 MWh_th store (starts and must end at H = 5), COP 2, chillers 5 MW,
# heat demand [2, 2, 4, 1] MW_th, buy [100, 300, 150, 300]; deviations 50 above, 40 below.
# Day-ahead: 9 MWh_th of demand → 4.5 MWh of electricity. Hour 0 as much as the store takes
# (5 + 2e − 2 ≤ 10 → e ≤ 3.5), the other 1 MWh at hour 2 (150). Levels 10, 8, 6, 5; cost 350 + 150 = 500;
# plan [3.5, 0, 1, 0] MW.
ICE: dict[str, Any] = {
    "name": "ice", "start": START, "step_minutes": 60, "steps": 4,
    "grid": {"import_max_mw": 10, "buy_cny_per_mwh": [100, 300, 150, 300],
             "deviation": {"short_cny_per_mwh": 50, "long_cny_per_mwh": 40}},
    "assets": [{"id": "ice", "type": "thermal_storage", "max_power_mw": 5, "cop": 2, "capacity_mwh_th": 10,
                "thermal_demand_mw": [2, 2, 4, 1], "level_initial": 0.5}],
}


@pytest.mark.parametrize(
    ("measured", "objective", "levels"),
    [
        # As planned, 8: the rest needs 1 MWh_th more than it holds above 5 → e = 1 at hour 2, 150; levels 6, 5.
        (8.0, 150.0, [6.0, 5.0]),
        # 4, below H: 4 + 2e − 4 − 1 ≥ 5 → e ≥ 3 at hour 2 (level 6 ≤ 10): 450, plus 2 MW above the
        # plan's 1 at 50 → 550.
        (4.0, 550.0, [6.0, 5.0]),
        # 7, above H: 7 + 2e − 5 ≥ 5 → e ≥ 1.5 at hour 2: 225, plus 0.5 MW above the plan → 250.
        (7.0, 250.0, [6.0, 5.0]),
    ],
)
def test_a_thermal_store_starts_at_the_measured_level_and_ends_at_its_day_ahead_level(
        tmp_path: Path, measured: float, objective: float, levels: list[float]) -> None:
    plan = dispatched(ICE, tmp_path / "plan")
    assert plan.summary["objective_cny"] == pytest.approx(500.0)
    np.testing.assert_allclose(plan.column("ice", "level_mwh_th"), [10, 8, 6, 5], atol=1e-9)
    rest = rest_of(plan, "02:00", {"thermal_storage": {"ice": {"level_mwh_th": measured}}})
    assert rest.objective_cny == pytest.approx(objective)
    np.testing.assert_allclose(rest.curve()["ice.level_mwh_th"], levels, atol=1e-9)
    # The case starts the store at H with the difference drawn in its first step.
    ice = rest.case.assets[0]
    assert ice.level_initial == 0.5
    assert rest.case.series(ice.thermal_demand_mw)[0] == pytest.approx(4 + (5 - measured))


def test_a_thermal_store_far_above_its_day_ahead_level_must_end_at_the_measured_level(tmp_path: Path) -> None:
    # Measured full (10) at 02:00: the first step's demand (4) cannot take the 5 MWh_th surplus,
    # so the case can only start the store at 10 and hold it to end at 10 (a canonical store
    # ends at its initial level): 10 + 2(e2 + e3) − 5 ≥ 10 with 10 + 2·e2 − 4 ≤ 10 → e2 = 2 (300),
    # e3 = 0.5 (150); above the plan [1, 0] by 1 and 0.5 MW at 50 → 75; total 525.
    plan = dispatched(ICE, tmp_path / "plan")
    rest = rest_of(plan, "02:00", {"thermal_storage": {"ice": {"level_mwh_th": 10.0}}})
    assert rest.objective_cny == pytest.approx(525.0)
    assert rest.case.assets[0].level_initial == 1.0
    assert any("must end at least at the measured level" in n for n in rest.case.meta["redispatch"]["notes"])


# ---------------------------------------------------------------------------
# Deviation prices when the day-ahead case had none
# ---------------------------------------------------------------------------


def test_without_deviation_prices_the_labelled_defaults_apply(tmp_path: Path) -> None:
    case = copy.deepcopy(HAND)
    del case["grid"]["deviation"]
    plan = dispatched(case, tmp_path / "plan")
    np.testing.assert_allclose(plan.declared_mw, HAND_NET, atol=1e-9)  # the net import is the plan
    rest = redispatch_case(plan, 4, state_of(planned_state(plan, 4)))
    d = deviation_defaults()
    assert all("[assumed]" in d[k]["source"] or "[pub" in d[k]["source"] for k in d)
    buy = np.array([500, 450, 200, 210])
    np.testing.assert_allclose(rest.series(rest.grid.deviation.short_cny_per_mwh),
                               buy * d["short_fraction_of_buy"]["value"])
    np.testing.assert_allclose(rest.series(rest.grid.deviation.tolerance_mw),
                               np.array(HAND_NET[4:]) * d["tolerance_fraction_of_plan"]["value"])
    assert "deviation_defaults.yaml" in rest.meta["redispatch"]["deviation"]


def test_a_plan_with_a_schedule_is_held_to_that_schedule(tmp_path: Path) -> None:
    # A re-dispatch of a re-dispatch: the declared plan stays the day-ahead one (schedule_mw).
    plan = dispatched(HAND, tmp_path / "plan")
    first = rest_of(plan, "04:00", {"batteries": {"bat": {"soc_mwh": 1.5}}})
    write_outputs(first, tmp_path / "first", chart=False)
    again = read_plan(tmp_path / "first")
    np.testing.assert_allclose(again.declared_mw, HAND_NET[4:], atol=1e-9)
    assert from_step(again.case, "06:00") == 2


# ---------------------------------------------------------------------------
# A state that contradicts the case: every error names the field
# ---------------------------------------------------------------------------


def _errors(plan: Plan, at: str, state: Any) -> list[str]:
    with pytest.raises(CaseError) as info:
        redispatch_case(plan, from_step(plan.case, at), state_of(state))
    return [str(p) for p in info.value.problems]


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return dispatched(small_day(), tmp_path_factory.mktemp("small") / "plan")


def edited(plan: Plan, **changes: Any) -> dict[str, Any]:
    """The planned noon state with ``section={id: entry}`` replaced."""
    state = planned_state(plan, 12)
    for section, entries in changes.items():
        if isinstance(entries, dict) and isinstance(state.get(section), dict):
            state[section] = {**state[section], **entries}
        else:
            state[section] = entries
    return state


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"batteries": {"bat": {"soc_mwh": 4.5}}},
         r"^batteries\.bat\.soc_mwh: above the capacity: expected between 0 and energy_mwh=4 MWh, got 4\.5 MWh$"),
        ({"batteries": {"bat": {"soc_mwh": -0.1}}},
         r"^batteries\.bat\.soc_mwh: below zero: expected between 0 and energy_mwh=4 MWh, got -0\.1 MWh$"),
        ({"batteries": {"bat": {"soc_fraction": 1.2}}},
         r"^batteries\.bat\.soc_fraction: above the capacity: expected a fraction between 0 and 1 of energy_mwh, got 1\.2$"),
        ({"batteries": {"bat": {"soc_mwh": 1.0, "soc_fraction": 0.25}}},
         r"^batteries\.bat: give one of soc_mwh \[MWh\] or soc_fraction"),
        ({"thermal_storage": {"ice": {"level_mwh_th": 21}}},
         r"^thermal_storage\.ice\.level_mwh_th: above the capacity: expected between 0 and capacity_mwh_th=20 MWh_th, got 21$"),
        ({"thermal_storage": {"ice": {"level_mwh_th": -1}}},
         r"^thermal_storage\.ice\.level_mwh_th: below zero"),
        ({"flexible_loads": {"ev": {"delivered_mwh": 10.5}}},
         r"^flexible_loads\.ev\.delivered_mwh: above the flexible load's total: expected at most energy_mwh=10 MWh, got 10\.5$"),
        ({"shiftable_loads": {"late": {"started": True, "start_step": 14}}},
         r"^shiftable_loads\.late\.start_step: step 14 is still to come: the re-dispatch starts at step 12 \(12:00\)"),
        ({"shiftable_loads": {"late": {"started": True, "start": "13:00"}}},
         r"^shiftable_loads\.late\.start: 13:00 is still to come"),
        ({"shiftable_loads": {"late": {"started": True, "start": "13:30"}}},
         r"^shiftable_loads\.late\.start: 13:30 is not on the plan's 60-minute grid"),
        ({"shiftable_loads": {"early": {"started": False}}}, None),  # still fits: no error
        ({"batteries": {"battery-1": {"soc_mwh": 1}}},
         r"^batteries\.battery-1: unknown asset id 'battery-1': the case's batteries are \['bat'\]$"),
        ({"batteries": {"ev": {"soc_mwh": 1}}}, r"^batteries\.ev: 'ev' is a flexible_load, not a battery$"),
        ({"batteries": {}}, r"^batteries\.bat: missing: every battery needs its stored energy"),
        ({"demand_response": {"dr2": {"joined": True}}},
         r"^demand_response\.dr2: unknown event id 'dr2': the case's events are \['dr'\]$"),
        ({"demand_response": {}}, r"^demand_response\.dr: missing: every event not over"),
        ({"peak_to_date_mw": 7.0},
         r"^peak_to_date_mw: below the day-ahead case's peak_to_date_mw=8 MW: the billing period's peak cannot fall"),
        ({"time": "11:45"}, r"^time: 11:45 is not on the plan's 60-minute grid"),
        ({"time": "11:00"}, r"^time: the state was measured at 11:00, but the re-dispatch starts at 12:00$"),
        ({"curtailable_loads": {"plant": {"events_started": 2}}},
         r"^curtailable_loads\.plant\.events_started: above the case's max_events=1, got 2$"),
    ],
)
def test_a_state_that_contradicts_the_case_names_the_field(small_plan: Plan, changes: dict[str, Any],
                                                         expected: str | None) -> None:
    state = edited(small_plan, **changes)
    if changes.get("batteries") == {}:
        state["batteries"] = {}
    if changes.get("demand_response") == {}:
        state["demand_response"] = {}
    if expected is None:
        redispatch_case(small_plan, 12, state_of(state))
        return
    errors = _errors(small_plan, "12:00", state)
    assert any(re.search(expected, e) for e in errors), errors


def test_a_process_not_started_whose_run_no_longer_fits_is_named(small_plan: Plan) -> None:
    # "late" runs 2 steps in [14, 22): not started at 21:00 it cannot run any more.
    state = planned_state(small_plan, 21)
    state["shiftable_loads"]["late"] = {"started": False}
    errors = _errors(small_plan, "21:00", state)
    assert any(e.startswith("shiftable_loads.late.started: not started, but its 2-step run no longer fits before "
                            "latest_end (step 22, 22:00): the latest start was step 20 (20:00)") for e in errors), errors


def test_a_peak_is_needed_when_the_case_has_a_demand_charge(small_plan: Plan) -> None:
    state = planned_state(small_plan, 12)
    del state["peak_to_date_mw"]
    assert "peak_to_date_mw: missing: the case has a demand charge, so the state needs the billing period's peak so far [MW]" \
        in _errors(small_plan, "12:00", state)


def test_an_event_that_is_not_optional_cannot_have_been_left_out(tmp_path: Path) -> None:
    case = small_day()
    case["demand_response"][0]["optional"] = False
    plan = dispatched(case, tmp_path / "plan")
    state = planned_state(plan, 12)
    state["demand_response"]["dr"]["joined"] = False
    assert "demand_response.dr.joined: the event is not optional in the case: it cannot have been left out" \
        in _errors(plan, "12:00", state)


def test_state_fields_are_checked_with_their_paths() -> None:
    with pytest.raises(CaseError) as info:
        state_of({"batteries": {"bat": {"soc_mhw": 1}}, "peak_to_date": 3, "flexible_loads": {"ev": 4}})
    found = [str(p) for p in info.value.problems]
    assert "batteries.bat.soc_mhw: unknown field 'soc_mhw' (did you mean 'soc_mwh'?)" in found
    assert "peak_to_date: unknown field 'peak_to_date' (did you mean 'peak_to_date_mw'?)" in found
    assert "flexible_loads.ev: expected a mapping, got int" in found
    with pytest.raises(CaseError, match="expected a JSON/YAML object"):
        state_of([1, 2])


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("04:30", "from: 04:30 is not on the plan's 60-minute grid: expected a step boundary such as 04:00 or 05:00"),
        ("09:00", "from: 09:00 is outside the plan, which covers 2026-07-15 00:00 to 2026-07-15 08:00 (8 steps of 60 min)"),
        ("noon", "from: expected a time of day as HH:MM (00:00 to 23:59), got 'noon'"),
        ("24:00", "from: expected a time of day as HH:MM (00:00 to 23:59), got '24:00'"),
    ],
)
def test_a_time_not_on_the_plan_grid_is_named(tmp_path: Path, at: str, message: str) -> None:
    plan = dispatched(HAND, tmp_path / "plan")
    with pytest.raises(CaseError) as info:
        from_step(plan.case, at)
    assert [str(p) for p in info.value.problems] == [message]


def test_a_folder_that_is_not_a_plan_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CaseError, match=r"has no case\.json, curve\.csv, summary\.json: expected a folder written by vpp dispatch"):
        read_plan(tmp_path / "empty")
    with pytest.raises(CaseError, match=r"no folder 'nowhere': expected a folder written by vpp dispatch --out"):
        read_plan("nowhere")


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def test_the_command_writes_the_dispatch_outputs_of_the_rest_of_the_day(tmp_path: Path) -> None:
    from tests.vpp.test_cli import vpp, write_json

    case = write_json(tmp_path / "hand.json", HAND)
    res = vpp("dispatch", "--case", str(case), "--out", str(tmp_path / "plan"), "--no-chart", "--mip-gap", "0")
    assert res.returncode == 0, res.stderr
    res = vpp("redispatch", "--plan", str(tmp_path / "plan"), "--from", "04:00", "--write-state", str(tmp_path / "s.yaml"))
    assert res.returncode == 0, res.stderr
    state = yaml.safe_load((tmp_path / "s.yaml").read_text(encoding="utf-8"))
    assert state == {"time": "04:00", "batteries": {"bat": {"soc_mwh": pytest.approx(2.0)}}}
    state["batteries"]["bat"]["soc_mwh"] = 1.5
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(state), encoding="utf-8")
    res = vpp("redispatch", "--plan", str(tmp_path / "plan"), "--from", "04:00", "--state", str(tmp_path / "s.yaml"),
              "--out", str(tmp_path / "rest"), "--no-chart", "--mip-gap", "0")
    assert res.returncode == 0, res.stderr
    assert "deviation from the declared plan: 0.500 MWh above, 0.000 MWh below, 500 CNY" in res.stdout
    for name in ("schedule.csv", "schedule.parquet", "curve.csv", "summary.json", "case.json"):
        assert (tmp_path / "rest" / name).is_file(), name
    summary = json.loads((tmp_path / "rest" / "summary.json").read_text(encoding="utf-8"))
    assert summary["objective_cny"] == pytest.approx(1350.0) and summary["steps"] == 4
    written = load_case(json.loads((tmp_path / "rest" / "case.json").read_text(encoding="utf-8")))
    assert written.grid.schedule_mw == pytest.approx(HAND_NET[4:])
    assert written.meta["redispatch"]["state"] == {"time": "04:00", "batteries": {"bat": {"soc_mwh": 1.5}}}


def test_the_command_names_the_field_of_a_bad_state_and_exits_2(tmp_path: Path) -> None:
    from tests.vpp.test_cli import vpp, write_json

    plan = tmp_path / "plan"
    dispatched(HAND, plan)
    state = write_json(tmp_path / "s.json", {"batteries": {"bat": {"soc_mwh": 3}}})
    res = vpp("redispatch", "--plan", str(plan), "--from", "04:00", "--state", str(state), "--no-chart")
    assert res.returncode == 2
    assert "batteries.bat.soc_mwh: above the capacity: expected between 0 and energy_mwh=2 MWh, got 3 MWh" in res.stderr
    res = vpp("redispatch", "--plan", str(plan), "--from", "04:10", "--state", str(state), "--no-chart")
    assert res.returncode == 2
    assert "--from: 04:10 is not on the plan's 60-minute grid" in res.stderr
    # --case: the built-in case of the plan's date is not the plan's day.
    res = vpp("redispatch", "--plan", str(plan), "--from", "04:00", "--state", str(state), "--case", "teda-east")
    assert res.returncode == 2
    assert "case: the case covers 96 steps of 15 min from 2026-07-15T00:00:00+08:00, the plan 8 steps of 60 min" \
        in res.stderr


def test_a_battery_that_can_no_longer_reach_its_end_level_is_held_to_the_most_it_can(tmp_path: Path) -> None:
    # At 07:00, one hour left, the battery (charge efficiency 0.9 here) is empty: charging 1 MW for
    # the hour stores 0.9 MWh, short of the day-ahead end level of 1 MWh (0.5 of 2). It is held to
    # 0.9 MWh (0.45) and ends there.
    case = copy.deepcopy(HAND)
    case["assets"][1]["charge_efficiency"] = 0.9
    plan = dispatched(case, tmp_path / "plan")
    rest = redispatch_case(plan, 7, state_of({"batteries": {"bat": {"soc_mwh": 0.0}}}))
    assert rest.assets[1].soc_final_min == pytest.approx(0.45)  # 0.9 MWh of 2
    assert any("cannot reach its end level 0.5 from 0 in the rest of the day" in n for n in rest.meta["redispatch"]["notes"])
    solved = solve_case(rest, EXACT)
    assert solved.curve()["bat.soc_mwh"].iloc[-1] == pytest.approx(0.9)


def test_a_stochastic_plan_keeps_its_scenarios_and_its_declared_plan(tmp_path: Path) -> None:
    # HAND with the load from 04:00 uncertain: 0.8 or 1.2 MW, even odds; the plan D is decided
    # once for both scenarios (first stage). Until 04:00 the scenarios are the same day, so the
    # state at 04:00 is each scenario's, and the rest of the day, held to D with the same
    # scenarios, costs the day's expected cost less the (expected) cost before 04:00.
    case = copy.deepcopy(HAND)
    case["scenarios"] = [{"id": "low", "probability": 0.5, "series": {"load.demand_mw": [1] * 4 + [0.8] * 4}},
                         {"id": "high", "probability": 0.5, "series": {"load.demand_mw": [1] * 4 + [1.2] * 4}}]
    plan = dispatched(case, tmp_path / "plan")
    low, high = (plan.curve[f"{sc}|bat.soc_mwh"].to_numpy() for sc in ("low", "high"))
    assert low[3] == pytest.approx(high[3])
    np.testing.assert_allclose(plan.declared_mw, plan.curve["low|grid.plan_mw"], atol=1e-9)
    rest = rest_of(plan, "04:00")
    assert [(sc.id, sc.probability) for sc in rest.case.scenarios] == [("low", 0.5), ("high", 0.5)]
    assert rest.case.scenarios[0].series["load.demand_mw"] == [0.8] * 4
    np.testing.assert_allclose(rest.case.series(rest.case.grid.schedule_mw), plan.declared_mw[4:], atol=1e-9)
    assert rest.objective_cny == pytest.approx(plan.summary["objective_cny"] - cost_before(plan, 4), rel=1e-9)


def test_a_stochastic_thermal_demand_takes_the_same_first_step_offset(tmp_path: Path) -> None:
    # ICE with the heat demand at 02:00 uncertain (4 or 5 MW_th): measured at 7 MWh_th (H = 5),
    # every scenario's first step takes the offset 5 − 7 = −2 MW_th the case's own demand takes.
    case = copy.deepcopy(ICE)
    case["scenarios"] = [{"id": "mild", "probability": 0.4, "series": {"ice.thermal_demand_mw": [2, 2, 4, 1]}},
                         {"id": "hot", "probability": 0.6, "series": {"ice.thermal_demand_mw": [2, 2, 5, 1]}}]
    plan = dispatched(case, tmp_path / "plan")
    rest = redispatch_case(plan, 2, state_of({"thermal_storage": {"ice": {"level_mwh_th": 7.0}}}))
    assert rest.series(rest.assets[0].thermal_demand_mw).tolist() == [2.0, 1.0]
    assert [sc.series["ice.thermal_demand_mw"] for sc in rest.scenarios] == [[2.0, 1.0], [3.0, 1.0]]


def test_the_day_ahead_regulation_offers_are_held_from_the_middle_of_a_block(tmp_path: Path) -> None:
    # HAND with a regulation market of 2-hour blocks; re-dispatched at 03:00, inside the block
    # 02:00-04:00, with nothing changed: every battery keeps its day-ahead band step by step, the
    # rest re-solves to the same schedule with no deviation, and the day's cost splits at 03:00
    # (the band's payment before it recomputed from the written curve by cost_before).
    day = copy.deepcopy(HAND)
    day["regulation"] = {"capacity_price_cny_per_mw_h": [60, 60, 80, 80, 20, 20, 90, 90], "block_steps": 2,
                         "duration_h": 0.25}
    day["assets"][1]["regulation"] = True
    plan = dispatched(day, tmp_path / "plan")
    band = plan.column("bat", "regulation_mw")
    assert band.max() > 0.1  # the market is worth offering into
    np.testing.assert_allclose(band[2], band[3], atol=1e-9)  # one offer per block
    rest = rest_of(plan, "03:00")
    assert rest.case.regulation.block_steps == 1
    np.testing.assert_allclose(rest.curve()["bat.regulation_mw"].to_numpy(), band[3:], atol=1e-7)
    np.testing.assert_allclose(net_of(rest), plan.declared_mw[3:], atol=1e-7)
    assert rest.summary["cost_cny"]["deviation"] == pytest.approx(0.0, abs=1e-6)
    assert rest.objective_cny == pytest.approx(plan.summary["objective_cny"] - cost_before(plan, 3), abs=1e-5)
    assert held_offers(plan, 3).keys() == {"asset[bat].r"}
