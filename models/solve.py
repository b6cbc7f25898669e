"""Solve a model in standard form with HiGHS (through ``highspy``).

Every solve ends here (:func:`run_highs`): the program's standard form goes to
HiGHS in one call (``passModel``), not row by row through a persistent
interface. :func:`solve` solves a built model and keeps the solution in
``built.x``; :func:`solve_pyomo` generates the Pyomo model from the same
program (:mod:`models.declare.pyomo`), compiles it with Pyomo's own
``LinearStandardFormCompiler`` and maps the solution back to the program's
columns, so both back ends are read by one reader (:mod:`models.solution`).

A solve always has a time limit. Stopping at the limit with an incumbent gives
status ``feasible`` with its gap; stopping without one raises
:class:`~vpp.errors.SolverError` (status ``time_limit_no_solution``). An
infeasible model raises :class:`~vpp.errors.InfeasibleError` naming the
culprits: HiGHS's irreducible infeasible set (``Highs.getIis``) mapped back to
the spec's names, one sentence per hard requirement in it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np

from models.standard_form import Arrays
from vpp.errors import InfeasibleError, SolverError

if TYPE_CHECKING:
    from models.build import Built
    from models.declare import Program


class Status(StrEnum):
    """Outcome of a solve."""

    OPTIMAL = "optimal"  # proven optimal within the MIP gap
    FEASIBLE = "feasible"  # stopped (time limit) with a schedule; gap reported
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT_NO_SOLUTION = "time_limit_no_solution"
    ERROR = "error"


#: HiGHS's LP solvers a model without integer columns can be given (``SolveOptions.lp_solver``).
LP_SOLVERS = ("choose", "simplex", "ipm")


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings.

    mip_gap: relative MIP gap at which HiGHS stops [-] (default 1e-4).
    time_limit_s: wall-clock limit of the HiGHS run [s] (default 60).
    threads: HiGHS threads (None = HiGHS's default).
    log: print HiGHS's log.
    prove_only: a MIP search that starts from a good schedule (given to :func:`run_highs`) and is
        left to prove its bound: HiGHS's primal heuristics (RINS, RENS, feasibility jump, root
        reduced cost) and its restarts off (default off; :mod:`models.resolve`).
    lp_solver: HiGHS's ``solver`` for a model without integer columns: ``"choose"`` (HiGHS's default,
        the dual simplex), ``"simplex"`` or ``"ipm"`` (interior point, then crossover to a vertex;
        :mod:`models.sizing`). A MIP is solved by HiGHS's branch and bound whatever it says.
    """

    mip_gap: float = 1e-4
    time_limit_s: float = 60.0
    threads: int | None = None
    log: bool = False
    prove_only: bool = False
    lp_solver: str = "choose"

    def __post_init__(self) -> None:
        if not (0 <= self.mip_gap < 1) or not math.isfinite(self.mip_gap):
            raise ValueError(f"mip_gap: expected a number in [0, 1), got {self.mip_gap}")
        if not (self.time_limit_s > 0) or not math.isfinite(self.time_limit_s):
            raise ValueError(f"time_limit_s: expected a positive number of seconds, got {self.time_limit_s}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads: expected a positive integer, got {self.threads}")
        if self.lp_solver not in LP_SOLVERS:
            raise ValueError(f"lp_solver: expected one of {', '.join(LP_SOLVERS)}, got {self.lp_solver!r}")


@dataclass
class SolveReport:
    """What the solver did: status, objective [CNY], gap and timings [s]."""

    status: Status
    objective_cny: float
    best_bound_cny: float | None
    mip_gap: float
    handover_seconds: float
    solve_seconds: float
    model_status: str
    solver: str
    nodes: int
    variables: int
    constraints: int
    binaries: int
    nonzeros: int
    rounds: int = 1  # solves it took (see models.optimize: binaries added where needed)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = str(self.status)
        return d


EARLY_STOPS = {
    highspy.HighsModelStatus.kTimeLimit: Status.TIME_LIMIT_NO_SOLUTION,
    highspy.HighsModelStatus.kIterationLimit: Status.TIME_LIMIT_NO_SOLUTION,
    highspy.HighsModelStatus.kSolutionLimit: Status.TIME_LIMIT_NO_SOLUTION,
    highspy.HighsModelStatus.kInterrupt: Status.TIME_LIMIT_NO_SOLUTION,
    highspy.HighsModelStatus.kObjectiveBound: Status.TIME_LIMIT_NO_SOLUTION,
    highspy.HighsModelStatus.kObjectiveTarget: Status.TIME_LIMIT_NO_SOLUTION,
    highspy.HighsModelStatus.kMemoryLimit: Status.ERROR,
}


_scheduler_threads: list[int] = [0]  # threads of HiGHS's process-wide scheduler (0 = its default)


def use_threads(h: highspy.Highs, threads: int | None) -> None:
    """Set HiGHS's thread count, restarting its process-wide scheduler when the count changes.

    HiGHS keeps one task scheduler per process; a run asking for another
    thread count than the scheduler was started with fails, so restart it.
    """
    wanted = int(threads or 0)
    if wanted != _scheduler_threads[0]:
        highspy.Highs.resetGlobalScheduler(True)
        _scheduler_threads[0] = wanted
    if wanted:
        h.setOptionValue("threads", wanted)


@cache
def highs_version() -> str:
    return f"HiGHS {highspy.Highs().version()}"


#: HiGHS outcomes that are confirmed by a second run without presolve before they are believed.
_INFEASIBLE_VERDICTS = (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible)

_KINDS = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)


def _highs_lp(a: Arrays) -> highspy.HighsLp:
    """The HighsLp of ``a``, for one ``passModel`` call.

    pybind11 converts a Python list to a std::vector faster than a numpy array
    (element by element either way), so the arrays go over as lists.
    """
    lp = highspy.HighsLp()
    lp.num_col_ = a.A.shape[1]
    lp.num_row_ = a.A.shape[0]
    lp.col_cost_ = a.cost.tolist()
    lp.col_lower_ = a.col_lower.tolist()
    lp.col_upper_ = a.col_upper.tolist()
    lp.row_lower_ = a.row_lower.tolist()
    lp.row_upper_ = a.row_upper.tolist()
    lp.offset_ = a.offset
    matrix = lp.a_matrix_
    matrix.format_ = highspy.MatrixFormat.kColwise
    matrix.start_ = a.A.indptr.tolist()
    matrix.index_ = a.A.indices.tolist()
    matrix.value_ = a.A.data.tolist()
    if a.integer.any():
        kinds = [_KINDS[0]] * len(a.integer)
        for j in np.flatnonzero(a.integer).tolist():
            kinds[j] = _KINDS[1]
        lp.integrality_ = kinds
    return lp


#: HiGHS options of a MIP search left to prove a bound (``SolveOptions.prove_only``): no primal
#: heuristics, no restart (on the TEDA year's hardest days, from a schedule within a few 1e-4 of the
#: optimum, a quarter of the time with both on; benchmarks/sizing_year.py).
PROVE_ONLY: tuple[tuple[str, Any], ...] = (
    ("mip_heuristic_effort", 0.0), ("mip_heuristic_run_rins", False), ("mip_heuristic_run_rens", False),
    ("mip_heuristic_run_root_reduced_cost", False), ("mip_heuristic_run_feasibility_jump", False),
    ("mip_allow_restart", False),
)

#: Says what made a model infeasible, given the HiGHS instance that proved it (see :func:`explain_infeasible`).
Diagnose = Callable[[highspy.Highs], str]


def run_highs(arrays: Arrays, options: SolveOptions | None = None,
              diagnose: Diagnose | None = None, start: np.ndarray | None = None) -> tuple[SolveReport, np.ndarray]:
    """Hand ``arrays`` to HiGHS, solve, and return the report and the solution (integer columns rounded).

    ``diagnose`` says why, when HiGHS proves the model infeasible; ``start`` is
    a feasible solution to start the search from (NaN where HiGHS is to complete it). Raises InfeasibleError or
    SolverError when there is no schedule to return.
    """
    options = options or SolveOptions()
    t0 = time.perf_counter()
    lp = _highs_lp(arrays)
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.log))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    h.setOptionValue("time_limit", float(options.time_limit_s))
    if options.prove_only:
        for name, value in PROVE_ONLY:
            h.setOptionValue(name, value)
    use_threads(h, options.threads)
    if options.lp_solver != "choose" and not arrays.integer.any():
        h.setOptionValue("solver", options.lp_solver)
    h.passModel(lp)
    if start is not None and np.isnan(start).any():  # a partial start: HiGHS completes the other columns
        given = np.flatnonzero(~np.isnan(start))
        h.setSolution(int(given.size), given.astype(np.int32), start[given])
    elif start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = start.tolist()
        solution.value_valid = True
        h.setSolution(solution)
    t1 = time.perf_counter()
    h.run()
    if h.getModelStatus() in _INFEASIBLE_VERDICTS:
        # HiGHS's presolve can call a feasible model infeasible when a requirement sits within its
        # tolerance of a bound (seen with HiGHS 1.15: a deadline 1e-7 MWh below the total energy).
        # Every case model is feasible but for hard requirements, so confirm the verdict without it.
        h.setOptionValue("presolve", "off")
        h.clearSolver()
        h.run()
    t2 = time.perf_counter()

    ms = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    integer = arrays.integer
    is_mip = bool(integer.any())
    name = h.modelStatusToString(ms)

    if ms == highspy.HighsModelStatus.kOptimal:
        status = Status.OPTIMAL
    elif ms == highspy.HighsModelStatus.kInfeasible:
        why = diagnose(h) if diagnose is not None else ""
        raise InfeasibleError("the case is infeasible: unserved energy keeps every energy balance feasible, so "
                              "hard requirements conflict" + (f": {why}" if why else ""))
    elif ms in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        raise SolverError(
            f"HiGHS reports the model {name.lower()}",
            status=str(Status.UNBOUNDED if ms == highspy.HighsModelStatus.kUnbounded else Status.INFEASIBLE),
        )
    elif ms in EARLY_STOPS and has_solution and EARLY_STOPS[ms] != Status.ERROR:
        status = Status.FEASIBLE
    elif ms in EARLY_STOPS:
        raise SolverError(
            f"HiGHS stopped ({name}) after {t2 - t1:.1f} s of a {options.time_limit_s:g} s limit "
            "without any feasible schedule; raise the time limit (--time-limit) or loosen the MIP gap",
            status=str(EARLY_STOPS[ms]),
        )
    else:
        raise SolverError(f"HiGHS failed: {name}", status=str(Status.ERROR))

    x = np.asarray(h.getSolution().col_value, dtype=float)
    x[integer] = np.round(x[integer])
    objective = float(info.objective_function_value)
    if is_mip:
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap)
        if not math.isfinite(gap):  # no finite bound: proven optimal means 0, otherwise unknown
            gap = 0.0 if status == Status.OPTIMAL else math.inf
    else:
        bound, gap = objective, 0.0
    report = SolveReport(
        status=status,
        objective_cny=objective,
        best_bound_cny=bound if math.isfinite(bound) else None,
        mip_gap=max(gap, 0.0),
        handover_seconds=t1 - t0,
        solve_seconds=t2 - t1,
        model_status=name,
        solver=highs_version(),
        nodes=int(info.mip_node_count) if is_mip else 0,
        **arrays.sizes,
    )
    return report, x


def explain_infeasible(h: highspy.Highs, program: Program) -> str:
    """The irreducible infeasible set of the model HiGHS holds, as sentences in the spec's names.

    Each row or bound of the set belongs to a constraint or variable family of
    the program; a family that says what it asks for (``explain``) gives one
    sentence (the first of its rows in the set), the others are named
    (``asset[bess-1].soc_balance[37]``).
    """
    try:
        status, iis = h.getIis()
    except Exception:  # an older HiGHS, or no IIS for this model  # noqa: BLE001
        return ""
    if status == highspy.HighsStatus.kError or not iis.valid_:
        return ""
    if not len(iis.row_index_) and not len(iis.col_index_):
        # The linear relaxation is feasible: the conflict needs the integer decisions (charge or
        # discharge, import or export, join, start). Name the case's hard requirements.
        found = [r.explain(0) for r in program.rows if r.explain is not None]
        found += [f.explain(_first_required(f)) for f in program.families if f.requirement and f.explain]
        found = list(dict.fromkeys(found))
        if not found:
            return "the conflict needs the integer decisions (charge or discharge, import or export)"
        return ("the conflict needs the integer decisions (charge or discharge, import or export, join, start) "
                "together with the case's hard requirements: " + "; ".join(found))
    sentences: list[str] = []
    named: list[str] = []
    seen: set[tuple[str, str]] = set()
    for i in list(iis.row_index_):
        block, j, name = program.row_name(int(i))
        key = (block.full_name(), "row")
        if block.explain is not None:
            if key not in seen:
                seen.add(key)
                sentences.append(block.explain(j))
        else:
            named.append(name)
    for k in list(iis.col_index_):
        fam, j, name = program.col_family(int(k))
        key = (fam.full_name(), "col")
        if fam.explain is not None:
            if key not in seen:
                seen.add(key)
                sentences.append(fam.explain(j))
        else:
            named.append(f"the bounds of {name}")
    parts = sentences
    if named:
        shown = ", ".join(named[:8]) + (f" and {len(named) - 8} more" if len(named) > 8 else "")
        parts = [*sentences, f"together with {shown}"] if sentences else [f"the conflict involves {shown}"]
    return "; ".join(parts)


def _first_required(fam: Any) -> int:
    """The first column of a requirement family whose lower bound asks for something (> 0)."""
    positive = np.flatnonzero(np.broadcast_to(np.asarray(fam.lower, dtype=float), (fam.n,)) > 0)
    return int(positive[0]) if positive.size else 0


def solve(built: Built, options: SolveOptions | None = None) -> SolveReport:
    """Solve ``built`` (its standard form, the matrix back end); the solution is kept in ``built.x``.

    A model solved before (``built.x`` set) starts from that solution: a
    search cut short by its time limit goes on from its incumbent.
    """
    report, built.x = run_highs(built.arrays, options, lambda h: explain_infeasible(h, built.program), built.x)
    return report


def compile_pyomo(m: Any) -> tuple[Arrays, list[Any]]:
    """The standard form of a Pyomo model, and its columns (the Pyomo variables, in column order)."""
    import pyomo.environ as pyo
    import scipy.sparse as sp
    from pyomo.common.gc_manager import PauseGC
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    with PauseGC():  # nothing to collect, only pauses
        repn = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=pyo.minimize)
    cols = repn.columns
    n = len(cols)
    lower = np.full(n, -np.inf)
    upper = np.full(n, np.inf)
    integer = np.zeros(n, dtype=bool)
    for j, v in enumerate(cols):
        lb, ub = v.bounds
        if lb is not None:
            lower[j] = lb
        if ub is not None:
            upper[j] = ub
        integer[j] = v.is_integer()
    senses = np.array([r[1] for r in repn.rows], dtype=int)
    rhs = np.asarray(repn.rhs, dtype=float)
    arrays = Arrays(
        A=sp.csc_array(repn.A),
        col_lower=lower,
        col_upper=upper,
        cost=np.asarray(repn.c.todense()).ravel() if repn.c.shape[0] else np.zeros(n),
        integer=integer,
        row_lower=np.where(senses <= 0, rhs, -np.inf),
        row_upper=np.where(senses >= 0, rhs, np.inf),
        offset=float(repn.c_offset[0]) if len(repn.c_offset) else 0.0,
    )
    return arrays, cols


def solve_pyomo(built: Built, options: SolveOptions | None = None) -> SolveReport:
    """Solve ``built`` through its Pyomo back end: generate, compile, solve, map back to ``built.x``.

    The time to generate and compile the Pyomo model counts as hand-over time.
    """
    from models.declare.pyomo import to_pyomo

    t0 = time.perf_counter()
    pm = to_pyomo(built.program, built.arrays)
    arrays, cols = compile_pyomo(pm.model)
    handover = time.perf_counter() - t0
    report, x = run_highs(arrays, options, lambda h: explain_infeasible_via(built))
    report.handover_seconds += handover
    full = np.zeros(built.arrays.A.shape[1])
    for v, val in zip(cols, x, strict=True):
        full[pm.column[id(v)]] = val
    # a column in no row and no cost is not passed on by Pyomo: any value in its bounds
    missing = np.setdiff1d(np.arange(full.size), [pm.column[id(v)] for v in cols])
    lo, hi = built.arrays.col_lower[missing], built.arrays.col_upper[missing]
    full[missing] = np.clip(0.0, lo, hi)
    built.x = full
    return report


def explain_infeasible_via(built: Built) -> str:
    """The infeasible set of ``built``'s own standard form (the Pyomo path names the same program)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(_highs_lp(built.arrays))
    h.run()
    return explain_infeasible(h, built.program)
