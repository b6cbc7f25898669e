"""Re-solve a run of cases of one shape by changing one HiGHS model in place.

The days of a year from one template are one program shape: the same
variable families and row blocks, in the same order, with other numbers
(prices, loads, PV, the month's peak so far). Building each day is cheap
(:func:`models.build.build`); handing it to HiGHS and solving it from scratch
is not. :class:`Resolver` keeps a HiGHS model per shape and, for each new case
of a shape it holds, changes only what differs — costs, column bounds, row
bounds, the objective offset and the matrix coefficients that differ — and
solves again from the previous case's basis (the simplex warm start HiGHS keeps
across changes).

What is held is the *linear relaxation* of the lazy model of
:mod:`models.optimize` (no exclusivity binaries, integer columns relaxed). That
relaxation is a relaxation of model.md's model, so its optimum is a lower bound
of the spec's optimum. When the relaxation's solution is integral on every
integer column and no exclusive pair (a battery's charge and discharge, the
grid's import and export) is positive in the same step, the solution is
feasible for the spec's model at that bound: it is the spec's optimum, with a
gap of 0. Otherwise, or when the relaxation is not solved to optimality
(infeasible, unbounded, a time limit), the case is solved afresh by
:func:`models.optimize.optimize`, which adds binaries where needed and
explains an infeasible case.

A case of a shape not yet held (an event day adds rows and columns) gets a new
model of its own; the last ``keep`` shapes are held, so the ordinary days of a
year keep their model while the few event days get theirs.

:attr:`Resolver.counts` says how each case was solved: ``in_place`` (a held
model changed and solved warm), ``new_model`` (a shape seen first, solved
cold) and ``fresh`` (a MIP or a failure, solved by :func:`optimize`).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

import highspy
import numpy as np
import scipy.sparse as sp

from models.build import Built, build
from models.case import Case
from models.declare import Formulation
from models.optimize import optimize, simultaneous
from models.solve import SolveOptions, SolveReport, Status, _highs_lp, highs_version, use_threads
from models.standard_form import Arrays

Route = Literal["in_place", "new_model", "fresh"]

#: Largest distance of an integer column from a whole number that still counts as integral
#: (HiGHS's default ``mip_feasibility_tolerance``).
INTEGRALITY_TOLERANCE = 1e-6

_I32 = np.int32


def shape_of(built: Built) -> tuple:
    """What must match for a held model to be changed into ``built``: every family and row block, in order.

    Two builds with the same shape have the same columns and rows (the same
    names, sizes and integer columns); their numbers may differ anywhere.
    """
    program = built.program
    return (
        built.arrays.A.shape,
        tuple((f.full_name(), f.n, f.integer) for f in program.families),
        tuple((r.full_name(), r.m) for r in program.rows),
    )


@dataclass
class _Held:
    """A HiGHS model of one shape and the arrays it holds now."""

    highs: highspy.Highs
    arrays: Arrays


@dataclass
class Resolver:
    """Solve cases one after another, changing a held HiGHS model in place (module docstring).

    ``options``: as every solve (its time limit bounds each relaxation and each fresh solve).
    ``keep``: how many shapes are held at once.
    """

    options: SolveOptions = field(default_factory=SolveOptions)
    keep: int = 4
    counts: dict[str, int] = field(default_factory=lambda: {"in_place": 0, "new_model": 0, "fresh": 0})
    _held: OrderedDict[tuple, _Held] = field(default_factory=OrderedDict, repr=False)

    def solve(self, case: Case) -> tuple[Built, SolveReport, Route]:
        """The optimum of ``case`` (model.md's, within the options' MIP gap), its report and the route taken.

        Raises as :func:`models.optimize.optimize` does when the case has no schedule.
        """
        t0 = time.perf_counter()
        built = build(case, Formulation(binaries=frozenset()))
        shape = shape_of(built)
        t1 = time.perf_counter()
        held = self._held.get(shape)
        if held is None:
            held = self._hold(shape, built.arrays)
            route: Route = "new_model"
        else:
            self._held.move_to_end(shape)
            change(held.highs, held.arrays, built.arrays)
            held.arrays = built.arrays
            route = "in_place"
        t2 = time.perf_counter()
        h = held.highs
        h.setOptionValue("time_limit", float(self.options.time_limit_s))
        h.run()
        t3 = time.perf_counter()
        x = self._integral_optimum(h, built)
        if x is None:
            self.counts["fresh"] += 1
            built, report = optimize(case, self.options)
            return built, report, "fresh"
        self.counts[route] += 1
        built.x = x
        built.build_seconds = t1 - t0
        a = built.arrays
        objective = float(a.cost @ x + a.offset)
        report = SolveReport(
            status=Status.OPTIMAL, objective_cny=objective, best_bound_cny=objective, mip_gap=0.0,
            handover_seconds=t2 - t1, solve_seconds=t3 - t2, model_status=h.modelStatusToString(h.getModelStatus()),
            solver=highs_version(), nodes=0, **a.sizes,
        )
        return built, report, route

    def _hold(self, shape: tuple, arrays: Arrays) -> _Held:
        """A new HiGHS model of ``arrays``' relaxation, held under ``shape`` (the oldest shape let go)."""
        h = highspy.Highs()
        h.setOptionValue("output_flag", bool(self.options.log))
        use_threads(h, self.options.threads)
        lp = _highs_lp(arrays)
        lp.integrality_ = []  # the relaxation
        h.passModel(lp)
        held = _Held(h, arrays)
        self._held[shape] = held
        while len(self._held) > self.keep:
            self._held.popitem(last=False)
        return held

    @staticmethod
    def _integral_optimum(h: highspy.Highs, built: Built) -> np.ndarray | None:
        """The relaxation's solution when it is the spec's optimum (integral, no exclusive pair both on), else None."""
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        x = np.asarray(h.getSolution().col_value, dtype=float)
        integer = built.arrays.integer
        if integer.any():
            values = x[integer]
            if np.abs(values - np.round(values)).max() > INTEGRALITY_TOLERANCE:
                return None
            x[integer] = np.round(values)
        built.x = x
        if built.program.pairs and simultaneous(built):
            built.x = None
            return None
        if not np.isfinite(x).all() or not math.isfinite(float(built.arrays.cost @ x)):
            return None
        return x


def change(h: highspy.Highs, old: Arrays, new: Arrays) -> int:
    """Change the model HiGHS holds from ``old`` into ``new`` (the same shape); how many numbers changed.

    Costs, column bounds, row bounds and the objective offset are changed where
    they differ; matrix coefficients one by one where they differ (an entry
    absent on one side counts as 0, and setting 0 removes it).
    """
    changed = 0
    idx = np.flatnonzero(new.cost != old.cost)
    if idx.size:
        h.changeColsCost(idx.size, idx.astype(_I32), new.cost[idx])
        changed += idx.size
    idx = np.flatnonzero((new.col_lower != old.col_lower) | (new.col_upper != old.col_upper))
    if idx.size:
        h.changeColsBounds(idx.size, idx.astype(_I32), new.col_lower[idx], new.col_upper[idx])
        changed += idx.size
    idx = np.flatnonzero((new.row_lower != old.row_lower) | (new.row_upper != old.row_upper))
    if idx.size:
        h.changeRowsBounds(idx.size, idx.astype(_I32), new.row_lower[idx], new.row_upper[idx])
        changed += idx.size
    if new.offset != old.offset:
        h.changeObjectiveOffset(float(new.offset))
        changed += 1
    if not (np.array_equal(new.A.indptr, old.A.indptr) and np.array_equal(new.A.indices, old.A.indices)
            and np.array_equal(new.A.data, old.A.data)):
        diff = sp.csc_array(new.A - old.A)
        diff.eliminate_zeros()
        rows, cols = diff.nonzero()
        values = new.A[rows, cols] if rows.size else np.zeros(0)
        for r, c, v in zip(rows.tolist(), cols.tolist(), np.asarray(values, dtype=float).ravel().tolist(), strict=True):
            h.changeCoeff(int(r), int(c), float(v))
        changed += int(rows.size)
    return changed
