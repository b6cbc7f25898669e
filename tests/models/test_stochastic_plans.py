"""Properties of a stochastic plan over random small cases with scenarios (vpp.uncertainty, vpp.decomposition).

The stochastic plan's expected cost is never above the expected-value plan's on the same scenarios, and
never below wait-and-see; the scenario decomposition brackets the extensive form's optimum.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from models import SolveOptions
from tests.models.test_properties import stochastic_cases
from vpp.case import load_case
from vpp.decomposition import decomposable, solve_decomposed
from vpp.dispatch import solve_case
from vpp.uncertainty import solve_stochastic, value_of_uncertainty

OPTS = SolveOptions(mip_gap=1e-9, time_limit_s=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stochastic_cases())
def test_the_stochastic_plan_lies_between_wait_and_see_and_the_expected_value_plan(data: dict[str, Any]) -> None:
    case = load_case(data)
    result, _ = solve_stochastic(case, OPTS, method="extensive")
    u = value_of_uncertainty(case, result, OPTS)
    scale = 1e-6 * max(1.0, abs(result.objective_cny))
    if u["vss_cny"] is not None:
        assert u["vss_cny"] >= -scale  # RP ≤ EEV: the EV plan is one the stochastic solve could choose
    assert u["evpi_cny"] >= -scale  # WS ≤ E[cost of the stochastic plan]: perfect information never costs more
    if case.risk is None or case.risk.cvar_weight == 0:
        assert u["stochastic_objective_cny"] >= u["wait_and_see_cost_cny"] - scale


def splittable(data: dict[str, Any]) -> dict[str, Any]:
    """The case without what couples its scenarios or makes its first stage continuous (see
    vpp.decomposition.decomposable): no risk term, green share, emissions cap, declared plan or regulation."""
    data = {k: v for k, v in data.items() if k not in ("risk", "green_share_min", "emissions_max_t", "regulation")}
    grid = dict(data["grid"])
    if "schedule_mw" not in grid:
        grid.pop("deviation", None)
    return data | {"grid": grid}


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
