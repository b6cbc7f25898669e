"""Solver behaviour: status and gap fields, options, time limits, infeasibility, and a cross-check
of the product's HiGHS hand-over against Pyomo's own HiGHS interface."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest

import models
from models import SolveOptions
from tests.models.test_residuals import RICH, _variant_star_half_hours
from tests.residuals import check_residuals
from vpp.case import load_case
from vpp.dispatch import solve_case
from vpp.errors import InfeasibleError, SolverError
from vpp.results import write_outputs

START = "2026-07-15T00:00:00+08:00"


def small(steps: int, assets: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    grid = {"import_max_mw": 10, "buy_cny_per_mwh": 100}
    grid.update(kw.pop("grid", {}))
    return {"name": "s", "start": START, "step_minutes": 60, "steps": steps, "grid": grid, "assets": assets, **kw}


# ---------------------------------------------------------------------------
# Status, gap and the solver facts
# ---------------------------------------------------------------------------


def test_optimal_mip_reports_status_gap_and_bound() -> None:
    r = solve_case(load_case(RICH), SolveOptions(mip_gap=1e-9))
    rep, s = r.report, r.summary
    assert rep.status == "optimal" and s["status"] == "optimal"
    assert 0 <= rep.mip_gap <= 1e-6 and s["mip_gap"] == rep.mip_gap
    assert rep.best_bound_cny is not None
    assert rep.best_bound_cny <= rep.objective_cny + 1e-6 * abs(rep.objective_cny)
    assert rep.best_bound_cny == pytest.approx(rep.objective_cny, rel=1e-6)
    assert s["objective_cny"] == rep.objective_cny == r.objective_cny
    assert rep.binaries > 0 and rep.variables > rep.binaries and rep.constraints > 0 and rep.nonzeros > 0
    assert rep.solve_seconds >= 0 and rep.handover_seconds >= 0 and r.build_seconds >= 0
    assert rep.model_status == "Optimal"
    assert s["solver"]["name"].startswith("HiGHS")
    assert s["solver"]["binaries"] == rep.binaries


def test_pure_lp_has_no_binaries_and_zero_gap() -> None:
    # A load and PV only, no export: an LP.  Cost: (2 − 1.5)·100 + 2·100 = 250.
    r = solve_case(load_case(small(2, [{"id": "l", "type": "load", "demand_mw": 2},
                                        {"id": "pv", "type": "pv", "available_mw": [1.5, 0]}])))
    assert r.status == "optimal"
    assert r.objective_cny == pytest.approx(250, rel=1e-9)
    assert r.report.binaries == 0 and r.report.nodes == 0
    assert r.report.mip_gap == 0.0
    assert r.report.best_bound_cny == pytest.approx(r.objective_cny, rel=1e-12)


def test_default_options() -> None:
    o = SolveOptions()
    assert (o.mip_gap, o.time_limit_s, o.threads, o.log) == (1e-4, 60.0, None, False)


@pytest.mark.parametrize(("kw", "message"), [
    ({"mip_gap": -0.1}, r"mip_gap: expected a number in \[0, 1\), got -0.1"),
    ({"mip_gap": 1.0}, r"mip_gap: expected a number in \[0, 1\), got 1.0"),
    ({"mip_gap": math.nan}, r"mip_gap: expected a number in \[0, 1\), got nan"),
    ({"mip_gap": math.inf}, r"mip_gap: expected a number in \[0, 1\)"),
    ({"time_limit_s": 0}, r"time_limit_s: expected a positive number of seconds, got 0"),
    ({"time_limit_s": -5}, r"time_limit_s: expected a positive number of seconds, got -5"),
    ({"time_limit_s": math.inf}, r"time_limit_s: expected a positive number of seconds, got inf"),
    ({"time_limit_s": math.nan}, r"time_limit_s: expected a positive number of seconds, got nan"),
    ({"threads": 0}, r"threads: expected a positive integer, got 0"),
    ({"lp_solver": "barrier"}, r"lp_solver: expected one of choose, simplex, ipm, got 'barrier'"),
])
def test_solve_options_reject_bad_values(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SolveOptions(**kw)


def test_solves_with_different_thread_counts_in_one_process() -> None:
    case = load_case(RICH)
    objectives = [solve_case(case, SolveOptions(mip_gap=1e-9, threads=k)).objective_cny for k in (1, 2, None, 1)]
    assert objectives == pytest.approx([objectives[0]] * 4, rel=1e-9)


def test_solve_options_accept_edge_values() -> None:
    SolveOptions(mip_gap=0.0, time_limit_s=1e-3, threads=1)


# ---------------------------------------------------------------------------
# Time limits
# ---------------------------------------------------------------------------


def big_case(shiftables: int = 20, batteries: int = 10) -> Any:
    """96 quarter-hours, many shiftable loads and batteries, export and a demand charge: a MIP HiGHS
    cannot prove optimal to a 1e-9 gap in a few seconds, but where it finds schedules quickly."""
    n = 96
    t = np.arange(n)
    buy = np.round(300 + 200 * np.sin(t / n * 6 * math.pi) + 25 * np.cos(t * 1.7), 1).tolist()
    assets: list[dict[str, Any]] = [{"id": "base", "type": "load", "demand_mw": (5 + 3 * np.sin(t / 10)).tolist()}]
    assets += [{"id": f"sh{i}", "type": "shiftable_load", "profile_mw": [1 + 0.1 * i, 2, 1.5, 0.5] * 3}
               for i in range(shiftables)]
    assets += [{"id": f"b{i}", "type": "battery", "power_mw": 1 + i % 3, "energy_mwh": 4,
                "degradation_cny_per_mwh": 20 + i} for i in range(batteries)]
    return load_case({"name": "big", "start": START, "step_minutes": 15, "steps": n,
                      "grid": {"import_max_mw": 40, "export_max_mw": 10, "buy_cny_per_mwh": buy,
                               "sell_cny_per_mwh": 200, "demand_charge_cny_per_mw": 500},
                      "assets": assets})


@pytest.fixture(scope="module")
def big() -> Any:
    return big_case()


def _assert_time_limit_outcome(case: Any, limit: float) -> str:
    """The outcome of a time-limited solve is one of the two documented branches; return which."""
    try:
        r = solve_case(case, SolveOptions(mip_gap=1e-9, time_limit_s=limit))
    except SolverError as err:
        assert err.status == "time_limit_no_solution"
        assert f"{limit:g} s limit" in str(err)
        assert "without any feasible schedule" in str(err)
        return "no_solution"
    if r.status == "optimal":  # a very fast machine: allowed, but not what we are after
        return "optimal"
    assert r.status == "feasible"
    assert r.summary["status"] == "feasible"
    gap = r.report.mip_gap
    assert math.isfinite(gap) and gap >= 0
    assert r.report.best_bound_cny is None or r.report.best_bound_cny <= r.objective_cny + 1e-6
    return "feasible"


def test_time_limit_is_honoured_either_way(big: Any) -> None:
    assert _assert_time_limit_outcome(big, 0.01) in ("no_solution", "feasible")


def test_tiny_time_limit_ends_without_a_schedule(big: Any) -> None:
    # 1 µs: HiGHS stops before presolve finishes, deterministically.
    with pytest.raises(SolverError, match=r"1e-06 s limit without any feasible schedule") as info:
        solve_case(big, SolveOptions(mip_gap=1e-9, time_limit_s=1e-6))
    assert info.value.status == "time_limit_no_solution"
    assert not isinstance(info.value, InfeasibleError)


def test_time_limit_with_an_incumbent_returns_feasible_with_its_gap(big: Any, tmp_path: Path) -> None:
    # HiGHS finds schedules within a fraction of a second on this case but is far from proving a
    # 1e-9 gap after seconds: try growing limits until a stop with an incumbent happens.
    for limit in (0.5, 1.5, 4.0, 10.0, 20.0):  # the longer limits for a busy machine
        try:
            r = solve_case(big, SolveOptions(mip_gap=1e-9, time_limit_s=limit))
        except SolverError as err:
            assert err.status == "time_limit_no_solution"
            continue
        break
    else:
        pytest.fail("no incumbent within 20 s on the big case")
    assert r.status == "feasible", r.report.model_status
    assert r.report.model_status == "Time limit reached"
    # a real, finite gap: stopped before proving optimality (with optional events, a join the limit
    # left unexplored bounds the optimum by its linear relaxation, which can be far below)
    assert 1e-9 < r.report.mip_gap < math.inf
    assert r.report.best_bound_cny is not None and r.report.best_bound_cny < r.objective_cny
    # the incumbent is a valid schedule, and the files say so
    write_outputs(r, tmp_path, chart=False)
    check_residuals(tmp_path)


# ---------------------------------------------------------------------------
# Infeasibility
# ---------------------------------------------------------------------------


def test_mandatory_green_contract_with_nothing_to_consume_is_infeasible() -> None:
    # min_take 1 of 1 MW, not optional: G = 1 ≤ import, but nothing consumes → import = export. The
    # linear relaxation imports and exports at once; only the binary y forbids it: the set of linear
    # rows in conflict is empty, so the case's hard requirements are named instead.
    data = small(2, [{"id": "gc-must", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 100,
                      "min_take": 1, "optional": False}], grid={"export_max_mw": 5})
    with pytest.raises(InfeasibleError) as info:
        solve_case(load_case(data))
    assert info.value.status == "infeasible"
    assert str(info.value) == (
        "the case is infeasible: unserved energy keeps every energy balance feasible, so hard requirements conflict: "
        "the conflict needs the integer decisions (charge or discharge, import or export, join, start) together "
        "with the case's hard requirements: green contract 'gc-must' (min_take 1, not optional) must take at least "
        "1 MW at step 0 (00:00), and that energy must arrive through the import and be used there")


def test_mandatory_green_contract_above_the_import_limit_names_both() -> None:
    # min_take 1 of 3 MW must arrive through an import limited to 2 MW: the infeasible set is the
    # contract's lower bound, G ≤ imp and the import limit, at the first step.
    data = small(1, [{"id": "gc", "type": "green_contract", "available_mw": 3, "price_cny_per_mwh": 100,
                      "min_take": 1, "optional": False},
                     {"id": "l", "type": "load", "demand_mw": 5}], grid={"import_max_mw": 2})
    with pytest.raises(InfeasibleError) as info:
        solve_case(load_case(data))
    msg = str(info.value)
    assert "green contract 'gc' (min_take 1, not optional) must take at least 3 MW at step 0 (00:00)" in msg
    assert "grid.import_max_mw is 2 MW at step 0 (00:00)" in msg
    assert "green_via_import[0]" in msg  # the row between them, by its spec name


def test_green_share_without_renewables_is_infeasible() -> None:
    data = small(1, [{"id": "l", "type": "load", "demand_mw": 1}], green_share_min=0.5)
    with pytest.raises(InfeasibleError) as info:
        solve_case(load_case(data))
    assert ("green_share_min=0.5 needs at least 0.5 MWh of renewable energy (0.5 of the 1 MWh of fixed "
            "consumption); at most 0 MWh is available from PV and green contracts") in str(info.value)


def test_self_discharging_battery_that_cannot_charge_is_infeasible() -> None:
    # power 0, σ 0.5/h from soc 0.5 = soc_min: the level must fall below soc_min.
    data = small(2, [{"id": "b-leak", "type": "battery", "power_mw": 0, "energy_mwh": 1, "soc_min": 0.5,
                      "soc_initial": 0.5, "soc_final_min": 0, "self_discharge_per_hour": 0.5}])
    with pytest.raises(InfeasibleError) as info:
        solve_case(load_case(data))
    assert ("battery 'b-leak' must hold between soc_min 0.5 and soc_max 0.9 of its energy at step 0 (00:00), "
            "losing 0.5 of its level an hour, charging at most 0 MW") in str(info.value)
    assert "asset[b-leak].soc_balance[0]" in str(info.value)


def test_final_level_a_leaking_battery_cannot_reach_is_named() -> None:
    # σ 0.1/h from 0.5 of 10 MWh, charging at most 0.1 MW at 0.95 for 2 h: the level reaches at most
    # 0.9·(0.9·5 + 0.095) + 0.095 = 4.23 MWh < soc_final_min 0.5·10 = 5 MWh.
    data = small(2, [{"id": "b", "type": "battery", "power_mw": 0.1, "energy_mwh": 10, "soc_min": 0,
                      "self_discharge_per_hour": 0.1}])
    with pytest.raises(InfeasibleError) as info:
        solve_case(load_case(data))
    assert "battery 'b' must end at or above soc_final_min 0.5 of 10 MWh, losing 0.1 of its level an hour, " \
           "charging at most 0.1 MW" in str(info.value)


# ---------------------------------------------------------------------------
# Cross-check against Pyomo's own HiGHS interface
# ---------------------------------------------------------------------------

BATTERY_HAND = small(2, [{"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "charge_efficiency": 0.9,
                          "discharge_efficiency": 0.9, "soc_min": 0, "soc_max": 1, "soc_initial": 0.5},
                         {"id": "l", "type": "load", "demand_mw": 1}], grid={"buy_cny_per_mwh": [100, 300]})


@pytest.mark.parametrize("data", [RICH, _variant_star_half_hours(), BATTERY_HAND],
                         ids=["rich-chain", "rich-star-30min", "battery-hand"])
def test_same_objective_through_pyomos_highs_interface(data: dict[str, Any]) -> None:
    case = load_case(data)
    ours = solve_case(case, SolveOptions(mip_gap=1e-9))
    pm = models.build(case).pyomo().model
    solver = pyo.SolverFactory("highs")
    assert solver.available()
    res = solver.solve(pm, options={"mip_rel_gap": 1e-9, "time_limit": 60})
    assert str(res.solver.termination_condition) == "optimal"
    theirs = pyo.value(pm.obj)
    assert ours.objective_cny == pytest.approx(theirs, rel=1e-6, abs=1e-6)
    if data is BATTERY_HAND:
        assert theirs == pytest.approx(257, rel=1e-9)


def test_an_infeasible_verdict_of_presolve_is_checked_without_it() -> None:
    """HiGHS 1.15's presolve calls this feasible LP infeasible: a deadline 1e-7 MWh below the total energy.

    By hand: no import and no PV before step 5, so the 0.1874999 MWh due by step 4
    is all unserved (at 2000 CNY/MWh), and the last 1e-7 MWh comes from the PV at
    step 5: 0.1874999 × 2000 = 374.9998 CNY.
    """
    zeros = [0.0] * 6
    case = load_case({
        "start": "2026-07-15T00:00:00+08:00", "step_minutes": 15, "steps": 6, "voll_cny_per_mwh": 2000.0,
        "grid": {"import_max_mw": 0.0, "export_max_mw": 0.0, "buy_cny_per_mwh": zeros},
        "assets": [
            {"id": "pv", "type": "pv", "available_mw": [0.0, 0.0, 0.0, 0.0, 0.0, 0.5]},
            {"id": "ev", "type": "flexible_load", "min_power_mw": 0.0, "max_power_mw": 0.5, "energy_mwh": 0.1875,
             "requirements": [{"by_step": 4, "energy_mwh": 0.1874999}, {"by_step": 1, "energy_mwh": 0.0}]},
        ],
    })
    result = solve_case(case, SolveOptions(mip_gap=1e-9))
    assert result.status == "optimal"
    assert result.objective_cny == pytest.approx(374.9998, abs=1e-6)
    [unserved] = result.summary["unserved"]
    assert (unserved["where"], unserved["energy_mwh"]) == ("grid", pytest.approx(0.1874999, abs=1e-9))
