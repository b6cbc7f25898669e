"""Exclusivity binaries only where a solution needs them (models/optimize.py): same optimum as the spec, either back end."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pytest

from models import SolveOptions, optimize
from models.build import build
from models.declare import Formulation
from models.optimize import ENGINES as SOLVES
from models.optimize import rounded_start
from models.solve import Status, run_highs
from vpp.case import load_case
from vpp.cases import materialize
from vpp.regulation import without_regulation

EXACT = SolveOptions(mip_gap=1e-9)
START = "2026-07-15T00:00:00+08:00"
ENGINES = ["matrix", "pyomo"]


def full_battery_and_costly_curtailment() -> dict:
    # One hour; 2 MW of PV that costs 100 CNY/MWh to curtail; nowhere to send it (no load,
    # no export); a 1 MW / 10 MWh battery already at soc_max 0.9 that must end there.
    # Spec (charge OR discharge): the battery cannot charge, so all 2 MW are curtailed: 200 CNY.
    # Without the binary it could charge 1 MW and discharge 0.81 MW at once (0.9·1 = d/0.9),
    # absorbing 0.19 MW: 181 CNY. That relaxation is not the spec's model.
    return {
        "start": START, "step_minutes": 60, "steps": 1,
        "grid": {"import_max_mw": 10, "buy_cny_per_mwh": 100},
        "assets": [
            {"id": "pv", "type": "pv", "available_mw": 2, "curtailment_cny_per_mwh": 100},
            {"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 10, "charge_efficiency": 0.9,
             "discharge_efficiency": 0.9, "soc_min": 0, "soc_max": 0.9, "soc_initial": 0.9},
        ],
    }


def sell_above_buy() -> dict:
    # One hour, buy 100, sell 150, import ≤ 5, export ≤ 3, nothing else. Spec: import OR export,
    # and there is nothing to export, so 0 CNY. Without y: import 3 and export 3 at once, −150 CNY.
    return {
        "start": START, "step_minutes": 60, "steps": 1,
        "grid": {"import_max_mw": 5, "export_max_mw": 3, "buy_cny_per_mwh": 100, "sell_cny_per_mwh": 150},
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_battery_binary_is_added_when_the_relaxation_charges_and_discharges_at_once(engine: str) -> None:
    case = load_case(full_battery_and_costly_curtailment())
    built, report = optimize(case, EXACT, "lazy", engine=engine)
    assert report.objective_cny == pytest.approx(200.0, rel=1e-9)
    assert report.rounds == 2
    assert report.binaries == 1
    assert built.formulation.binaries == frozenset({"b"})
    _, spec = optimize(case, EXACT, "spec", engine=engine)
    assert spec.objective_cny == pytest.approx(200.0, rel=1e-9)
    assert spec.rounds == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_grid_binary_is_added_when_the_relaxation_imports_and_exports_at_once(engine: str) -> None:
    case = load_case(sell_above_buy())
    built, report = optimize(case, EXACT, "lazy", engine=engine)
    assert report.objective_cny == pytest.approx(0.0, abs=1e-9)
    assert report.rounds == 2
    assert built.formulation.binaries == frozenset({"grid"})
    assert optimize(case, EXACT, "spec", engine=engine)[1].objective_cny == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_teda_east_needs_no_exclusivity_binary_and_keeps_the_spec_optimum(engine: str) -> None:
    case = materialize("teda-east", dt.date(2026, 7, 15))
    _, lazy = optimize(case, EXACT, "lazy", engine=engine)
    _, spec = optimize(case, EXACT, "spec", engine=engine)
    assert lazy.rounds == 1
    assert lazy.binaries == spec.binaries - 4 * 96  # four batteries' b[t] are gone; the rest stay
    assert lazy.objective_cny == pytest.approx(spec.objective_cny, rel=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_storage_cut_keeps_the_optimum(engine: str) -> None:
    case = materialize("teda-east", dt.date(2026, 1, 14))
    _, plain = optimize(case, EXACT, "spec", engine=engine)
    _, cut = optimize(case, EXACT, "spec", storage_cut=True, engine=engine)
    assert cut.constraints == plain.constraints + 4 * 96
    assert cut.objective_cny == pytest.approx(plain.objective_cny, rel=1e-9)


def test_unknown_exclusivity_is_rejected() -> None:
    with pytest.raises(ValueError, match="exclusivity: expected 'lazy' or 'spec', got 'never'"):
        optimize(load_case(sell_above_buy()), EXACT, "never")  # type: ignore[arg-type]


def test_unknown_engine_is_rejected() -> None:
    with pytest.raises(ValueError, match="engine: expected one of 'matrix', 'pyomo', got 'cplex'"):
        optimize(load_case(sell_above_buy()), EXACT, engine="cplex")  # type: ignore[arg-type]


def test_an_optional_event_decided_by_enumeration_keeps_the_optimum_of_either_join() -> None:
    # The cold-snap demand-response day: the optimum is the better of the day solved with the event
    # joined and with it declined, each join held (an independent route to the same optimum).
    case = without_regulation(materialize("teda-east", dt.date(2026, 1, 15)))
    (event,) = case.demand_response
    assert event.optional
    tight = SolveOptions(mip_gap=1e-6)
    _, report = optimize(case, tight)
    name = f"dr[{event.id}].w"
    held = [optimize(case, tight, fixed={name: np.array([w])})[1].objective_cny for w in (1.0, 0.0)]
    assert report.objective_cny == pytest.approx(min(held), rel=2e-6)
    assert str(report.status) == "optimal"
    assert report.best_bound_cny is not None and report.best_bound_cny <= report.objective_cny + 1e-6
    assert report.best_bound_cny >= report.objective_cny * (1 - tight.mip_gap) - 1e-6


@pytest.mark.parametrize("exclusivity", ["lazy", "spec"])
def test_a_search_stopped_before_its_root_bound_is_bounded_by_the_relaxation(
        exclusivity: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # On a busy machine HiGHS can stop at its time limit with a schedule but before its root relaxation
    # gave a bound. Simulated: the MIP round reports the spec optimum, 200 CNY, as feasible and unbounded.
    # The bound is the relaxation with the binary u continuous: charge c <= u, discharge 0.81·c <= 1 - u
    # (the level held at soc_max), so c = 1/1.81 at u = 1/1.81 absorbs 0.19/1.81 MW of the PV:
    # 200 - 100 · 0.19 / 1.81 = 189.50 CNY, and the gap is (200 - 189.50) / 200, finite.
    real = SOLVES["matrix"]

    def stopped_early(built, options=None):
        report = real(built, options)
        if built.arrays.integer.any():
            return replace(report, status=Status.FEASIBLE, best_bound_cny=None, mip_gap=math.inf)
        return report

    monkeypatch.setitem(SOLVES, "matrix", stopped_early)
    _, report = optimize(load_case(full_battery_and_costly_curtailment()), EXACT, exclusivity)
    assert str(report.status) == "feasible"
    assert report.objective_cny == pytest.approx(200.0, rel=1e-9)
    bound = 200.0 - 100.0 * 0.19 / 1.81
    assert report.best_bound_cny == pytest.approx(bound, rel=1e-9)
    assert report.mip_gap == pytest.approx((200.0 - bound) / 200.0, rel=1e-9)


def test_the_rounded_relaxation_is_a_feasible_start() -> None:
    # Its integer values, held, leave a feasible linear program (solved here on its own).
    case = materialize("teda-east", dt.date(2026, 7, 16))
    built = build(case, Formulation(binaries=frozenset()))
    start, seconds = rounded_start(built, EXACT)
    assert start is not None and seconds > 0
    a = built.arrays
    assert np.all(np.isnan(start[~a.integer]))
    held = start[a.integer]
    assert np.array_equal(held, np.round(held))
    lower, upper = a.col_lower.copy(), a.col_upper.copy()
    lower[a.integer] = upper[a.integer] = held
    report, _ = run_highs(replace(a, col_lower=lower, col_upper=upper, integer=np.zeros_like(a.integer)), EXACT)
    assert str(report.status) == "optimal"
