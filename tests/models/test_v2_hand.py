"""Model version 2, term by term, on tiny cases whose optimum is derived by hand (in the comments).

Every case runs once per back end (the matrix path and the generated Pyomo
model). Δ = 1 h unless said otherwise; prices in CNY/MWh, powers in MW.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

from models import SolveOptions
from tests.models.test_assets_hand import approx, case, series
from vpp.case import load_case
from vpp.dispatch import solve_case
from vpp.errors import InfeasibleError
from vpp.results import DispatchResult

OPTS = SolveOptions(mip_gap=1e-9)
ENGINE = "matrix"


@pytest.fixture(autouse=True, params=["matrix", "pyomo"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys.modules[__name__], "ENGINE", request.param)
    return request.param


def run(data: dict[str, Any]) -> DispatchResult:
    result = solve_case(load_case(data), OPTS, engine=ENGINE)
    assert result.status == "optimal"
    return result


LOAD = {"id": "l", "type": "load", "demand_mw": 5}


# ---------------------------------------------------------------------------
# §3 demand charge: peak to date, declared demand
# ---------------------------------------------------------------------------


def test_a_peak_to_date_above_any_import_costs_no_demand_charge() -> None:
    # 5 MW for 1 h at 100 = 500; the month's peak so far is 20 MW > import_max 10: the day cannot
    # raise it, so c·(peak − P̂) = 0 with peak = P̂.
    r = run(case(1, [LOAD], grid={"demand_charge_cny_per_mw": 1000, "peak_to_date_mw": 20}))
    assert r.objective_cny == approx(500)
    assert r.summary["cost_cny"]["demand"] == approx(0)


def test_the_demand_charge_is_for_raising_the_peak_to_date() -> None:
    # load 5, P̂ = 3: the peak rises by 2 → 1000·2 = 2000, plus energy 500.
    r = run(case(1, [LOAD], grid={"demand_charge_cny_per_mw": 1000, "peak_to_date_mw": 3}))
    assert r.objective_cny == approx(2500)
    assert r.summary["cost_cny"]["demand"] == approx(2000)


def test_declared_demand_exceeded_is_charged_twice_above_105_percent() -> None:
    # Dd = 4 → 105 % = 4.2; peak 5 → x = 0.8; 2·100·0.8 = 160, plus energy 500.
    r = run(case(1, [LOAD], grid={"demand_charge_cny_per_mw": 100, "declared_demand_mw": 4}))
    assert r.summary["cost_cny"]["demand"] == approx(160)
    assert r.objective_cny == approx(660)
    # P̂ = 4.5 already above 4.2: only the rise above it is charged, 2·100·(0.8 − 0.3) = 100.
    r = run(case(1, [LOAD], grid={"demand_charge_cny_per_mw": 100, "declared_demand_mw": 4, "peak_to_date_mw": 4.5}))
    assert r.summary["cost_cny"]["demand"] == approx(100)
    # within 105 %: no charge at all (the declared part is a fixed charge outside the day)
    r = run(case(1, [dict(LOAD, demand_mw=4.1)], grid={"demand_charge_cny_per_mw": 100, "declared_demand_mw": 4}))
    assert r.summary["cost_cny"]["demand"] == approx(0)


def test_a_battery_shaves_the_peak_when_the_demand_charge_pays_for_it() -> None:
    # load [5, 1], buy 100, c = 1000/MW: the battery (1 MW, 2 MWh, η = 1, soc_min 0, at 1 MWh and
    # ending there) discharges 1 MW at t0, cutting the peak to 4 (saves 1000), and recharges at t1:
    # energy 100·(4 + 2) = 600, demand 1000·4 = 4000 → 4600 (against 5100 without it).
    b = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
         "discharge_efficiency": 1, "soc_min": 0}
    r = run(case(2, [dict(LOAD, demand_mw=[5, 1]), b], grid={"demand_charge_cny_per_mw": 1000}))
    assert r.objective_cny == approx(4600)
    assert r.summary["peak_import_mw"] == approx(4)


# ---------------------------------------------------------------------------
# §3 declared plan and deviations
# ---------------------------------------------------------------------------

DEVIATION = {"short_cny_per_mwh": 50, "long_cny_per_mwh": 30, "tolerance_mw": 0.2}


def test_a_deviation_inside_its_tolerance_costs_nothing_and_outside_is_charged_beyond_it() -> None:
    # plan 1 MW; load 1.1 (inside 0.2): 0; load 1.5: 0.3 MW short for 1 h at 50 = 15.
    r = run(case(1, [dict(LOAD, demand_mw=1.1)], grid={"schedule_mw": 1, "deviation": DEVIATION}))
    assert r.summary["cost_cny"]["deviation"] == approx(0)
    r = run(case(1, [dict(LOAD, demand_mw=1.5)], grid={"schedule_mw": 1, "deviation": DEVIATION}))
    assert r.summary["cost_cny"]["deviation"] == approx(15)
    assert series(r, "grid", "deviation_short_mw") == approx([0.3])
    # below the plan: load 0.5 → 0.3 MW long at 30 = 9
    r = run(case(1, [dict(LOAD, demand_mw=0.5)], grid={"schedule_mw": 1, "deviation": DEVIATION}))
    assert r.summary["cost_cny"]["deviation"] == approx(9)
    assert series(r, "grid", "deviation_long_mw") == approx([0.3])


def test_a_battery_follows_the_declared_plan_when_deviating_costs_more_than_cycling() -> None:
    # plan [1, 1], load [2, 0], no tolerance, short 500 / long 500, buy 100. The battery (1 MW,
    # 2 MWh, η = 1, soc_min 0, at 1 MWh and ending there) discharges 1 at t0 and charges 1 at t1:
    # net [1, 1], no deviation, energy 100·2 = 200. Without it: 1 MW short and 1 MW long → 1000 more.
    b = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
         "discharge_efficiency": 1, "soc_min": 0}
    dev = {"short_cny_per_mwh": 500, "long_cny_per_mwh": 500}
    r = run(case(2, [dict(LOAD, demand_mw=[2, 0]), b], grid={"schedule_mw": 1, "deviation": dev}))
    assert r.objective_cny == approx(200)
    assert r.summary["cost_cny"]["deviation"] == approx(0)


def test_without_a_schedule_the_solve_declares_the_plan() -> None:
    # deviation priced, no schedule: the plan is free, declared at the net import, no deviation.
    r = run(case(2, [dict(LOAD, demand_mw=[2, 3])], grid={"deviation": dict(DEVIATION, tolerance_mw=0)}))
    assert series(r, "grid", "plan_mw") == approx([2, 3])
    assert r.summary["cost_cny"]["deviation"] == approx(0)
    assert r.objective_cny == approx(500)


# ---------------------------------------------------------------------------
# §4.4 curtailable loads: minimum reduction, start cost
# ---------------------------------------------------------------------------


def test_a_curtailment_event_is_held_at_its_minimum_reduction_for_its_minimum_duration() -> None:
    # demand 5, cut ≤ 3 at 150/MWh, at least 2 MW while curtailing, for at least 2 steps; buy
    # [100, 1000, 100]. Cutting at t1 saves 1000 − 150 = 850 per MWh → cut 3. The event must last two
    # steps: at t0 or t2 a cut loses 150 − 100 = 50 per MWh, so the least, 2 MW: −100 CNY.
    # energy 5·100 + 2·1000 + 3·100 = 2800 (or 3·100 + 2·1000 + 5·100), curtailment 150·5 = 750 → 3550.
    c = {"id": "c", "type": "curtailable_load", "demand_mw": 5, "max_reduction_mw": 3, "cost_cny_per_mwh": 150,
         "min_reduction_mw": 2, "min_duration_steps": 2}
    r = run(case(3, [c], buy=[100, 1000, 100]))
    assert r.objective_cny == approx(3550)
    reduction = series(r, "c", "reduction_mw")
    assert reduction[1] == approx(3) and sorted([reduction[0], reduction[2]]) == approx([0, 2])
    # each start costs 100 more: one event, so 3650
    r = run(case(3, [dict(c, start_cny=100)], buy=[100, 1000, 100]))
    assert r.objective_cny == approx(3650)
    assert r.summary["cost_cny"]["load_curtailment_start"] == approx(100)


def test_a_start_cost_makes_two_short_cuts_one_long_one() -> None:
    # buy [1000, 100, 1000], cut 1 of 2 MW at 200/MWh, at least 1 MW while curtailing. Without a start
    # cost: cut at t0 and t2 (save 800 each), not t1 (loses 100): 2200 + 400 = 2600. With start 150:
    # two events cost 300, one event over the three steps 150 + 100 lost at t1: one long event,
    # 2100 + 600 + 150 = 2850.
    c = {"id": "c", "type": "curtailable_load", "demand_mw": 2, "max_reduction_mw": 1, "cost_cny_per_mwh": 200,
         "min_reduction_mw": 1}
    plain = run(case(3, [c], buy=[1000, 100, 1000]))
    assert series(plain, "c", "reduction_mw") == approx([1, 0, 1])
    assert plain.objective_cny == approx(2600)
    started = run(case(3, [dict(c, start_cny=150)], buy=[1000, 100, 1000]))
    assert series(started, "c", "reduction_mw") == approx([1, 1, 1])
    assert started.objective_cny == approx(2850)


def test_without_a_minimum_reduction_a_curtailment_flag_may_stay_on_at_no_cut() -> None:
    # As above but min_reduction 0: z = [1, 1, 1] with r = [1, 0, 1] is one event (§4.4 bounds r by
    # R·z, and by min(Rmin, R)·z = 0 from below): 2200 + 400 + 150 = 2750.
    c = {"id": "c", "type": "curtailable_load", "demand_mw": 2, "max_reduction_mw": 1, "cost_cny_per_mwh": 200,
         "start_cny": 150}
    r = run(case(3, [c], buy=[1000, 100, 1000]))
    assert r.objective_cny == approx(2750)
    assert series(r, "c", "reduction_mw") == approx([1, 0, 1])


# ---------------------------------------------------------------------------
# §5.2 demand response: not joined, valley filling
# ---------------------------------------------------------------------------


def test_an_event_not_joined_carries_no_shortfall_penalty() -> None:
    # load 5 fixed, baseline 3, asks 1 MW below it: joining earns 10 but is 3 MW short at 1000 → not
    # joined, and (v2) no shortfall either: 500 of energy only.
    ev = {"id": "dr", "start_step": 0, "end_step": 1, "baseline_mw": 3, "reduction_mw": 1, "price_cny_per_mwh": 10,
          "shortfall_penalty_cny_per_mwh": 1000}
    r = run(case(1, [LOAD], demand_response=[ev]))
    assert r.objective_cny == approx(500)
    [e] = r.summary["demand_response"]
    assert e["joined"] is False and e["shortfall_mwh"] == approx(0) and e["penalty_cny"] == approx(0)


def test_a_valley_filling_event_worth_joining_and_one_not() -> None:
    # load 1 fixed, an EV that needs 1 MWh in either step (≤ 1 MW), buy 100. Valley filling at t0:
    # baseline 1, +1 MW, paid 200/MWh: the EV charges at t0, net 2 = baseline + 1: 300 − 200 = 100.
    ev_load = {"id": "ev", "type": "flexible_load", "max_power_mw": 1, "energy_mwh": 1}
    fill = {"id": "fill", "kind": "valley_filling", "start_step": 0, "end_step": 1, "baseline_mw": 1,
            "increase_mw": 1, "price_cny_per_mwh": 200, "shortfall_penalty_cny_per_mwh": 1000}
    r = run(case(2, [dict(LOAD, demand_mw=1), ev_load], demand_response=[fill]))
    assert r.objective_cny == approx(100)
    assert series(r, "ev", "consumption_mw") == approx([1, 0])
    assert r.summary["demand_response"][0]["joined"] is True
    assert r.summary["demand_response"][0]["kind"] == "valley_filling"
    # asking +2 MW: only 1 can come, 1 MW short at 1000 > 2·200 earned: not joined, 300.
    r = run(case(2, [dict(LOAD, demand_mw=1), ev_load], demand_response=[dict(fill, increase_mw=2)]))
    assert r.objective_cny == approx(300)
    assert r.summary["demand_response"][0]["joined"] is False


# ---------------------------------------------------------------------------
# §5.3 the emissions cap
# ---------------------------------------------------------------------------


def test_an_emissions_cap_is_met_by_leaving_energy_unserved_and_names_it() -> None:
    # load 2 MW, PV 1 MW free, grid 100 CNY/MWh at 0.5 t/MWh, cap 0.3 t → grid energy ≤ 0.6 MWh;
    # the other 0.4 MWh is unserved at voll 1000: 0.6·100 + 0.4·1000 = 460.
    r = run(case(1, [dict(LOAD, demand_mw=2), {"id": "pv", "type": "pv", "available_mw": 1}],
                 grid={"emission_t_per_mwh": 0.5}, emissions_max_t=0.3, voll_cny_per_mwh=1000))
    assert r.objective_cny == approx(460)
    assert r.summary["emissions_t"] == approx(0.3)
    [u] = r.summary["unserved"]
    assert u["kind"] == "unserved_electric" and u["energy_mwh"] == approx(0.4)


# ---------------------------------------------------------------------------
# §5.4 frequency regulation
# ---------------------------------------------------------------------------

REG_BATTERY = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
               "discharge_efficiency": 1, "regulation": True}


def test_the_band_is_the_power_headroom_when_energy_is_plentiful() -> None:
    # A 1 MW / 2 MWh battery at half (1 MWh), soc 0.1–0.9 (0.2–1.8 MWh), τ = 0.25 h, load 2 MW (so the
    # connection can carry the band both ways), no arbitrage (flat price). Energy allows
    # r ≤ (1 − 0.2)/0.25 = 3.2 MW, power r ≤ 1: the band is 1 MW, paid 10/MW·h for 2 h = 20.
    r = run(case(2, [dict(LOAD, demand_mw=2), REG_BATTERY], regulation={"capacity_price_cny_per_mw_h": 10}))
    assert series(r, "b", "regulation_mw") == approx([1, 1])
    assert r.summary["cost_cny"]["regulation_capacity"] == approx(-20)
    assert r.objective_cny == approx(400 - 20)


def test_the_band_is_the_energy_headroom_when_a_full_deployment_lasts_an_hour() -> None:
    # τ = 1 h: r ≤ (1 − 0.2)/1 = 0.8 MW down and (1.8 − 1)/1 = 0.8 up; the band is 0.8 MW: 16.
    r = run(case(2, [dict(LOAD, demand_mw=2), REG_BATTERY],
                 regulation={"capacity_price_cny_per_mw_h": 10, "duration_h": 1}))
    assert series(r, "b", "regulation_mw") == approx([0.8, 0.8])
    assert r.objective_cny == approx(400 - 16)


def test_arbitrage_worth_more_than_the_band_takes_the_headroom() -> None:
    # buy [100, 1000]; the battery can shift 0.8 MWh (from 1 down to 0.2) to t1: it discharges 0.8
    # at t1 (saves 0.8·1000) after charging... it starts at 1 MWh and must end at 1, so it charges
    # 0.8 at t0 and discharges 0.8 at t1: saves 0.8·(1000 − 100) = 720 against a band worth
    # at most 1 MW · 2 h · 10 = 20. With arbitrage the band is limited: at t0 ch = 0.8 leaves
    # r ≤ 1 − 0.8 = 0.2 (power), at t1 dis = 0.8 leaves r ≤ 0.2; energy: end of t0 soc = 1.8 =
    # soc_max → r = 0 at t0 (down headroom 1.8 + 0.25·r ≤ 1.8). So r = [0, min(0.2, …)] and at t1 the
    # start of the step is soc 1.8: r = 0 too. Total: 2·100 + 0.8·100 + 1000·(2 − 0.8) = 1480.
    r = run(case(2, [dict(LOAD, demand_mw=2), REG_BATTERY], buy=[100, 1000],
                 regulation={"capacity_price_cny_per_mw_h": 10}))
    assert r.objective_cny == approx(280 + 1200)
    assert series(r, "b", "regulation_mw") == approx([0, 0])


def test_a_branch_limits_the_band_it_carries() -> None:
    # The battery sits at node n (branch 1.5 MW both ways) with a 1 MW load there; the root has 1 MW
    # of load too. The band must fit the branch: f = −1 (the load is fed downwards), so
    # f − r ≥ −1.5 → r ≤ 0.5. Paid 10/MW·h for 1 h: 5.
    r = run(case(1, [dict(LOAD, demand_mw=1, node="n"), dict(REG_BATTERY, node="n"), {"id": "l0", "type": "load", "demand_mw": 1}],
                 network={"nodes": [{"id": "n", "capacity_mw": 1.5}]},
                 regulation={"capacity_price_cny_per_mw_h": 10}))
    assert series(r, "b", "regulation_mw") == approx([0.5])
    assert r.objective_cny == approx(200 - 5)


def test_a_minimum_offer_not_worth_meeting_in_a_block_is_not_offered() -> None:
    # min offer 1 MW; block 1 (steps 0–1) is paid 10, block 2 (steps 2–3) 0.01; load 2, flat price.
    # With τ = 1 h the band is at most 0.8 MW < 1: nothing can be offered in either block.
    data = case(4, [dict(LOAD, demand_mw=2), REG_BATTERY],
                regulation={"capacity_price_cny_per_mw_h": [10, 10, 0.01, 0.01], "duration_h": 1, "block_steps": 2,
                            "min_offer_mw": 1})
    r = run(data)
    assert series(r, "b", "regulation_mw") == approx([0, 0, 0, 0])
    # with τ = 0.25 h the band reaches 1 MW: offered in both blocks (each still pays something)
    data["regulation"]["duration_h"] = 0.25
    r = run(data)
    assert series(r, "b", "regulation_mw") == approx([1, 1, 1, 1])
    assert r.summary["cost_cny"]["regulation_capacity"] == approx(-(10 + 10 + 0.01 + 0.01))


def test_mileage_pays_for_the_band_at_the_battery_performance_and_the_loss_is_its_own() -> None:
    # band 1 MW for 1 h: capacity 10, mileage 6 CNY/MW × 2 MW/MW·h × K 0.5 = 6; the expected loss of
    # following the signal α(1/ηd − ηc)·r·Δ = 0.2·(1/0.9 − 0.9)·1 = 0.04222 MWh comes out of the level
    # (it may end at 0.45 of 2 MWh, below its start of 1 MWh). Energy is free (buy 0), so discharging
    # earns nothing that the band would lose: objective −16.
    b = dict(REG_BATTERY, charge_efficiency=0.9, discharge_efficiency=0.9, regulation_performance=0.5,
             soc_final_min=0.45)
    r = run(case(1, [dict(LOAD, demand_mw=1), b], buy=0,
                 regulation={"capacity_price_cny_per_mw_h": 10, "mileage_price_cny_per_mw": 6,
                             "mileage_mw_per_mw_h": 2, "deployment_fraction": 0.2}))
    assert r.summary["cost_cny"]["regulation_mileage"] == approx(-6)
    assert r.objective_cny == approx(-16)
    assert series(r, "b", "soc_mwh") == approx([1 - 0.2 * (1 / 0.9 - 0.9)])


# ---------------------------------------------------------------------------
# §5.5 the backup reserve
# ---------------------------------------------------------------------------


def test_the_backup_reserve_keeps_energy_an_arbitrage_would_use() -> None:
    # buy [1000, 100], battery 1 MW / 2 MWh at 1 MWh (soc_min 0.1 → 0.2 MWh), η = 1, must end at
    # 1 MWh. Arbitrage: discharge 0.8 at t0 (level 0.2), recharge at t1: saves 0.8·900 = 720.
    # backup_hours 1 for a critical 0.5 MW (share 0.5 of the 1 MW load): Q = 0.5 MWh must stay above
    # the minimum at every step: the level may fall to 0.7 only: discharge 0.3, saves 270.
    b = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 1,
         "discharge_efficiency": 1}
    base = case(2, [dict(LOAD, demand_mw=1, critical_fraction=0.5), b], buy=[1000, 100])
    assert run(base).objective_cny == approx(1100 - 720)
    r = run(dict(base, backup_hours=1))
    assert r.objective_cny == approx(1100 - 270)
    assert series(r, "backup", "required_mwh") == approx([0.5, 0.5])
    assert series(r, "backup", "held_mwh") == approx([0.5, 0.8])


def test_a_backup_reserve_the_batteries_cannot_hold_names_the_culprit() -> None:
    b = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2}
    data = case(2, [dict(LOAD, demand_mw=4, critical_fraction=1.0), b], backup_hours=2)
    with pytest.raises(InfeasibleError) as info:
        solve_case(load_case(data), OPTS, engine=ENGINE)
    assert "backup_hours=2 needs 8 MWh in the batteries above their minimum" in str(info.value)


def test_pv_counts_against_the_critical_load_over_the_outage() -> None:
    # critical 1 MW, PV [0, 0.4, 1, 1]: from t0 the next 2 steps need (1 − 0.4) + (1 − 1) = 0.6 MWh;
    # the horizon repeats: from t3 the next are t0, t1: 1 + 0.6 = 1.6.
    r = run(case(4, [dict(LOAD, demand_mw=1, critical_fraction=1.0), {"id": "pv", "type": "pv", "available_mw": [0, 0.4, 1, 1]},
                     {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 4}], backup_hours=2))
    assert series(r, "backup", "required_mwh") == approx([0.6, 0.0, 1.0, 1.6])


# ---------------------------------------------------------------------------
# §6 two stages
# ---------------------------------------------------------------------------


def test_a_stochastic_day_shares_its_first_stage_and_weights_the_rest() -> None:
    # An optional green contract (up to 1 MW at 120, fixed fee 30) against grid energy at 150
    # (sunny) or 90 (windy), probability 0.5 each; load 1 MW for 1 h. The contract is decided
    # day-ahead for both scenarios. Taken: 30 + 0.5·120 + 0.5·90 (not used when windy) = 135;
    # not taken: 0.5·150 + 0.5·90 = 120. Not taken.
    g = {"id": "g", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 120, "fixed_cny": 30}
    data = case(1, [dict(LOAD, demand_mw=1), g], buy=150,
                scenarios=[{"id": "sunny", "probability": 0.5, "series": {}},
                           {"id": "windy", "probability": 0.5, "series": {"grid.buy_cny_per_mwh": 90}}])
    r = run(data)
    assert r.objective_cny == approx(120)
    assert [s["cost_cny"] for s in r.summary["scenarios"]] == approx([150, 90])
    assert r.summary["green_contracts"][0]["taken"] is False
    # λ = 1, β = 0.5: the CVaR of the scenario costs (first-stage fee outside it) is the worse one.
    # Not taken: 120 + 150 = 270; taken: 135 + CVaR of [120, 90] = 135 + 120 = 255. Taken.
    risky = run(dict(data, risk={"cvar_weight": 1, "cvar_beta": 0.5}))
    assert risky.objective_cny == approx(255)
    assert risky.summary["cvar_cny"] == approx(120)
    assert risky.summary["green_contracts"][0]["taken"] is True


def test_cvar_changes_the_first_stage_decision() -> None:
    # Grid 40 (p 0.9) or 400 (p 0.1); a contract of 1 MW at 100 taken whole (min_take 1) or not.
    # Risk-neutral: not taken, 0.9·40 + 0.1·400 = 76 < 100. With λ = 1, β = 0.9: not taken costs
    # 76 + CVaR 400 = 476, taken 100 + 100 = 200: taken.
    g = {"id": "g", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 100, "min_take": 1}
    data = case(1, [dict(LOAD, demand_mw=1), g], buy=40,
                scenarios=[{"id": "calm", "probability": 0.9, "series": {}},
                           {"id": "spike", "probability": 0.1, "series": {"grid.buy_cny_per_mwh": 400}}])
    assert run(data).objective_cny == approx(76)
    r = run(dict(data, risk={"cvar_weight": 1, "cvar_beta": 0.9}))
    assert r.objective_cny == approx(200)
    assert r.summary["green_contracts"][0]["taken"] is True
    table = r.schedule
    assert set(table["scenario"]) == {"calm", "spike"}
    purchases = table[(table["asset"] == "g") & (table["quantity"] == "purchase_mw")]["value"]
    assert np.allclose(purchases, 1.0)
