"""Properties of a stochastic plan over random small cases with scenarios (vpp.uncertainty, vpp.decomposition).

The stochastic plan's expected cost is never above the expected-value plan's on the same scenarios, and
never below wait-and-see; the scenario decomposition brackets the extensive form's optimum.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from models import Formulation, SolveOptions, build, solve
from models.scenarios import scenario_cases
from tests.models.test_properties import stochastic_cases
from vpp.case import load_case
from vpp.decomposition import decomposable, solve_decomposed
from vpp.dispatch import solve_case
from vpp.errors import InfeasibleError
from vpp.uncertainty import solve_stochastic, value_of_uncertainty

OPTS = SolveOptions(mip_gap=1e-9, time_limit_s=30)


def _stochastic_or_reject(case: Any, options: SolveOptions) -> Any:
    """The extensive form's plan; a drawn case whose hard requirements conflict is not an example of these
    properties (an emissions cap of 0 with a green share in a scenario short of PV: the product and the
    independent formulation both prove such cases infeasible, tests/models/test_properties.py)."""
    try:
        result, _ = solve_stochastic(case, options, method="extensive")
    except InfeasibleError:
        assume(False)
    return result


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stochastic_cases())
def test_the_stochastic_plan_lies_between_wait_and_see_and_the_expected_value_plan(data: dict[str, Any]) -> None:
    case = load_case(data)
    result = _stochastic_or_reject(case, OPTS)
    u = value_of_uncertainty(case, result, OPTS)
    scale = 1e-6 * max(1.0, abs(result.objective_cny))
    if u["vss_cny"] is not None:
        assert u["vss_cny"] >= -scale  # RP ≤ EEV: the EV plan is one the stochastic solve could choose
    assert u["evpi_cny"] >= -scale  # WS ≤ E[cost of the stochastic plan]: perfect information never costs more
    if case.risk is None or case.risk.cvar_weight == 0:
        assert u["stochastic_objective_cny"] >= u["wait_and_see_cost_cny"] - scale


def true_wait_and_see(case: Any) -> float:
    """Wait-and-see to optimality: each scenario alone, or (where rows hold in expectation) the one model in
    which each scenario takes its own first stage."""
    if case.green_share_min is not None or case.emissions_max_t is not None:
        built = build(case.model_copy(update={"risk": None}), Formulation(perfect_information=True))
        return solve(built, OPTS).objective_cny
    return sum(p * solve_case(c.model_copy(update={"scenarios": None, "risk": None}), OPTS).objective_cny
               for _, p, c in scenario_cases(case))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stochastic_cases(), st.sampled_from([0.05, 0.2]))
def test_at_a_loose_gap_the_values_keep_their_order_and_their_ranges_hold_the_true_ones(
        data: dict[str, Any], gap: float) -> None:
    case = load_case(data)
    loose = SolveOptions(mip_gap=gap, time_limit_s=30)
    result = _stochastic_or_reject(case, loose)
    u = value_of_uncertainty(case, result, loose)
    scale = 1e-6 * max(1.0, abs(result.objective_cny))
    neutral = case.risk is None or case.risk.cvar_weight == 0
    # the values printed: never negative, wait-and-see never above the stochastic plan
    assert u["evpi_cny"] >= 0 and (u["vss_cny"] is None or u["vss_cny"] >= 0)
    assert u["wait_and_see_cost_cny"] <= u["stochastic_expected_cost_cny"] + scale
    # the true values, each solved to optimality, lie in the ranges
    rp, ws = solve_case(case, OPTS).objective_cny, true_wait_and_see(case)
    low, high = u["bounds_cny"]["stochastic_objective"]
    assert low - scale <= rp <= high + scale
    low, high = u["bounds_cny"]["wait_and_see"]
    assert low - scale <= ws <= high + scale
    evpi = (rp if neutral else u["stochastic_expected_cost_cny"]) - ws
    low, high = u["evpi_range_cny"]
    assert 0 <= low and low - scale <= evpi <= high + scale
    if u["vss_cny"] is not None:
        assert u["bounds_cny"]["expected_value_plan_objective"][1] >= rp - scale  # a plan costs at least RP
        low, high = u["vss_range_cny"]
        assert 0 <= low <= u["vss_cny"] + scale and u["vss_cny"] <= high + scale


def splittable(data: dict[str, Any]) -> dict[str, Any]:
    """The case without what couples its scenarios (see vpp.decomposition.decomposable): no risk term,
    green share or emissions cap. A declared plan and regulation offers (continuous first-stage
    decisions, vpp.scenario_addition) stay."""
    return {k: v for k, v in data.items() if k not in ("risk", "green_share_min", "emissions_max_t")}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stochastic_cases())
def test_the_decomposition_brackets_the_extensive_forms_optimum(data: dict[str, Any]) -> None:
    case = load_case(splittable(data))
    assert decomposable(case) is None
    extensive = solve_case(case, OPTS)
    result, info = solve_decomposed(case, OPTS)
    scale = 1e-6 * max(1.0, abs(extensive.objective_cny))
    assert info.lower_bound_cny <= extensive.objective_cny + scale  # a valid lower bound
    assert result.objective_cny >= extensive.objective_cny - scale  # a plan the extensive form could choose
    if info.gap <= OPTS.mip_gap:
        assert result.objective_cny == pytest.approx(extensive.objective_cny, rel=1e-6, abs=1e-6)


# Found by the property above: an emissions cap that holds in expectation (§6) couples the
# scenarios, so solving each scenario on its own under the whole cap is no lower bound (it came
# out 960 CNY above the stochastic plan). Wait-and-see keeps the cap coupled and frees only the
# first stage (Formulation(perfect_information=True)).
COUPLED = json.loads('{"name": "prop", "start": "2026-07-15T00:00:00+08:00", "step_minutes": 120, "steps": 4, "voll_cny_per_mwh": 20000.0, "carbon_price_cny_per_t": 80.0, "network": {"root": "grid", "nodes": []}, "grid": {"import_max_mw": 2.5, "export_max_mw": 4.0, "buy_cny_per_mwh": 508.1, "sell_cny_per_mwh": [208.8, -25.5, 1.0, 89.6], "emission_t_per_mwh": 0.0, "demand_charge_cny_per_mw": 20, "declared_demand_mw": 1.5}, "assets": [{"id": "a0", "type": "battery", "node": "grid", "power_mw": 2.9, "energy_mwh": 0.0, "charge_efficiency": 0.94, "discharge_efficiency": 0.84, "soc_min": 0.15, "soc_max": 0.9, "soc_initial": 0.3, "degradation_cny_per_mwh": 40, "self_discharge_per_hour": 0.1, "max_cycles": 1.0}, {"id": "a1", "type": "thermal_storage", "node": "grid", "max_power_mw": 1.7, "cop": 3.5, "thermal_demand_mw": 1.2, "capacity_mwh_th": 1.1, "level_initial": 0.0, "loss_per_hour": 0.05}, {"id": "a2", "type": "green_contract", "available_mw": [2.7, 1.2, 1.2, 2.9], "price_cny_per_mwh": 10, "fixed_cny": 90, "optional": true, "min_take": 1.0}], "emissions_max_t": 0.5, "scenarios": [{"id": "s0", "probability": 0.09090909090909091, "series": {"a1.thermal_demand_mw": [1.7, 2.3, 1.6, 0.4]}}, {"id": "s1", "probability": 0.45454545454545453, "series": {"grid.buy_cny_per_mwh": 160.8, "grid.emission_t_per_mwh": 1.0, "a1.thermal_demand_mw": 2.4}}, {"id": "s2", "probability": 0.45454545454545453, "series": {"a1.thermal_demand_mw": 1.2, "grid.emission_t_per_mwh": [1.0, 1.0, 0.3, 0.5], "grid.buy_cny_per_mwh": [67.4, -20.0, 447.9, 409.6]}}]}')


def test_wait_and_see_keeps_the_rows_that_hold_in_expectation_coupled() -> None:
    case = load_case(COUPLED)
    result, _ = solve_stochastic(case, OPTS, method="extensive")
    u = value_of_uncertainty(case, result, OPTS)
    assert u["evpi_cny"] >= -1e-6 * abs(result.objective_cny)
    apart = sum(sc.probability * solve_case(c.model_copy(update={"scenarios": None}), OPTS).objective_cny
                for sc, (_, _, c) in zip(case.scenarios, scenario_cases(case), strict=True))
    assert apart > result.objective_cny + 900  # each scenario alone under the whole cap: above the plan, no bound
