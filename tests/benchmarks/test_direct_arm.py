"""The direct arm (``benchmarks/arms/direct.py``, the product's matrix engine with the spec's
binaries) solves the same model as the product's Pyomo model.

Every case is solved by the arm and by the product through its Pyomo engine
(``vpp.dispatch.solve_case(..., engine="pyomo")``: the model written in Pyomo's algebra,
apart from the numpy blocks) with a MIP gap of 1e-9; the optimal objectives must agree to
1e-6 relative. The arm's size must be the size model.md implies (:func:`spec_sizes`), and on
fixed cases exactly the size of the Pyomo spec formulation, less the two terminal rows per
storage that the matrix engine writes as column bounds. The extracted arrays must close every
node balance (§2) and their cost terms must add up to the objective.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import models
from benchmarks.arms import ArmResult, Settings, direct
from models import SolveOptions
from tests.models.test_assets_hand import case as hand_case
from tests.models.test_properties import cases
from tests.models.test_residuals import RICH, _variant_star_half_hours
from tests.models.test_solve import BATTERY_HAND
from vpp.case import Case, load_case
from vpp.cases import materialize
from vpp.dispatch import solve_case
from vpp.errors import InfeasibleError

OPTS = SolveOptions(mip_gap=1e-9, time_limit_s=20)
SETTINGS = Settings(mip_gap=1e-9, time_limit_s=20, threads=1)


def spec_sizes(case: Case) -> tuple[int, int]:
    """(variables, binaries) of model.md (version 2, one scenario) for ``case``, counted from the spec."""
    N = case.steps
    K = len(case.network.nodes)
    g = case.grid
    both = int(np.sum((case.series(g.import_max_mw) > 0) & (case.series(g.export_max_mw) > 0)))  # y[t]
    variables = 2 * N + K * N + (K + 1) * N + both
    binaries = both
    if g.demand_charge_cny_per_mw > 0:
        variables += 1 + (g.declared_demand_mw is not None)  # peak, and the excess over 105 % of the declaration
    if g.deviation is not None:
        variables += 2 * N + (N if g.schedule_mw is None else 0)  # dev⁺, dev⁻ and the declared plan D
    regulating = case.regulation is not None and any(a.type == "battery" and a.regulation for a in case.assets)
    blocks = -(-N // case.regulation.block_steps) if case.regulation is not None else 0
    for a in case.assets:
        if a.type in ("pv", "flexible_load"):
            variables += N
        elif a.type == "battery":
            variables += 4 * N + (blocks if regulating and a.regulation else 0)  # ch, dis, soc, b (+ r per block)
            binaries += N
        elif a.type == "curtailable_load":
            variables += 3 * N if a.needs_binaries else N
            binaries += N if a.needs_binaries else 0
        elif a.type == "shiftable_load":
            end = N if a.latest_end is None else a.latest_end
            starts = end - len(a.profile_mw) + 1 - a.earliest_start
            variables += starts
            binaries += starts
        elif a.type == "green_contract":
            variables += N + int(a.optional)
            binaries += int(a.optional)
        elif a.type == "thermal_storage":
            variables += 3 * N + 1  # e, h, w per step and the final shortfall v
    if regulating and case.regulation.min_offer_mw > 0:
        variables += blocks  # o per block
        binaries += blocks
    for ev in case.demand_response:
        variables += ev.length_steps + int(ev.optional)
        binaries += int(ev.optional)
    return variables, binaries


def check_balances(case: Case, sol: models.Solution) -> None:
    """Every node balance of §2 closes on the extracted arrays."""
    root = case.network.root
    net = {n: np.array(u) for n, u in sol.unserved_mw.items()}
    net[root] += sol.import_mw - sol.export_mw
    for a in case.assets:
        if a.type != "green_contract":
            net[case.node_of(a)] += sol.assets[a.id]["injection_mw"]
    for n in case.network.nodes:
        net[case.parent_of(n)] += sol.flow_mw[n.id]
        net[n.id] -= sol.flow_mw[n.id]
    for n, residual in net.items():
        assert np.abs(residual).max() <= 1e-6 * max(1.0, float(np.max(case.series(case.grid.import_max_mw)))), n


def check_same_optimum(case: Case, settings: Settings = SETTINGS) -> ArmResult:
    """The arm's optimum equals the Pyomo model's; sizes and extraction are sane."""
    result, sol = direct.solve(case, settings)
    assert result.status == "optimal", result.note
    assert result.mip_gap is not None and result.mip_gap <= 1e-6
    product = solve_case(case, OPTS, engine="pyomo")
    assert product.status == "optimal"
    assert result.objective_cny == pytest.approx(product.objective_cny, rel=1e-6, abs=1e-6)
    assert (result.variables, result.binaries) == spec_sizes(case)
    assert 0 < result.nonzeros and result.constraints > 0
    assert set(result.phases) == {"build", "handover", "solve", "extract"}
    assert sol is not None
    assert sol.objective_cny == pytest.approx(result.objective_cny, rel=1e-6, abs=1e-6)
    assert set(sol.assets) == {a.id for a in case.assets}
    check_balances(case, sol)
    return result


def check_product_sizes(case: Case, result: ArmResult) -> None:
    """The same model as the product's spec formulation: same columns, binaries, rows and nonzeros."""
    report = models.solve(models.build(case), OPTS)
    assert (result.variables, result.binaries) == (report.variables, report.binaries)
    assert (result.constraints, result.nonzeros) == (report.constraints, report.nonzeros)


# ---------------------------------------------------------------------------
# (a) hand cases: every asset type and option
# ---------------------------------------------------------------------------

BAT = {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 0.9,
       "discharge_efficiency": 0.9, "soc_min": 0, "soc_max": 1, "soc_initial": 0.5}
CL = {"id": "cl", "type": "curtailable_load", "demand_mw": 2, "max_reduction_mw": 1, "cost_cny_per_mwh": 150}
ICE = {"id": "ice", "type": "thermal_storage", "cop": 3, "thermal_demand_mw": [0, 3, 1], "capacity_mwh_th": 3,
       "max_power_mw": 0.6, "level_initial": 0.2, "loss_per_hour": 0.05}
PRICES = [100, 500, 50, 600]

HAND: dict[str, dict[str, Any]] = {
    "rich-chain": RICH,
    "rich-star-30min": _variant_star_half_hours(),
    "battery-hand": BATTERY_HAND,
    "lp-only": hand_case(3, [{"id": "pv", "type": "pv", "available_mw": [0, 3, 1], "curtailment_cny_per_mwh": 7},
                             {"id": "l", "type": "load", "demand_mw": 1}]),
    "exclusivity-arbitrage": hand_case(
        4, [BAT, {"id": "l", "type": "load", "demand_mw": 1}], buy=PRICES,
        grid={"export_max_mw": 2, "sell_cny_per_mwh": [150, 700, 40, 650]}),
    "export-only-no-binary": hand_case(
        3, [{"id": "pv", "type": "pv", "available_mw": 4}], grid={"import_max_mw": 0, "export_max_mw": 2,
                                                                  "sell_cny_per_mwh": 80}),
    "battery-options": hand_case(
        4, [dict(BAT, power_mw=None, charge_power_mw=0.5, discharge_power_mw=1.5, max_cycles=0.5,
                 self_discharge_per_hour=0.05, degradation_cny_per_mwh=20, soc_final_min=0.3),
            {"id": "l", "type": "load", "demand_mw": 1}], buy=PRICES, step_minutes=30),
    "curtailable-plain": hand_case(4, [CL], buy=PRICES),
    "curtailable-max-events-only": hand_case(4, [dict(CL, max_events=1)], buy=PRICES),
    "curtailable-no-events": hand_case(4, [dict(CL, max_events=0)], buy=PRICES),
    "curtailable-min-duration": hand_case(4, [dict(CL, min_duration_steps=3, max_reduction_mw=[1, 0, 1, 1])],
                                          buy=PRICES),
    "curtailable-duration-beyond-horizon": hand_case(4, [dict(CL, min_duration_steps=6, max_events=2)], buy=PRICES),
    "shiftable-window": hand_case(5, [{"id": "s", "type": "shiftable_load", "profile_mw": [2, 0, 1],
                                       "earliest_start": 1, "latest_end": 5}], buy=[*PRICES, 10]),
    "flexible-requirements": hand_case(
        4, [{"id": "ev", "type": "flexible_load", "min_power_mw": [0.1, 0, 0.2, 0], "max_power_mw": 2,
             "energy_mwh": 3, "requirements": [{"by_step": 2, "energy_mwh": 1}, {"by_step": 4, "energy_mwh": 3}]}],
        buy=PRICES),
    "green-contracts": hand_case(
        3, [{"id": "l", "type": "load", "demand_mw": 2},
            {"id": "g1", "type": "green_contract", "available_mw": [1, 2, 0], "price_cny_per_mwh": 120,
             "min_take": 0.5, "fixed_cny": 30},
            {"id": "g2", "type": "green_contract", "available_mw": 0.5, "price_cny_per_mwh": 300, "min_take": 0.4,
             "optional": False, "fixed_cny": 10}],
        buy=[100, 200, 300], grid={"emission_t_per_mwh": [0.8, 0.6, 0.5]}, carbon_price_cny_per_t=90),
    "green-share-forces-contract": hand_case(
        2, [{"id": "l", "type": "load", "demand_mw": 2},
            {"id": "g", "type": "green_contract", "available_mw": 2, "price_cny_per_mwh": 400}], green_share_min=0.4),
    "thermal": hand_case(3, [ICE], buy=[50, 500, 300]),
    "demand-charge-carbon": hand_case(
        3, [{"id": "ev", "type": "flexible_load", "max_power_mw": 3, "energy_mwh": 3}],
        buy=[100, 110, 120], grid={"demand_charge_cny_per_mw": 40, "emission_t_per_mwh": [1, 0.2, 0.5]},
        carbon_price_cny_per_t=100),
    "demand-response": hand_case(
        3, [dict(CL, demand_mw=3)], buy=200,
        demand_response=[
            {"id": "e1", "start_step": 0, "end_step": 2, "baseline_mw": 3, "reduction_mw": 1, "price_cny_per_mwh": 400,
             "shortfall_penalty_cny_per_mwh": 900},
            {"id": "e2", "start_step": 2, "end_step": 3, "baseline_mw": [3, 3, 2.5], "reduction_mw": 2,
             "price_cny_per_mwh": 50, "shortfall_penalty_cny_per_mwh": 300, "optional": False}]),
    "network-one-way-limits": hand_case(
        3, [{"id": "pv", "type": "pv", "node": "a", "available_mw": [0, 5, 2]},
            {"id": "l", "type": "load", "node": "b", "demand_mw": [1, 4, 6]}],
        grid={"export_max_mw": 1, "sell_cny_per_mwh": 30},
        network={"root": "grid", "nodes": [{"id": "a", "export_capacity_mw": 2},
                                           {"id": "b", "parent": "a", "capacity_mw": 3}]}),
}


@pytest.mark.parametrize("name", list(HAND))
def test_hand_cases_same_optimum(name: str) -> None:
    case = load_case(copy.deepcopy(HAND[name]))
    result = check_same_optimum(case)
    if name in ("rich-chain", "rich-star-30min", "battery-hand", "exclusivity-arbitrage", "curtailable-min-duration"):
        check_product_sizes(case, result)


def test_lp_case_has_no_binaries_and_solves_as_an_lp() -> None:
    result = direct.run(load_case(HAND["lp-only"]), SETTINGS)
    assert result.binaries == 0 and result.mip_gap == 0.0


# ---------------------------------------------------------------------------
# (b) the built-in TEDA east case
# ---------------------------------------------------------------------------


def test_teda_east_same_optimum_and_product_sizes() -> None:
    # with its regulation market, every spec binary and a 1e-9 gap the day takes HiGHS seconds, more on a
    # loaded machine: a time limit that leaves room for that (speed is measured in benchmarks/, not here)
    case = materialize("teda-east", dt.date(2026, 7, 15))
    assert case.regulation is not None
    result = check_same_optimum(case, Settings(mip_gap=1e-9, time_limit_s=120, threads=1))
    check_product_sizes(case, result)
    assert result.binaries > 0 and all(v > 0 for v in result.phases.values())


# ---------------------------------------------------------------------------
# statuses
# ---------------------------------------------------------------------------


def test_infeasible_case_reports_infeasible() -> None:
    data = hand_case(3, [{"id": "g", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 10,
                          "min_take": 0.5, "optional": False}], grid={"import_max_mw": 0})
    result, sol = direct.solve(load_case(data), SETTINGS)
    assert (result.status, result.objective_cny, sol) == ("infeasible", None, None)
    assert result.phases["extract"] == 0.0


def test_time_limit_reports_a_schedule_or_none() -> None:
    case = materialize("teda-east", dt.date(2026, 7, 15))
    result, sol = direct.solve(case, Settings(mip_gap=0.0, time_limit_s=1e-3))
    assert result.status in ("feasible", "time_limit_no_solution", "optimal")
    assert (result.objective_cny is None) == (result.status == "time_limit_no_solution") == (sol is None)


def test_thread_counts_can_change_between_runs() -> None:
    case = load_case(RICH)
    objectives = {direct.run(case, Settings(mip_gap=1e-9, threads=k)).objective_cny for k in (2, 1)}
    assert len(objectives) == 1 or np.ptp(list(objectives)) <= 1e-6 * max(map(abs, objectives))


# ---------------------------------------------------------------------------
# (c) random small cases
# ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_cases_same_optimum(data: dict[str, Any]) -> None:
    check_same_optimum(load_case(data))


# ---------------------------------------------------------------------------
# (d) generated cases (benchmarks/generator.py)
# ---------------------------------------------------------------------------

SCALES = [
    dict(seed=2, substations=2, pv=2, loads=2, batteries=2, contracts=1, step_minutes=60, days=2),
    dict(seed=3, substations=0, pv=1, loads=1, batteries=1, binaries=False, events=False, step_minutes=60),
    dict(seed=4, substations=3, pv=3, loads=2, batteries=2, step_minutes=60, export=True),
    dict(seed=4, substations=3, pv=3, loads=2, batteries=2, step_minutes=60, green_share=True, flexible=0),
    dict(seed=4, substations=3, pv=3, loads=2, batteries=2, step_minutes=60, green_share=True),
]


@pytest.mark.parametrize("scale", SCALES, ids=lambda s: "-".join(f"{k}{v}" for k, v in s.items()))
def test_generated_cases_same_optimum(scale: dict[str, Any]) -> None:
    """Generated cases: the same optimum, or both infeasible (a generated case need not be feasible)."""
    from benchmarks import generator

    case = generator.generate(generator.Scale(**scale))
    try:
        solve_case(case, OPTS, engine="pyomo")
    except InfeasibleError:
        assert direct.run(case, SETTINGS).status == "infeasible"
        return
    check_same_optimum(case)


def test_sizes_helper_counts_binaries_of_each_feature() -> None:
    """spec_sizes itself, on RICH: y (4), battery (4), curtailable z (4), shiftable (3), contract, event."""
    assert spec_sizes(load_case(RICH))[1] == 4 + 4 + 4 + 3 + 1 + 1

