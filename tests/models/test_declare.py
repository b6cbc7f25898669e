"""The layer every part of the model is stated in (models/declare): its algebra, its program, its two back ends.

The vocabulary of the spec (prev, last, sums, rolling windows, prefix sums, the
shift of a profile, row maps) is checked number by number on small vectors
whose values are computed by hand; the program's scopes (scenarios, first-stage
families, expected rows, weights) and capacity columns on hand-built programs;
and the two back ends against each other at the matrix level: the Pyomo model
generated from a program, compiled back by Pyomo's own compiler, has the same
columns, rows and coefficients (up to the order and the scaling of a row).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from benchmarks.generator import Scale, generate
from models import Formulation, SolveOptions, build, extract, optimize, solve
from models.declare import Element, Horizon, Lin, Program, Scope
from models.solve import compile_pyomo, run_highs
from models.standard_form import StandardForm
from tests.models.test_assets_hand import case as hand_case
from vpp.case import load_case
from vpp.cases import materialize

EXACT = SolveOptions(mip_gap=1e-9)
START = "2026-07-15T00:00:00+08:00"


def _tiny_case() -> dict:
    return {"start": START, "step_minutes": 60, "steps": 2,
            "grid": {"import_max_mw": 10, "buy_cny_per_mwh": [100, 300]},
            "assets": [{"id": "l", "type": "load", "demand_mw": 1}]}


# --- the algebra, number by number ------------------------------------------------------------

X = np.array([1.0, 2.0, 3.0, 4.0])  # the solution of four columns x0 … x3


def test_a_family_is_its_columns_and_arithmetic_is_elementwise() -> None:
    x = Lin.columns(0, 4)
    assert x.value(X).tolist() == [1, 2, 3, 4]
    assert (2 * x + 1).value(X).tolist() == [3, 5, 7, 9]
    assert (x * np.array([1, 0, -1, 2]) - x).value(X).tolist() == [0, -2, -6, 4]
    assert (np.array([10, 10, 10, 10]) - x).value(X).tolist() == [9, 8, 7, 6]
    assert (x / 2).value(X).tolist() == [0.5, 1, 1.5, 2]


def test_prev_last_sum_and_shift() -> None:
    x = Lin.columns(0, 4)
    assert x.prev(7.0).value(X).tolist() == [7, 1, 2, 3]  # x[t−1], 7 before the first step
    e = Lin.columns(3, 1)  # a capacity column (x3 = 4) as the initial value
    assert x.prev(0.5 * e).value(X).tolist() == [2, 1, 2, 3]
    assert x.last().value(X).tolist() == [4]
    assert x.sum().value(X).tolist() == [10]
    assert x.shift(2).value(X).tolist() == [0, 0, 1, 2]
    assert (x + 1).prev(0.0).value(X).tolist() == [0, 2, 3, 4]  # constants move with the rows


def test_rolling_windows_and_prefix_sums() -> None:
    x = Lin.columns(0, 4)
    # Σ_{τ=max(0,t−1)}^{t} x[τ]: 1, 1+2, 2+3, 3+4
    assert x.rolling(2).value(X).tolist() == [1, 3, 5, 7]
    assert x.rolling(9).value(X).tolist() == [1, 3, 6, 10]
    # Σ_{t<k}: k = 1 → 1, k = 3 → 6, k = 4 → 10
    assert x.prefix([1, 3, 4]).value(X).tolist() == [1, 6, 10]


def test_take_remap_and_broadcast() -> None:
    x = Lin.columns(0, 4)
    assert x.take([3, 0, 0]).value(X).tolist() == [4, 1, 1]
    # element i → position to[i] of a longer vector; two elements may add into one
    assert x.remap([0, 2, 2, 4], 5).value(X).tolist() == [1, 0, 5, 0, 4]
    one = Lin.columns(1, 1)  # x1 = 2
    assert (x - one).value(X).tolist() == [-1, 0, 1, 2]


def test_spread_is_the_shift_of_a_profile() -> None:
    # starts at steps 0, 1, 2 (binaries x0, x1, x2 = 0, 1, 0); profile [5, 6] drawn from the start:
    # Σ_j x[j]·profile[t − at[j]] = step 1: 5, step 2: 6.
    starts = Lin.columns(0, 3)
    xs = np.array([0.0, 1.0, 0.0])
    assert starts.spread([5.0, 6.0], [0, 1, 2], 4).value(xs).tolist() == [0, 5, 6, 0]
    # a start near the end draws only what fits in the horizon
    xs = np.array([0.0, 0.0, 1.0])
    assert starts.spread([5.0, 6.0], [0, 1, 3], 4).value(xs).tolist() == [0, 0, 0, 5]


def test_comparisons_are_rows_with_their_constants_moved_to_the_bounds() -> None:
    x = Lin.columns(0, 2)
    con = x + 3 <= np.array([5.0, 4.0])
    lo, hi = con.bounds()
    assert lo.tolist() == [-np.inf, -np.inf] and hi.tolist() == [2.0, 1.0]
    con = 2 >= x  # reflected: x ≤ 2
    assert con.bounds()[1].tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match="no truth value"):
        bool(x == 1)
    with pytest.raises(TypeError, match="not linear"):
        _ = x * x
    with pytest.raises(ValueError, match="cannot combine expressions of length 2 and 3"):
        _ = x + Lin.columns(2, 3)


# --- the standard form, by hand -------------------------------------------------------------


def test_standard_form_by_hand_solves_to_the_hand_optimum_and_splits_the_cost() -> None:
    # min 2·x0 + 3·x1 + 5 s.t. x0 + x1 ≥ 4, 0 ≤ x0 ≤ 3, x1 ≥ 0: x0 = 3, x1 = 1, 2·3 + 3·1 + 5 = 14 CNY.
    sf = StandardForm()
    x = sf.cols(2, 0.0, np.array([3.0, np.inf]))
    sf.cost(np.array([x]), np.array([2.0]), "a", "energy")
    sf.cost(np.array([x + 1]), np.array([3.0]), "b", "energy")
    sf.cost(np.zeros(0, dtype=int), np.zeros(0), "a", "fee", constant=5.0)
    r = sf.rows(1, lower=4.0)
    sf.coef(r, x + np.arange(2), 1.0)
    arrays = sf.finish()
    report, sol = run_highs(arrays, EXACT)
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


def test_standard_form_row_block_needs_the_first_row_of_a_block() -> None:
    sf = StandardForm()
    sf.rows(3)
    with pytest.raises(KeyError, match="no row block starts at row 1"):
        sf.row_block(1)


# --- programs: scopes, first-stage families, expected rows, capacities -----------------------


def _horizon(steps: int = 2) -> Horizon:
    data = _tiny_case() | {"steps": steps, "grid": {"import_max_mw": 10, "buy_cny_per_mwh": 100}}
    case = load_case(data)
    return Horizon(case, case)


def test_a_first_stage_family_is_shared_by_the_scenarios_and_its_rows_are_stated_once() -> None:
    # Two scenarios (probabilities 0.25, 0.75) each declare x (first stage, one per step) and y;
    # x's own row x[0] + x[1] ≤ 1 has only first-stage columns: stated once.
    h = _horizon()
    p = Program()
    blocks = []
    for k, (name, prob) in enumerate((("s1", 0.25), ("s2", 0.75))):
        state = p.scope(Scope(prefix=(("scenario", name),), name=name, weight=prob, first=k == 0, scenarios=2))
        m = p.block(state, (("asset", "a"),), Element("a", "t", "grid"), h)
        x = m.var("x", 0, 1, first_stage=True)
        y = m.var("y", 0, 5)
        m.add("x_total", x.sum() <= 1)
        m.add("y_above_x", y >= x)
        m.cost("y", 10 * y)
        m.cost("fee", 3 * x, first_stage=True)
        blocks.append((x, y))
    arrays = p.finish()
    assert blocks[0][0].cols.tolist() == blocks[1][0].cols.tolist()  # one x for both scenarios
    assert blocks[0][1].cols.tolist() != blocks[1][1].cols.tolist()  # a y each
    assert arrays.A.shape == (1 + 2 + 2, 2 + 2 + 2)  # x_total once, y_above_x per scenario
    names = [p.row_name(i)[2] for i in range(arrays.A.shape[0])]
    assert names == ["asset[a].x_total", "scenario[s1].asset[a].y_above_x[0]", "scenario[s1].asset[a].y_above_x[1]",
                     "scenario[s2].asset[a].y_above_x[0]", "scenario[s2].asset[a].y_above_x[1]"]
    # costs: y weighted by each scenario's probability, the first-stage fee once
    y1, y2 = blocks[0][1].cols, blocks[1][1].cols
    assert arrays.cost[y1].tolist() == [2.5, 2.5] and arrays.cost[y2].tolist() == [7.5, 7.5]
    assert arrays.cost[blocks[0][0].cols].tolist() == [3.0, 3.0]


def test_expected_rows_add_up_over_the_scenarios_weighted_by_probability() -> None:
    # Σ_s π_s·Σ_t y_s[t] ≤ 4 with π = 0.25, 0.75: one row, coefficients 0.25 and 0.75, bound 4.
    h = _horizon()
    p = Program()
    ys = []
    for k, (name, prob) in enumerate((("s1", 0.25), ("s2", 0.75))):
        state = p.scope(Scope(prefix=(("scenario", name),), name=name, weight=prob, first=k == 0, scenarios=2))
        m = p.block(state, (), Element("case", "case", "grid"), h)
        y = m.var("y", 0, 5)
        m.add("cap", y.sum() <= 4, expected=True)
        ys.append(y)
    a = p.finish()
    assert a.A.shape[0] == 1
    assert a.A.toarray()[0].tolist() == [0.25, 0.25, 0.75, 0.75]
    assert a.row_upper.tolist() == [4.0]
    assert p.row_name(0)[2] == "cap"


def test_a_capacity_column_replaces_a_number_and_its_bounds_become_rows() -> None:
    # soc between 0.1·E and 0.9·E with E a column in [0, 10]: two row families, soc_lower and soc_upper.
    h = _horizon()
    p = Program()
    E = p.capacity_column("b", "energy_mwh", 10.0)
    state = p.scope(Scope())
    m = p.block(state, (("asset", "b"),), Element("b", "battery", "grid"), h)
    assert m.capacity("energy_mwh", 4.0) is E
    assert m.capacity("power_mw", 2.0) == 2.0
    assert m.upper(E) == 10.0
    soc = m.var("soc", 0.1 * E, 0.9 * E)
    a = p.finish()
    assert a.col_lower[soc.cols].tolist() == [-np.inf, -np.inf] and a.col_upper[soc.cols].tolist() == [np.inf] * 2
    assert [p.row_name(i)[2] for i in range(4)] == ["asset[b].soc_lower[0]", "asset[b].soc_lower[1]",
                                                    "asset[b].soc_upper[0]", "asset[b].soc_upper[1]"]
    assert a.A.toarray()[0].tolist() == [-0.1, 1.0, 0.0]  # soc[0] − 0.1·E ≥ 0


# --- the two back ends, compared at the matrix level --------------------------------------------


def _canonical(arrays: Any, column_of: list[int] | None = None) -> list[tuple[Any, ...]]:
    """Every row as (columns, coefficients, lower, upper), scaled so its first coefficient is 1, sorted."""
    A = arrays.A.tocsr()
    out = []
    for i in range(A.shape[0]):
        a, b = A.indptr[i], A.indptr[i + 1]
        if a == b:
            continue
        cols = A.indices[a:b] if column_of is None else np.array([column_of[j] for j in A.indices[a:b]])
        order = np.argsort(cols)
        cols, vals = cols[order], A.data[a:b][order]
        s = vals[0]
        lo, hi = arrays.row_lower[i] / s, arrays.row_upper[i] / s
        if s < 0:
            lo, hi = hi, lo
        key = (tuple(cols.tolist()), tuple(np.round(vals / s, 9).tolist()), round(float(lo), 9), round(float(hi), 9))
        out.append(key)
    return sorted(out)


def assert_same_matrix(built: Any) -> None:
    pm = built.pyomo()
    arrays, cols = compile_pyomo(pm.model)
    ours = built.arrays
    column_of = [pm.column[id(v)] for v in cols]
    # the same columns: bounds, integrality and cost of each (Pyomo leaves out columns in no row or cost)
    for k, j in enumerate(column_of):
        assert arrays.col_lower[k] == ours.col_lower[j] and arrays.col_upper[k] == ours.col_upper[j], built.program.col_family(j)[2]
        assert arrays.integer[k] == ours.integer[j]
        assert arrays.cost[k] == pytest.approx(ours.cost[j], rel=1e-12, abs=1e-12)
    unused = set(range(ours.A.shape[1])) - set(column_of)
    assert all(ours.A[:, [j]].nnz == 0 and ours.cost[j] == 0 for j in unused)
    assert arrays.offset == pytest.approx(ours.offset, rel=1e-12, abs=1e-9)
    assert _canonical(arrays, column_of) == _canonical(ours)


HAND_CASES = {
    "battery": hand_case(3, [{"id": "b", "type": "battery", "power_mw": 1, "energy_mwh": 2, "max_cycles": 1,
                              "self_discharge_per_hour": 0.01, "degradation_cny_per_mwh": 5},
                             {"id": "l", "type": "load", "demand_mw": 1}], buy=[100, 300, 200]),
    "curtailable": hand_case(4, [{"id": "c", "type": "curtailable_load", "demand_mw": 3, "max_reduction_mw": [1, 2, 2, 1],
                                  "cost_cny_per_mwh": 50, "min_duration_steps": 2, "max_events": 1,
                                  "min_reduction_mw": 0.5, "start_cny": 30}], buy=[100, 400, 400, 100]),
    "shiftable-flexible": hand_case(4, [{"id": "s", "type": "shiftable_load", "profile_mw": [1, 2], "earliest_start": 1},
                                        {"id": "ev", "type": "flexible_load", "max_power_mw": 2, "energy_mwh": 3,
                                         "requirements": [{"by_step": 2, "energy_mwh": 1}]}], buy=[100, 50, 300, 80]),
    "green-thermal-pv": hand_case(2, [{"id": "g", "type": "green_contract", "available_mw": 1, "price_cny_per_mwh": 40,
                                       "min_take": 0.5, "fixed_cny": 10},
                                      {"id": "ice", "type": "thermal_storage", "max_power_mw": 1, "cop": 3,
                                       "thermal_demand_mw": [0.5, 2], "capacity_mwh_th": 4, "loss_per_hour": 0.05},
                                      {"id": "pv", "type": "pv", "available_mw": [2, 0], "curtailment_cny_per_mwh": 3}],
                                  buy=[100, 300], grid={"export_max_mw": 1, "sell_cny_per_mwh": 20,
                                                        "demand_charge_cny_per_mw": 7},
                                  green_share_min=0.2),
    "events-network": hand_case(2, [{"id": "l", "type": "load", "node": "n2", "demand_mw": 2},
                                    {"id": "b", "type": "battery", "node": "n2", "power_mw": 1, "energy_mwh": 2}],
                                buy=[100, 300],
                                network={"nodes": [{"id": "n1", "capacity_mw": 5},
                                                   {"id": "n2", "parent": "n1", "capacity_mw": 3, "export_capacity_mw": 1}]},
                                demand_response=[{"id": "dr", "start_step": 1, "end_step": 2, "baseline_mw": 2,
                                                  "reduction_mw": 1, "price_cny_per_mwh": 500,
                                                  "shortfall_penalty_cny_per_mwh": 1000}]),
}


@pytest.mark.parametrize("name", list(HAND_CASES))
def test_pyomo_back_end_has_the_program_matrix_on_hand_cases(name: str) -> None:
    built = build(load_case(HAND_CASES[name]), Formulation())
    assert_same_matrix(built)


@pytest.mark.parametrize(
    "scale",
    [Scale(), Scale(substations=2, days=2, step_minutes=60), Scale(export=True, events=True, green_share=True, seed=3)],
    ids=["default", "2-days-hourly", "export-events-share"],
)
def test_pyomo_back_end_has_the_program_matrix_and_optimum_on_generated_cases(scale: Scale) -> None:
    case = generate(scale)
    built = build(case, Formulation())
    assert_same_matrix(built)
    _, matrix = optimize(case, EXACT, "spec")
    _, pyomo = optimize(case, EXACT, "spec", engine="pyomo")
    assert matrix.objective_cny == pytest.approx(pyomo.objective_cny, rel=1e-7)


def test_pyomo_components_are_named_like_the_spec() -> None:
    case = materialize("teda-east", dt.date(2026, 7, 15))
    pm = build(case).pyomo().model
    bess = next(a.id for a in case.assets if a.type == "battery")
    node = case.network.nodes[-1].id
    assert pm.find_component(f"asset[{bess}].soc_balance[37]") is not None
    assert pm.find_component(f"node_balance[{node},37]") is not None
    assert pm.find_component("imp[0]") is not None


def test_teda_east_both_back_ends_give_the_same_optimum_and_cost_terms() -> None:
    case = materialize("teda-east", dt.date(2026, 7, 15))
    (mb, mr), (pb, pr) = optimize(case, EXACT), optimize(case, EXACT, engine="pyomo")
    ms, ps = extract(mb), extract(pb)
    assert mr.objective_cny == pytest.approx(pr.objective_cny, rel=1e-9)
    for sol, report in ((ms, mr), (ps, pr)):  # each back end's terms add up to its objective
        assert sum(sol.cost_cny.values()) == pytest.approx(report.objective_cny, rel=1e-9)
    assert {(e, t) for e, t, _ in ms.cost_by_element} == {(e, t) for e, t, _ in ps.cost_by_element}
    assert set(ms.assets) == set(ps.assets)
    for aid in ms.assets:
        assert set(ms.assets[aid]) == set(ps.assets[aid]), aid


def test_emissions_and_green_energy_are_read_from_the_contracts() -> None:
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


def test_tiny_case_by_hand() -> None:
    # 1 MW for 1 h at 100, then at 300: 400 CNY, all energy.
    built, report = optimize(load_case(_tiny_case()), EXACT)
    sol = extract(built)
    assert report.objective_cny == pytest.approx(400.0)
    assert sol.cost_cny == {"energy": pytest.approx(400.0), "export": 0.0, "carbon": 0.0, "unserved": 0.0}
    assert sol.import_mw.tolist() == pytest.approx([1.0, 1.0])


def test_reading_an_unsolved_model_is_refused() -> None:
    built = build(load_case(_tiny_case()))
    with pytest.raises(ValueError, match="the model has not been solved"):
        extract(built)
    solve(built, EXACT)
    assert extract(built).objective_cny == pytest.approx(400.0)
