"""Re-solving cases on one held HiGHS model (models/resolve.py): rounding, branching, and their bounds.

The hand cases use one-hour steps, a 10 MW load bought at 100 CNY/MWh and a
maximum-demand charge of 1,000 CNY per MW of the day's peak (no peak so far), so
where a one-step batch run of 6 MW goes decides the peak: 16 MW wherever it
runs. Spreading the run over its starts (the linear relaxation) lowers the peak
to 10 + 6/k MW over k starts, a bound the schedule never reaches.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from models import SolveOptions, optimize
from models.resolve import Resolver, feasible_rounding, relative_gap
from models.standard_form import Arrays
from vpp.case import load_case

START = "2026-07-15T00:00:00+08:00"
OPTIONS = SolveOptions(mip_gap=1e-4, threads=1)


def batch_case(starts: int, price: float = 100.0) -> dict:
    """``starts`` hours, a flat 10 MW load and a 6 MW, one-hour batch run that may start in any of them."""
    return {
        "start": START, "step_minutes": 60, "steps": starts,
        "grid": {"import_max_mw": 100, "buy_cny_per_mwh": price, "demand_charge_cny_per_mw": 1000},
        "assets": [
            {"id": "load", "type": "load", "demand_mw": 10},
            {"id": "batch", "type": "shiftable_load", "profile_mw": [6]},
        ],
    }


def test_feasible_rounding_rounds_each_column_the_way_that_keeps_every_row() -> None:
    # columns: y1 = 7, o1 = 0.7 (y1 ≥ 5·o1, y1 ≤ 10·o1: an offer of at least 5 if offered);
    #          y2 = 3, o2 = 0.3 (the same rows: 3 MW is too little to offer and too much not to);
    #          o3 = o4 = 0.5 with o3 + o4 = 1 (one of two); o5 = 0.5 free at no cost; o6 = 0.5 free, cost −1
    A = sp.csc_array(np.array([
        [1, -5, 0, 0, 0, 0, 0, 0, 0, 0],
        [1, -10, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, -5, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, -10, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
    ], dtype=float))
    integer = np.array([False, True, False, True, True, True, True, True, False, False])
    a = Arrays(A=A, col_lower=np.zeros(10), col_upper=np.array([np.inf, 1, np.inf, 1, 1, 1, 1, 1, 1, 1]),
               cost=np.array([0, 0, 0, 0, 0, 0, 0, -1.0, 0, 0]), integer=integer,
               row_lower=np.array([0, -np.inf, 0, -np.inf, 1]), row_upper=np.array([np.inf, 0, np.inf, 0, 1]),
               offset=0.0)
    x = np.array([7, 0.7, 3, 0.3, 0.5, 0.5, 0.5, 0.5, 0.25, 0.0])
    values, undecided = feasible_rounding(a, x)
    # o1 up (7 ≥ 5 and 7 ≤ 10); o2 neither (3 < 5, 3 > 0); o3, o4 neither (the sum leaves 1);
    # o5 down (a tie at no cost); o6 up (it pays 1 to be on)
    assert values.tolist() == [1.0, 0.3, 0.5, 0.5, 0.0, 1.0]
    assert undecided.tolist() == [1, 2, 3]


def test_relative_gap_is_highs_s() -> None:
    assert relative_gap(100.0, 99.0) == pytest.approx(0.01)
    assert relative_gap(-100.0, -101.0) == pytest.approx(0.01)
    assert relative_gap(5.0, 5.0) == 0.0
    assert relative_gap(5.0, 6.0) == 0.0  # a bound above the schedule: nothing left to prove
    assert relative_gap(0.0, -1.0) == np.inf


def test_a_relaxation_that_splits_a_run_is_branched_to_the_optimum() -> None:
    # two starts: the relaxation runs half the batch in each hour (peak 13 MW, 2,600 + 13,000 CNY);
    # no rounding of (0.5, 0.5) keeps Σx = 1. Branching on the first start: held on, a schedule
    # (peak 16 MW: 2,600 + 16,000 = 18,600 CNY); held off, the other start, the same cost: proven.
    case = load_case(batch_case(2))
    resolver = Resolver(OPTIONS)
    built, report, route = resolver.solve(case)
    assert route == "new_model, branched"
    assert report.objective_cny == pytest.approx(18_600, rel=1e-9)
    assert report.best_bound_cny == pytest.approx(18_600, rel=1e-9)
    assert report.mip_gap == 0.0
    assert report.nodes == 6  # the relaxation, its three roundings, two branches
    _, fresh = optimize(case, SolveOptions(mip_gap=1e-9))
    assert fresh.objective_cny == pytest.approx(report.objective_cny, rel=1e-9)
    x = built.x[[f for f in built.program.families if f.name == "x"][0].start:][:2]
    assert sorted(x.tolist()) == [0.0, 1.0]
    # the same case again changes nothing in the held model: the same answer, in place
    _, again, route = resolver.solve(case)
    assert route == "in_place, branched" and again.objective_cny == pytest.approx(18_600, rel=1e-9)
    assert resolver.counts["new_model, branched"] == 1 and resolver.counts["in_place, branched"] == 1


def test_a_search_cut_short_hands_its_schedule_to_highs() -> None:
    # three starts: the relaxation spreads the run (peak 12 MW); held on, the first start is a
    # schedule (3,600 + 16,000 = 19,600 CNY), held off the other two split again (peak 13 MW).
    # With five relaxations allowed the search stops there: HiGHS proves the schedule from it.
    case = load_case(batch_case(3))
    built, report, route = Resolver(OPTIONS, max_nodes=5).solve(case)
    assert route == "new_model, mip"
    assert report.objective_cny == pytest.approx(19_600, rel=1e-9)
    assert report.mip_gap <= OPTIONS.mip_gap
    # without branching, nor a schedule from rounding, the case is solved afresh
    _, report, route = Resolver(OPTIONS, max_nodes=0).solve(case)
    assert route == "fresh"
    assert report.objective_cny == pytest.approx(19_600, rel=1e-9)


def test_a_day_whose_relaxation_is_integral_is_taken_as_it_is() -> None:
    # no demand charge: the batch runs in the cheapest hour (50 CNY/MWh): 10·(100 + 50) + 6·50 = 1,800
    data = batch_case(2)
    data["grid"].update(demand_charge_cny_per_mw=0, buy_cny_per_mwh=[100, 50])
    _, report, route = Resolver(OPTIONS).solve(load_case(data))
    assert route == "new_model"
    assert report.objective_cny == pytest.approx(1_800, rel=1e-9)
    assert report.best_bound_cny == report.objective_cny and report.nodes == 1
