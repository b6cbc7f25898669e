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
relaxation is a relaxation of model.md's model, so its optimum L is a lower
bound of the spec's optimum. A schedule is accepted for a case when it is
feasible for the spec's model (integral on every integer column, no exclusive
pair — a battery's charge and discharge, the grid's import and export —
positive in the same step) and its cost U is within the MIP gap of a proven
lower bound, ``(U − bound) / |U| ≤ mip_gap``: the guarantee HiGHS gives with
``mip_rel_gap``. In turn, each warm-started on the held model:

1. the relaxation itself, when its solution is integral (bound L, gap 0);
2. *rounded*: the relaxation's integer columns rounded (:func:`feasible_rounding`
   first, so that a degenerate binary such as a regulation offer's flag,
   §5.4, goes the way that keeps every row satisfied; the others to the
   nearest, up or down, :data:`ROUNDINGS`), held at those values, and the
   continuous columns solved again; accepted against L;
3. *branched*: a small best-first branch and bound on the held model (a
   fractional integer column held at its value rounded up, then down; each
   branch's relaxation warm from its parent's basis, rounded as in 2 for
   schedules), until the best schedule is within the gap of the least bound
   of the open branches, or :attr:`Resolver.max_nodes` relaxations have been
   solved. HiGHS's own MIP solver starts every solve from scratch (presolve,
   then the root relaxation cold); on the days of a year whose relaxation is
   weak (an interruptible load's all-or-nothing block shaving the month's
   peak) a few warm branches close the gap in a fraction of that time.

Otherwise, or when the relaxation is not solved to optimality (infeasible,
unbounded, a time limit), the case is solved afresh by
:func:`models.optimize.optimize`, which adds binaries where needed and
explains an infeasible case. The held model's column bounds are put back after
every search, so it stays the relaxation of the case it holds.

A case of a shape not yet held (an event day adds rows and columns) gets a new
model of its own; the last ``keep`` shapes are held, so the ordinary days of a
year keep their model while the few event days get theirs.

:attr:`Resolver.counts` says how each case was solved: the model ``in_place``
(a held model changed and solved warm) or ``new_model`` (a shape seen first,
solved cold), each plain (the relaxation was integral), ``rounded`` or
``branched``; or ``fresh`` (solved by :func:`optimize`).
"""

from __future__ import annotations

import heapq
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import highspy
import numpy as np
import scipy.sparse as sp

from models.build import Built, build
from models.case import Case
from models.declare import Formulation
from models.optimize import optimize, simultaneous
from models.solve import (
    SolveOptions,
    SolveReport,
    Status,
    _highs_lp,
    highs_version,
    solve,
    use_threads,
)
from models.standard_form import Arrays
from vpp.errors import InfeasibleError, SolverError

Route = Literal["in_place", "in_place, rounded", "in_place, branched", "in_place, mip",
                "new_model", "new_model, rounded", "new_model, branched", "new_model, mip", "fresh"]
ROUTES: tuple[Route, ...] = ("in_place", "in_place, rounded", "in_place, branched", "in_place, mip",
                             "new_model", "new_model, rounded", "new_model, branched", "new_model, mip", "fresh")

#: Largest distance of an integer column from a whole number that still counts as integral, and the
#: tolerance of a row kept within its bounds by a rounding (HiGHS's ``mip_feasibility_tolerance``).
INTEGRALITY_TOLERANCE = 1e-6

#: How the integer columns :func:`feasible_rounding` leaves fractional are rounded, tried in turn.
ROUNDINGS: tuple[Callable[[np.ndarray], np.ndarray], ...] = (
    lambda v: np.floor(v + 0.5),  # to the nearest
    lambda v: np.ceil(v - INTEGRALITY_TOLERANCE),  # up
    lambda v: np.floor(v + INTEGRALITY_TOLERANCE),  # down
)

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
class Found:
    """A schedule a search accepted: its cost U [CNY], solution, proven lower bound [CNY] and relaxations solved."""

    objective_cny: float
    x: np.ndarray
    bound_cny: float
    nodes: int
    how: Literal["", "rounded", "branched"]


@dataclass
class Resolver:
    """Solve cases one after another, changing a held HiGHS model in place (module docstring).

    ``options``: as every solve (its time limit bounds each case's search and each fresh solve; its
    MIP gap is the gap a schedule is accepted at). ``keep``: how many shapes are held at once.
    ``max_nodes``: the relaxations a branch and bound may solve before the case is solved afresh
    (0: no branching, only the relaxation and its rounding). 200: on the TEDA year every day
    then settles on the held model (each warm relaxation costs about 10 ms; the most a day
    solved was 106); at 60, ten days were handed to HiGHS's MIP solver, which took 1.2–6 s each to
    prove a bound these branches close sooner (``benchmarks/sizing_year.py``).
    """

    options: SolveOptions = field(default_factory=SolveOptions)
    keep: int = 4
    max_nodes: int = 200
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROUTES, 0))
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
            model = "new_model"
        else:
            self._held.move_to_end(shape)
            change(held.highs, held.arrays, built.arrays)
            held.arrays = built.arrays
            model = "in_place"
        t2 = time.perf_counter()
        h = held.highs
        search = _Search(h, built, self.options, self.max_nodes, t2)
        found = search.run()
        t3 = time.perf_counter()
        if found is None and search.best is not None:
            report = self._mip(built, search.best[1], t3 - t2)
            if report is not None:
                route: Route = f"{model}, mip"  # type: ignore[assignment]
                self.counts[route] += 1
                built.build_seconds = t1 - t0
                report.handover_seconds += t2 - t1
                report.solve_seconds += t3 - t2
                return built, report, route
        if found is None:
            self.counts["fresh"] += 1
            built, report = optimize(case, self.options)
            return built, report, "fresh"
        route = f"{model}, {found.how}" if found.how else model  # type: ignore[assignment]
        self.counts[route] += 1
        built.x = found.x
        built.build_seconds = t1 - t0
        report = SolveReport(
            status=Status.OPTIMAL, objective_cny=found.objective_cny, best_bound_cny=found.bound_cny,
            mip_gap=relative_gap(found.objective_cny, found.bound_cny), handover_seconds=t2 - t1,
            solve_seconds=t3 - t2, model_status="Optimal", solver=highs_version(), nodes=found.nodes,
            **built.arrays.sizes,
        )
        return built, report, route

    def _mip(self, built: Built, start: np.ndarray, spent_s: float) -> SolveReport | None:
        """HiGHS's MIP solver on ``built`` from the schedule ``start``, left to prove the bound (step 4).

        The search's schedule is usually within a few 1e-4 of the optimum: what is left is
        the bound, which HiGHS's cuts and branching prove far sooner without its primal
        heuristics and restarts (``SolveOptions.prove_only``). None when the result needs the exclusivity binaries (an exclusive pair
        both on) or HiGHS ends without a schedule: the case is then solved afresh.
        """
        left = max(self.options.time_limit_s - spent_s, min(self.options.time_limit_s, 1.0))
        built.x = start.copy()
        try:
            report = solve(built, replace(self.options, time_limit_s=left, prove_only=True))
        except (SolverError, InfeasibleError):
            built.x = None
            return None
        if built.x is None or _simultaneous(built, built.x):
            built.x = None
            return None
        return report

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


@dataclass(order=True)
class _Node:
    """An open branch: its relaxation's optimum [CNY] (the order), its held values, solution and basis."""

    bound: float
    seq: int
    held: dict[int, float] = field(compare=False)
    x: np.ndarray = field(compare=False, repr=False)
    basis: highspy.HighsBasis = field(compare=False, repr=False)


class _Search:
    """The search of the module docstring (steps 1–3) for one case on the held model ``h``."""

    def __init__(self, h: highspy.Highs, built: Built, options: SolveOptions, max_nodes: int, started: float) -> None:
        self.h, self.built, self.a = h, built, built.arrays
        self.gap = options.mip_gap
        self.deadline = started + options.time_limit_s
        self.max_nodes = max_nodes
        self.cols = np.flatnonzero(self.a.integer)
        self.families = _family_of(built, self.cols)
        self.idx = self.cols.astype(_I32)
        self.lower, self.upper = self.a.col_lower[self.cols], self.a.col_upper[self.cols]
        self.best: tuple[float, np.ndarray] | None = None
        self.nodes = 0

    def run(self) -> Found | None:
        try:
            return self._run()
        finally:
            if self.cols.size:
                self.h.changeColsBounds(self.idx.size, self.idx, self.lower, self.upper)

    def _run(self) -> Found | None:
        solved, root = self._lp()
        if root is None:
            return None
        bound, x = root
        if _integral(x, self.a.integer):
            if _simultaneous(self.built, x):
                return None
            return Found(bound, x, bound, self.nodes, "")
        if self.cols.size == 0:
            return None
        basis = self.h.getBasis()
        self._schedule(x, bound)
        if self._accepts(bound):
            return Found(*self.best, bound, self.nodes, "rounded")  # type: ignore[misc]
        if self.max_nodes <= self.nodes:
            return None
        return self._branch(_Node(bound, 0, {}, x, basis))

    def _branch(self, root: _Node) -> Found | None:
        """Best-first branch and bound from ``root`` (step 3); None when the limits stop it first.

        A branch's relaxation is rounded for a schedule when the branch is taken up (the most
        promising first), not when it is made: most branches made are never taken up.
        """
        open_ = [root]
        # the least bound of the branches dropped for being within the gap of the best schedule, and of
        # those whose relaxation is whole but needs an exclusivity binary (left unresolved: their bound stays)
        pruned = math.inf
        seq = 0
        while open_ or pruned < math.inf:
            bound = min(open_[0].bound if open_ else math.inf, pruned)
            if self._accepts(bound):
                return Found(*self.best, bound, self.nodes, "branched")  # type: ignore[misc]
            if not open_ or self.nodes >= self.max_nodes or time.perf_counter() > self.deadline:
                return None
            node = heapq.heappop(open_)
            if self._within_gap(node.bound):
                pruned = min(pruned, node.bound)
                continue
            if node.held:  # the root was rounded before branching
                self.h.setBasis(node.basis)
                self._schedule(node.x)
                if self._within_gap(node.bound):
                    pruned = min(pruned, node.bound)
                    continue
            children = self._children(node)
            if children is None:
                return None  # stopped short (time limit): no bound to trust
            for held, child, basis in children:
                if child is None:
                    continue  # infeasible: no schedule down this branch
                obj, x = child
                if self._within_gap(obj):
                    pruned = min(pruned, obj)
                    continue
                if _integral(x, self.a.integer):
                    if _simultaneous(self.built, x):
                        pruned = min(pruned, obj)
                    else:
                        self._offer(obj, x)
                    continue
                seq += 1
                heapq.heappush(open_, _Node(obj, seq, held, x, basis))
        return None

    def _within_gap(self, bound: float) -> bool:
        """Whether a branch whose relaxation costs ``bound`` [CNY] can improve the best schedule by no more than the gap."""
        return self.best is not None and bound >= self.best[0] - self.gap * abs(self.best[0])

    def _children(self, node: _Node) -> list[tuple[dict[int, float], tuple[float, np.ndarray] | None,
                                               highspy.HighsBasis | None]] | None:
        """The two branches of ``node`` on the column :func:`branching_candidates` scores best, solved.

        Each candidate (one per integer family) is tried both ways from the node's basis; the one
        whose weaker branch raises the bound most (the product of both rises, as strong branching
        scores) is taken. None when a relaxation is stopped short.
        """
        best: tuple[float, list] | None = None
        for k in branching_candidates(self.a, node.x, self.cols, self.families):
            value = node.x[self.cols[k]]
            children = []
            rises = []
            for side in (math.ceil(value - INTEGRALITY_TOLERANCE), math.floor(value + INTEGRALITY_TOLERANCE)):
                held = {**node.held, k: float(side)}
                self.h.setBasis(node.basis)
                solved, child = self._relaxation(held)
                if not solved:
                    return None
                children.append((held, child, self.h.getBasis() if child is not None else None))
                rises.append(max(child[0] - node.bound, 0.0) if child is not None else math.inf)
            score = max(min(rises), 1e-9) * max(max(rises), 1e-9)
            if best is None or score > best[0]:
                best = (score, children)
        return best[1] if best is not None else []

    def _relaxation(self, held: dict[int, float]) -> tuple[bool, tuple[float, np.ndarray] | None]:
        """The relaxation with the ``held`` integer columns held at their values (see :meth:`_lp`)."""
        lower, upper = self.lower.copy(), self.upper.copy()
        for k, v in held.items():
            lower[k] = upper[k] = v
        self.h.changeColsBounds(self.idx.size, self.idx, lower, upper)
        return self._lp()

    def _lp(self) -> tuple[bool, tuple[float, np.ndarray] | None]:
        """Solve what ``h`` holds from its basis, within what is left of the time limit.

        Returns whether HiGHS settled it (optimal or infeasible) and, when optimal, the
        optimum [CNY] and the solution.
        """
        left = self.deadline - time.perf_counter()
        if left <= 0:
            return False, None
        # HiGHS's clock runs on across the runs of one instance: the limit is set past its reading
        self.h.setOptionValue("time_limit", self.h.getRunTime() + left)
        self.h.run()
        self.nodes += 1
        status = self.h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return True, None
        if status != highspy.HighsModelStatus.kOptimal:
            return False, None
        x = np.asarray(self.h.getSolution().col_value, dtype=float)
        if x.size != self.a.A.shape[1] or not np.isfinite(x).all():
            return False, None
        return True, (self._cost(x), x)

    def _cost(self, x: np.ndarray) -> float:
        """The case's cost [CNY] at ``x``."""
        return float(self.a.cost @ x + self.a.offset)

    def _schedule(self, x: np.ndarray, bound: float | None = None) -> None:
        """Schedules from the relaxation's solution ``x`` rounded (step 2); the best is kept.

        ``bound``: try the roundings of :data:`ROUNDINGS` in turn until the best schedule is within
        the gap of it; None: stop at the first schedule solved, better or not. When
        :func:`feasible_rounding` rounds every column, ``x`` so rounded is a schedule as it
        is (every row kept, the continuous columns unchanged), taken before any solve: the
        continuous columns are solved again only if it is not within the gap of ``bound``.
        """
        start, undecided = feasible_rounding(self.a, x)
        if not undecided.size:
            y = x.copy()
            y[self.cols] = start
            if not _simultaneous(self.built, y):
                self._offer(self._cost(y), y)
                if bound is not None and self._accepts(bound):
                    return
        for rounding in ROUNDINGS[: len(ROUNDINGS) if undecided.size else 1]:
            values = start.copy()
            k = undecided
            values[k] = np.clip(rounding(x[self.cols[k]]), self.lower[k], self.upper[k])
            self.h.changeColsBounds(self.idx.size, self.idx, values, values)
            _, solved = self._lp()
            if solved is None:
                continue
            y = solved[1]
            y[self.cols] = values
            if _simultaneous(self.built, y):
                continue
            self._offer(self._cost(y), y)
            if bound is None or self._accepts(bound):
                return

    def _offer(self, objective: float, x: np.ndarray) -> None:
        """Keep ``x`` if it is the best schedule so far."""
        if self.best is None or objective < self.best[0]:
            self.best = (objective, x)

    def _accepts(self, bound: float) -> bool:
        return self.best is not None and relative_gap(self.best[0], bound) <= self.gap


def feasible_rounding(a: Arrays, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The integer columns of ``x`` rounded one at a time where every row stays within its bounds.

    Returns the values (one per integer column, in column order) and the
    positions among the integer columns that could go neither way (left at their
    fractional value). A column that can go both ways goes the cheaper way
    (down on a tie). Each rounding moves the row activities the next one sees,
    so the result keeps ``A·x`` within the row bounds (to
    :data:`INTEGRALITY_TOLERANCE`) with the continuous columns unchanged.
    """
    cols = np.flatnonzero(a.integer)
    values = x[cols].copy()
    whole = np.round(values)
    fractional = np.abs(values - whole) > INTEGRALITY_TOLERANCE
    values[~fractional] = whole[~fractional]
    activity = a.A @ x
    A, tol = a.A, INTEGRALITY_TOLERANCE
    undecided = []
    for k in np.flatnonzero(fractional).tolist():
        j = int(cols[k])
        rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
        coef = A.data[A.indptr[j]:A.indptr[j + 1]]
        best: tuple[float, float, np.ndarray] | None = None
        for target in (math.floor(values[k]), math.ceil(values[k])):
            if not a.col_lower[j] - tol <= target <= a.col_upper[j] + tol:
                continue
            moved = activity[rows] + coef * (target - values[k])
            if np.all(moved >= a.row_lower[rows] - tol) and np.all(moved <= a.row_upper[rows] + tol):
                cost = float(a.cost[j]) * (target - values[k])
                if best is None or cost < best[0] - 1e-9:
                    best = (cost, float(target), moved)
        if best is None:
            undecided.append(k)
        else:
            activity[rows] = best[2]
            values[k] = best[1]
    return values, np.asarray(undecided, dtype=int)


def branching_candidates(a: Arrays, x: np.ndarray, cols: np.ndarray, families: np.ndarray) -> list[int]:
    """The integer columns to try branching on at ``x``: the most fractional of each family (positions in ``cols``).

    ``families``: the family of each integer column (a number per column of ``cols``). Where
    :func:`feasible_rounding` cannot round some column (a rounding would break a row), only
    those columns count in their family.
    """
    values = x[cols]
    distance = np.abs(values - np.round(values))
    fractional = distance > INTEGRALITY_TOLERANCE
    _, undecided = feasible_rounding(a, x)
    hard = np.zeros(cols.size, dtype=bool)
    hard[undecided] = True
    out = []
    for f in np.unique(families[fractional]):
        mine = np.flatnonzero(fractional & (families == f))
        pick = mine[hard[mine]] if hard[mine].any() else mine
        out.append(int(pick[np.argmax(distance[pick])]))
    return out


def _family_of(built: Built, cols: np.ndarray) -> np.ndarray:
    """The number of the variable family each of ``cols`` belongs to."""
    starts = np.array([f.start for f in built.program.families])
    return np.searchsorted(starts, cols, side="right") - 1


def _integral(x: np.ndarray, integer: np.ndarray) -> bool:
    """Whether ``x`` is whole on the integer columns (rounded there in place when it is)."""
    if not integer.any():
        return True
    values = x[integer]
    rounded = np.round(values)
    if np.abs(values - rounded).max() > INTEGRALITY_TOLERANCE:
        return False
    x[integer] = rounded
    return True


def _simultaneous(built: Built, x: np.ndarray) -> bool:
    """Whether an exclusive pair (charge and discharge, import and export) is positive in one step at ``x``."""
    if not built.program.pairs:
        return False
    kept, built.x = built.x, x
    try:
        return bool(simultaneous(built))
    finally:
        built.x = kept


def relative_gap(objective: float, bound: float) -> float:
    """HiGHS's relative MIP gap: (objective − bound) / |objective| (0 when they are equal)."""
    if objective == bound:
        return 0.0
    return max(objective - bound, 0.0) / abs(objective) if objective != 0 else math.inf


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
