"""The co-optimisation's numerics: the sizes stay sparse columns however many days share them.

Before each day read its own copy of the sizes, a size column sat in every
battery row of every day (23,000 nonzeros over the 40 typical days of the TEDA
year): HiGHS's dual simplex found no schedule in 600 s once the site limits no
longer pinned the sizes, and its interior point, which dualises such a model,
stopped without progress. The hand case of conftest.py, over many days, checks
that each size column is in a handful of rows and that the optimum is the hand
one whichever LP solver HiGHS is given.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HAND_BATTERY, hand_case_data
from test_sizing_hand import CAPITAL_PER_MWH, hand_request

from models import SolveOptions
from models.declare import Formulation
from models.sizing import SizedSite, _build, co_optimise
from vpp.case import load_case
from vpp.sizing import run_sizing_request

DAYS = 12


def hand_days() -> list:
    data = hand_case_data()
    data["assets"].append({"id": "bess", "type": "battery", "power_mw": 100, "energy_mwh": 100, **HAND_BATTERY})
    return [load_case(data)] * DAYS


def test_a_size_column_is_in_one_row_a_day_not_in_every_battery_row() -> None:
    days = hand_days()
    site = SizedSite("bess", 0.0, CAPITAL_PER_MWH, duration_min_h=0.1, duration_max_h=4.0)
    built, sizes = _build(days, [365.0 / DAYS] * DAYS, [site], Formulation(binaries=frozenset()))
    nnz = np.diff(built.arrays.A.tocsc().indptr)
    power, energy = sizes["bess"]
    # P: its two duration rows and one copy row a day; E: the same (each day's 24 SoC bounds, start and
    # end read the day's copy)
    assert int(nnz[power.cols[0]]) == DAYS + 2
    assert int(nnz[energy.cols[0]]) == DAYS + 2
    copies = [f for f in built.program.families if f.path[:1] == (("capacity", "bess"),) and len(f.path) == 2]
    assert len(copies) == 2 * DAYS
    assert max(int(nnz[f.start]) for f in copies) <= 2 * 24 + 3  # a day's charge bounds (or SoC bounds), start, end, copy


@pytest.mark.parametrize("lp_solver", ["ipm", "simplex"])
def test_many_days_give_the_hand_optimum_with_either_lp_solver(lp_solver: str) -> None:
    # twelve equal days weighted 365/12 each: the year of conftest.py, optimum 20 MWh at 11,322,300 CNY
    out = co_optimise(hand_days(), [365.0 / DAYS] * DAYS, [SizedSite("bess", 0.0, CAPITAL_PER_MWH)],
                      SolveOptions(lp_solver=lp_solver))
    assert out.report.rounds == 1 and out.report.binaries == 0
    assert out.energy_mwh["bess"] == pytest.approx(20.0, abs=1e-6)
    assert out.objective_cny == pytest.approx(11_322_300, rel=1e-9)
    assert out.day_cost_cny == pytest.approx([out.day_cost_cny[0]] * DAYS, rel=1e-9)


def test_a_co_optimisation_stopped_without_a_schedule_leaves_the_sweep_and_says_why(tmp_path) -> None:
    # a limit HiGHS cannot find a schedule in: the study goes on with the sweep over the typical days,
    # whose best point is the hand optimum (20 MWh at 10 MW: the points of hand_request's sweep)
    req = hand_request(tmp_path, co_optimisation_time_limit_s=1e-9, tornado=False)
    out = run_sizing_request(req.model_dump())
    co = out["co_optimisation"]
    assert co["status"] == "time_limit_no_solution"
    assert co["step"] == f"co-optimisation of the sizes over {len(out['assumptions']['typical_days']['typical_dates'])} typical days"
    assert "without any feasible schedule" in co["message"] and "the recommended size is the sweep's best point" in co["message"]
    assert co["what_to_do"].startswith("raise co_optimisation_time_limit_s")
    assert co["time_limit_s"] == 1e-9
    rec = out["recommended"]
    assert rec["method"].endswith("(the co-optimisation stopped without a schedule: see co_optimisation)")
    assert rec["economics_basis"] == "typical-day simulation (the sweep)"
    assert rec["energy_mwh"] == pytest.approx(20.0, abs=1e-9)
    assert out["typical_vs_full_year"] is None

