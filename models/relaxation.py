"""A deterministic day's linear relaxation, kept in HiGHS and re-solved warm with its first stage tied to a plan.

Scenario decomposition (:mod:`vpp.scenario_addition`) evaluates one plan after another in
every scenario of a stochastic day. Each scenario's relaxation is handed to HiGHS once;
the plan only moves the bounds of a few rows, and the dual simplex starts again from the
last basis (milliseconds instead of the tenth of a second a fresh solve of the TEDA day takes).

The first-stage columns z are tied to the plan x elastically: z − d⁺ + d⁻ = x with
d⁺, d⁻ ≥ 0 costing M each, M = :data:`TIE_FACTOR` × the model's largest cost coefficient ×
its steps (above what any unit of a first-stage decision can be worth in the day). A plan
the scenario cannot follow, such as a regulation band wider than its batteries can carry
while charging, then costs M per unit it cannot follow instead of being infeasible, and the
value is never above the scenario's value with the plan held. With the tie rows' bounds
removed the day takes its own first stage (wait-and-see, relaxed).
"""

from __future__ import annotations

from dataclasses import replace

import highspy
import numpy as np
import scipy.sparse as sp

from models.build import build
from models.case import Case
from models.declare import Formulation
from models.solve import _highs_lp
from models.standard_form import Arrays
from vpp.errors import SolverError

TIE_FACTOR = 10.0
"""M as a multiple of the model's largest cost coefficient times its steps [-]."""


def with_l1(arrays: Arrays, cols: np.ndarray, centre: np.ndarray, weight: np.ndarray) -> Arrays:
    """``arrays`` plus weight·|x[cols] − centre|: columns d⁺, d⁻ ≥ 0 with x − d⁺ + d⁻ = centre (rows
    appended last, in the order of ``cols``), cost weight·(d⁺ + d⁻)."""
    n, m, k = arrays.A.shape[1], arrays.A.shape[0], cols.size
    eye = sp.identity(k, format="csc")
    rows = sp.csc_array((np.ones(k), (np.arange(k), cols)), shape=(k, n))
    A = sp.vstack([sp.hstack([arrays.A, sp.csc_array((m, 2 * k))]), sp.hstack([rows, -eye, eye])], format="csc")
    return replace(
        arrays, A=sp.csc_array(A),
        col_lower=np.concatenate([arrays.col_lower, np.zeros(2 * k)]),
        col_upper=np.concatenate([arrays.col_upper, np.full(2 * k, np.inf)]),
        cost=np.concatenate([arrays.cost, weight, weight]),
        integer=np.concatenate([arrays.integer, np.zeros(2 * k, dtype=bool)]),
        row_lower=np.concatenate([arrays.row_lower, centre]),
        row_upper=np.concatenate([arrays.row_upper, centre]),
    )


class TiedRelaxation:
    """A deterministic ``case``'s linear relaxation (no exclusivity binaries, integers relaxed), its
    first-stage families ``names`` tied to a plan (module docstring), one HiGHS instance kept warm."""

    def __init__(self, case: Case, names: list[str]) -> None:
        built = build(case, Formulation(binaries=frozenset()))
        families = {f.full_name(): f for f in built.program.families if f.first_stage}
        cols = np.concatenate([np.arange(families[n].start, families[n].start + families[n].n) for n in names])
        arrays = replace(built.arrays, integer=np.zeros_like(built.arrays.integer))
        self.penalty = TIE_FACTOR * float(np.max(np.abs(arrays.cost), initial=1.0)) * max(case.steps, 1)
        self.rows = np.arange(arrays.A.shape[0], arrays.A.shape[0] + cols.size, dtype=np.int32)
        arrays = with_l1(arrays, cols, np.zeros(cols.size), np.full(cols.size, self.penalty))
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("threads", 1)
        self.h.passModel(_highs_lp(arrays))

    def _run(self, lower: np.ndarray, upper: np.ndarray) -> float:
        self.h.changeRowsBounds(self.rows.size, self.rows, lower, upper)
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            self.h.clearSolver()  # once more from scratch: a warm start can stall on a degenerate basis
            self.h.run()
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"a scenario's linear relaxation: HiGHS {self.h.modelStatusToString(status)}",
                              status="error")
        return float(self.h.getInfo().objective_function_value)

    def alone(self) -> float:
        """The relaxation with its own first stage [CNY]: a lower bound of the day's optimum."""
        free = np.full(self.rows.size, highspy.kHighsInf)
        return self._run(-free, free)

    def under(self, x: np.ndarray) -> float:
        """The relaxation with the plan ``x`` (the first-stage families in the order of ``names``) held,
        elastically [CNY]: never above the day's optimum with the plan held."""
        return self._run(np.asarray(x, dtype=float), np.asarray(x, dtype=float))
