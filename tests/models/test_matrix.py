"""The matrix engine (models/matrix.py, models/standard_form.py) against hand values and against the Pyomo model."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from benchmarks.generator import Scale, generate
from models import (
    Formulation,
    SolveOptions,
    build,
    build_matrix,
    extract,
    optimize,
    solve,
    solve_matrix,
)
from models.solve import compile_pyomo, run_highs
from models.standard_form import StandardForm
from vpp.case import load_case
from vpp.cases import materialize

EXACT = SolveOptions(mip_gap=1e-9)
START = "2026-07-15T00:00:00+08:00"


def _tiny_case() -> dict:
    return {"start": START, "step_minutes": 60, "steps": 2,
            "grid": {"import_max_mw": 10, "buy_cny_per_mwh": [100, 300]},
            "assets": [{"id": "l", "type": "load", "demand_mw": 1}]}


# --- the standard form builder, by hand ---------------------------------------------------


def test_standard_form_by_hand_solves_to_the_hand_optimum_and_splits_the_cost() -> None:
    # min 2·x0 + 3·x1 + 5 s.t. x0 + x1 ≥ 4, 0 ≤ x0 ≤ 3, x1 ≥ 0: x0 = 3, x1 = 1, 2·3 + 3·1 + 5 = 14 CNY.
    sf = StandardForm()
    x = sf.cols(2, 0.0, np.array([3.0, np.inf]))
    sf.cost(x, 1, 2.0, "a", "energy")
    sf.cost(x + 1, 1, 3.0, "b", "energy")
    sf.constant(5.0, "a", "fee")
    r = sf.rows(1, lower=4.0)
    sf.coef(r, x + np.arange(2), 1.0)
    arrays = sf.finish()
    report, sol = run_highs(arrays, EXACT, load_case(_tiny_case()))
    assert report.objective_cny == pytest.approx(14.0)
    assert sol.tolist() == pytest.approx([3.0, 1.0])
    assert arrays.term_costs(sol) == [("a", "energy", pytest.approx(6.0)), ("b", "energy", pytest.approx(3.0)),
                                      ("a", "fee", 5.0)]
    assert arrays.sizes == {"variables": 2, "constraints": 1, "binaries": 0, "nonzeros": 2}


def test_standard_form_adds_repeated_coefficients_and_drops_zeros() -> None:
    sf = StandardForm()
    x = sf.cols(3)
    r = sf.rows(2, upper=np.array([1.0, 2.0]))
    sf.coef(r, x, 1.0)  # A[0,0] = 1 …
    sf.coef(r, x, 0.5)  # … + 0.5 = 1.5
    sf.coef(r + 1, x + np.arange(3), np.array([0.0, 2.0, 0.0]))  # only A[1,1] = 2 is kept
    a = sf.finish()
    assert a.A.toarray().tolist() == [[1.5, 0.0, 0.0], [0.0, 2.0, 0.0]]
    assert a.A.nnz == 2
    assert a.row_lower.tolist() == [-np.inf, -np.inf]
    assert a.row_upper.tolist() == [1.0, 2.0]


def test_standard_form_equal_needs_the_first_row_of_a_block() -> None:
    sf = StandardForm()
    sf.rows(3)
    with pytest.raises(KeyError, match="no row block starts at row 1"):
        sf.equal(1, 0.0)


def test_reading_an_unsolved_matrix_model_is_refused() -> None:
    model = build_matrix(load_case(_tiny_case()))
    with pytest.raises(ValueError, match="the model has not been solved"):
        model.reader("system")
    with pytest.raises(ValueError, match="the model has not been solved"):
        extract(model)


# --- the same model as the Pyomo one --------------------------------------------------------


def test_tiny_case_by_hand() -> None:
    # 1 MW for 1 h at 100, then at 300: 400 CNY, all energy.
    built, report = optimize(load_case(_tiny_case()), EXACT)
    sol = extract(built)
    assert report.objective_cny == pytest.approx(400.0)
    assert sol.cost_cny == {"energy": pytest.approx(400.0), "export": 0.0, "carbon": 0.0, "unserved": 0.0}
    assert sol.import_mw.tolist() == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize(
    "scale",
    [Scale(), Scale(substations=2, days=2, step_minutes=60), Scale(export=True, events=True, green_share=True, seed=3)],
    ids=["default", "2-days-hourly", "export-events-share"],
)
def test_spec_formulations_have_the_same_columns_and_optimum_as_the_pyomo_model(scale: Scale) -> None:
    # The two terminal rows per storage (soc[N−1] ≥ …, h[N−1] ≥ h[−1]) are column bounds in the matrix engine.
    case = generate(scale)
    pyomo_model = build(case, Formulation())
    arrays, _ = compile_pyomo(pyomo_model.model)
    matrix_model = build_matrix(case, Formulation())
    storages = sum(a.type in ("battery", "thermal_storage") for a in case.assets)
    assert matrix_model.arrays.sizes["variables"] == arrays.sizes["variables"]
    assert matrix_model.arrays.sizes["binaries"] == arrays.sizes["binaries"]
    assert matrix_model.arrays.sizes["constraints"] == arrays.sizes["constraints"] - storages
    m_report = solve_matrix(matrix_model, EXACT)
    p_report = solve(pyomo_model, EXACT)
    assert m_report.objective_cny == pytest.approx(p_report.objective_cny, rel=1e-7)


def test_teda_east_both_engines_give_the_same_optimum_and_cost_terms() -> None:
    case = materialize("teda-east", dt.date(2026, 7, 15))
    (mb, mr), (pb, pr) = optimize(case, EXACT), optimize(case, EXACT, engine="pyomo")
    ms, ps = extract(mb), extract(pb)
    assert mr.objective_cny == pytest.approx(pr.objective_cny, rel=1e-9)
    assert mr.objective_cny == pytest.approx(5_869_567.28, abs=0.01)
    for sol, report in ((ms, mr), (ps, pr)):  # each engine's terms add up to its objective
        assert sum(sol.cost_cny.values()) == pytest.approx(report.objective_cny, rel=1e-9)
    assert set(ms.cost_cny) == set(ps.cost_cny)
    assert {(e, t) for e, t, _ in ms.cost_by_element} == {(e, t) for e, t, _ in ps.cost_by_element}
    assert set(ms.assets) == set(ps.assets)
    for aid in ms.assets:
        assert set(ms.assets[aid]) == set(ps.assets[aid]), aid
    assert ms.contracts_taken == ps.contracts_taken
    assert {k: v.joined for k, v in ms.events.items()} == {k: v.joined for k, v in ps.events.items()}


def test_matrix_emissions_and_green_energy_are_read_from_the_contracts() -> None:
    # 1 MW for 1 h; a green contract of 0.4 MW at 50 CNY/MWh; grid 100 CNY/MWh at 0.5 t/MWh, carbon 10 CNY/t.
    # Green replaces 0.4 MWh of grid: 0.6·100 + 0.4·50 + 0.6·0.5·10 = 60 + 20 + 3 = 83 CNY.
    data = {"start": START, "step_minutes": 60, "steps": 1, "carbon_price_cny_per_t": 10,
            "grid": {"import_max_mw": 10, "buy_cny_per_mwh": 100, "emission_t_per_mwh": 0.5},
            "assets": [{"id": "l", "type": "load", "demand_mw": 1},
                       {"id": "g", "type": "green_contract", "available_mw": 0.4, "price_cny_per_mwh": 50}]}
    built, report = optimize(load_case(data), EXACT)
    sol = extract(built)
    assert report.objective_cny == pytest.approx(83.0)
    assert sol.green_mw.tolist() == pytest.approx([0.4])
    assert sol.emissions_t.tolist() == pytest.approx([0.3])
    assert sol.cost_cny["energy"] == pytest.approx(60.0)
    assert sol.cost_cny["green_energy"] == pytest.approx(20.0)
    assert sol.cost_cny["carbon"] == pytest.approx(3.0)
    assert ("g", "green_energy", pytest.approx(20.0)) in sol.cost_by_element
