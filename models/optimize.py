"""Build and solve a case, with exclusivity binaries only where a solution needs them.

model.md puts a binary on every battery and step (charge or discharge, §4.3)
and on every step of the grid connection where both import and export are
possible (§3). Most cases never reward doing both at once, and the binaries
then only cost solve time. ``exclusivity="lazy"`` (the default) is exact
nonetheless:

1. solve without those binaries: a relaxation of the spec's model, so its
   optimum is a lower bound of the spec's optimum;
2. if no pair an element declared exclusive (:meth:`models.declare.Block.exclusive`:
   a battery's charge and discharge, the grid's import and export) is positive
   in the same step, the solution is feasible for the spec's model too, at that
   bound: it is optimal for the spec's model (and, under a MIP gap, within the
   same gap of its optimum);
3. otherwise, add the binaries of exactly the elements whose pair was, and
   solve again; repeat until (2) holds. Each round keeps every binary it had,
   so at worst the last round is the spec's model itself.

Under a time limit, a round that may need a successor gets half of the time
left; a round cut short that needs no more binaries goes on from its incumbent
with the rest. ``exclusivity="spec"`` builds the spec's model at once. Either way, and with
either back end (``engine="matrix"``, the default, or ``"pyomo"``), a round is
build → hand-over → solve.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

import numpy as np

from models.build import Built, build
from models.case import Case
from models.declare import Formulation
from models.solve import SolveOptions, SolveReport, Status, run_highs, solve, solve_pyomo
from vpp.errors import InfeasibleError, SolverError

Exclusivity = Literal["lazy", "spec"]
Engine = Literal["matrix", "pyomo"]

#: Each back end's solve (see :func:`optimize`).
ENGINES: dict[str, Callable[[Built, SolveOptions | None], SolveReport]] = {
    "matrix": solve,
    "pyomo": solve_pyomo,
}

#: Power [MW] above which two exclusive quantities count as simultaneous.
SIMULTANEOUS_MW = 1e-6


def simultaneous(built: Built) -> set[str]:
    """The elements whose exclusive pair was positive in the same step at the solution."""
    x = built.x
    if x is None:
        raise ValueError("the model has not been solved")
    return {element for element, a, b in built.program.pairs
            if np.any(np.minimum(a.value(x), b.value(x)) > SIMULTANEOUS_MW)}


def with_needed_binaries(formulation: Formulation, solved: list[Built]) -> Formulation | None:
    """``formulation`` plus the binaries the solved models show are needed, or None if they need none.

    Step 3 of the module docstring: the elements whose exclusive pair was
    positive in one step (in any of ``solved``) get their binaries; those
    already there stay.
    """
    if formulation.binaries is None:
        return None
    needed: set[str] = set()
    for built in solved:
        needed |= simultaneous(built)
    needed -= formulation.binaries
    if not needed:
        return None
    return replace(formulation, binaries=formulation.binaries | needed)


#: At most this many optional demand-response events are decided by enumeration (2^k branches).
MAX_JOIN_BRANCHES_EVENTS = 3


def optional_joins(built: Built, fixed: dict[str, np.ndarray] | None) -> list[str]:
    """The first-stage join binaries ``dr[<event>].w`` of ``built`` that ``fixed`` leaves free."""
    return [f.full_name() for f in built.program.families
            if f.first_stage and f.integer and f.name == "w" and f.path[:1] and f.path[0][:1] == ("dr",)
            and f.full_name() not in (fixed or {})]


def relaxation_bound(built: Built, options: SolveOptions) -> float:
    """The optimum of ``built``'s linear relaxation [CNY]: a lower bound of its MIP optimum."""
    arrays = replace(built.arrays, integer=np.zeros_like(built.arrays.integer))
    report, _ = run_highs(arrays, replace(options, log=False))
    return report.objective_cny


def rounded_start(built: Built, options: SolveOptions) -> tuple[np.ndarray | None, float]:
    """Integer values to start ``built``'s search from (NaN at the continuous columns), and the seconds taken.

    The linear relaxation with its fractional integer columns rounded up; HiGHS completes the
    continuous columns itself (and ignores a start it cannot complete). The relaxation is often
    tight in cost but degenerate in its binaries (a regulation offer's o anywhere in
    [Rg/U, Rg/R_min], §5.4), which HiGHS's own rounding can miss for seconds.
    """
    a = built.arrays
    integer = a.integer
    if not integer.any():
        return None, 0.0
    try:
        report, x = run_highs(replace(a, integer=np.zeros_like(integer)), replace(options, log=False))
    except SolverError:
        return None, 0.0
    start = np.full(x.size, np.nan)
    start[integer] = np.clip(np.ceil(x[integer] - 1e-6), a.col_lower[integer], a.col_upper[integer])
    return start, report.solve_seconds


def optimize(
    case: Case,
    options: SolveOptions | None = None,
    exclusivity: Exclusivity = "lazy",
    storage_cut: bool = False,
    engine: Engine = "matrix",
    fixed: dict[str, np.ndarray] | None = None,
) -> tuple[Built, SolveReport]:
    """Build and solve ``case``; the optimum is the one of model.md whichever ``exclusivity`` and ``engine``.

    ``engine``: ``"matrix"`` hands the program's standard form to HiGHS (the
    default: the fastest); ``"pyomo"`` generates the Pyomo model from the same
    program and compiles it. Returns the final built model (solution in
    ``built.x``; read it with :func:`models.solution.extract`) and its report,
    whose build, hand-over and solve seconds add up every round (``rounds``
    says how many). ``fixed``: first-stage decisions to hold (see
    :func:`models.build.first_stage_values`), e.g. a plan evaluated on scenarios.

    Optional demand-response events (§5.2) are decided by enumeration: the
    relaxation of a join binary's big-M row is weak (a fractional join frees a
    fraction of the whole range of the net import), so HiGHS proves little at
    its root and can spend its time limit there. Each assignment of the joins,
    all joined first, is solved with the joins held, unless the linear
    relaxation of that assignment already costs at least the best schedule so
    far; the best schedule is the optimum of the whole model, and its bound the
    least of the branches' bounds.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {', '.join(map(repr, ENGINES))}, got {engine!r}")
    if exclusivity not in ("lazy", "spec"):
        raise ValueError(f"exclusivity: expected 'lazy' or 'spec', got {exclusivity!r}")
    options = options or SolveOptions()
    if not any(ev.optional for ev in case.demand_response):
        return _optimize(case, options, exclusivity, storage_cut, engine, fixed)
    joins = optional_joins(build(case, Formulation(binaries=frozenset(), storage_cut=storage_cut), fixed), fixed)
    if not joins or len(joins) > MAX_JOIN_BRANCHES_EVENTS:
        return _optimize(case, options, exclusivity, storage_cut, engine, fixed)

    best: tuple[Built, SolveReport] | None = None
    bounds: list[float] = []
    proven = True  # every branch solved to the gap, or cut off by its relaxation
    seconds = {"handover": 0.0, "solve": 0.0, "build": 0.0}
    rounds = 0
    infeasible: InfeasibleError | None = None
    lp_budget_s = _lp_budget_s(options)
    for values in itertools.product((1.0, 0.0), repeat=len(joins)):
        held = {**(fixed or {}), **{name: np.array([v]) for name, v in zip(joins, values, strict=True)}}
        left = max(options.time_limit_s - seconds["solve"], 1e-3)
        branch = None
        try:
            if best is not None:
                branch = build(case, Formulation(binaries=frozenset(), storage_cut=storage_cut), held)
                lp = relaxation_bound(branch, replace(options, time_limit_s=max(left, lp_budget_s)))
                incumbent = best[1].objective_cny
                if lp >= incumbent - options.mip_gap * abs(incumbent) or left <= 0.05:
                    bounds.append(lp)
                    proven = proven and lp >= incumbent - options.mip_gap * abs(incumbent)
                    continue
            built, report = _optimize(case, replace(options, time_limit_s=left), exclusivity, storage_cut,
                                      engine, held)
        except InfeasibleError as err:  # this assignment of the joins has no schedule
            infeasible = err
            continue
        except SolverError as err:
            if best is None or err.status != Status.TIME_LIMIT_NO_SOLUTION:
                raise
            bounds.append(_branch_bound(case, storage_cut, held, branch, replace(options, time_limit_s=lp_budget_s)))
            proven = False
            continue
        seconds["build"] += built.build_seconds
        seconds["handover"] += report.handover_seconds
        seconds["solve"] += report.solve_seconds
        rounds += report.rounds
        bounds.append(report.best_bound_cny if report.best_bound_cny is not None else -math.inf)
        proven = proven and report.status == Status.OPTIMAL
        if best is None or report.objective_cny < best[1].objective_cny:
            best = (built, report)
    if best is None:
        assert infeasible is not None
        raise infeasible
    built, report = best
    bound = min(min(bounds), report.objective_cny)
    objective = report.objective_cny
    gap = (objective - bound) / max(abs(objective), 1.0) if math.isfinite(bound) else math.inf
    built.build_seconds = seconds["build"]
    report = replace(report, status=Status.OPTIMAL if proven else Status.FEASIBLE,
                     best_bound_cny=bound if math.isfinite(bound) else None, mip_gap=max(gap, 0.0),
                     handover_seconds=seconds["handover"], solve_seconds=seconds["solve"], rounds=rounds)
    return built, report


def _lp_budget_s(options: SolveOptions) -> float:
    """Seconds beyond the time limit for the linear relaxation that bounds a search the limit cut short.

    A branch or round the time limit leaves without a bound of its own (unsolved, or stopped before
    HiGHS finished its root relaxation, as on a busy machine) is still bounded by its linear
    relaxation; a day's relaxation takes a fraction of this.
    """
    return min(2.0, max(0.5, 0.1 * options.time_limit_s))


def with_relaxation_bound(built: Built, report: SolveReport, options: SolveOptions) -> SolveReport:
    """``report`` of a schedule the time limit cut short, bounded by ``built``'s linear relaxation when HiGHS gave none.

    The relaxation (every integer column continuous) is a relaxation of model.md's model too, whichever
    exclusivity binaries ``built`` carries, so its optimum is a valid lower bound and the gap stays finite.
    """
    if report.status != Status.FEASIBLE or report.best_bound_cny is not None:
        return report
    try:
        bound = min(relaxation_bound(built, replace(options, time_limit_s=_lp_budget_s(options))),
                    report.objective_cny)
    except SolverError:
        return report
    gap = (report.objective_cny - bound) / max(abs(report.objective_cny), 1.0)
    return replace(report, best_bound_cny=bound, mip_gap=max(gap, 0.0))


def _branch_bound(case: Case, storage_cut: bool, held: dict[str, np.ndarray], branch: Built | None,
                  options: SolveOptions) -> float:
    """The linear relaxation of a branch the time limit left unsolved [CNY] (−inf if it cannot be had)."""
    try:
        built = branch or build(case, Formulation(binaries=frozenset(), storage_cut=storage_cut), held)
        return relaxation_bound(built, options)
    except SolverError:
        return -math.inf


def _optimize(case: Case, options: SolveOptions, exclusivity: Exclusivity, storage_cut: bool, engine: Engine,
              fixed: dict[str, np.ndarray] | None) -> tuple[Built, SolveReport]:
    """:func:`optimize` with every optional join left to HiGHS (or held in ``fixed``): the rounds of the module docstring."""
    solve_fn = ENGINES[engine]
    if exclusivity == "spec":
        built = build(case, Formulation(storage_cut=storage_cut), fixed)
        return built, with_relaxation_bound(built, solve_fn(built, options), options)

    options = options or SolveOptions()
    formulation = Formulation(binaries=frozenset(), storage_cut=storage_cut)
    totals = {"build": 0.0, "handover": 0.0, "solve": 0.0}
    rounds = 0
    while True:
        rounds += 1
        built = build(case, formulation, fixed)
        # The time limit is for all rounds together. A round that may need a successor (some pair
        # is left to check) gets half of what is left, so that a successor has time to find a schedule.
        if rounds == 1 and engine == "matrix" and any(f.name == "offered" for f in built.program.families):
            # only where the degenerate offer binaries are (§5.4): elsewhere the extra linear solve costs
            # more than HiGHS takes to find the optimum itself
            built.x, seconds = rounded_start(built, replace(options, time_limit_s=options.time_limit_s / 4))
            totals["solve"] += seconds
        left = max(options.time_limit_s - totals["solve"], min(options.time_limit_s, 1e-3))
        share = left / 2 if built.program.pairs else left
        try:
            try:
                report = solve_fn(built, replace(options, time_limit_s=share))
            except SolverError as err:
                if err.status != Status.TIME_LIMIT_NO_SOLUTION or share >= left:
                    raise
                # no schedule in its half: this round takes the other half too (a successor needs a schedule)
                totals["solve"] += share
                share = left = left - share
                report = solve_fn(built, replace(options, time_limit_s=share))
        except SolverError as err:
            if err.status != Status.TIME_LIMIT_NO_SOLUTION:
                raise
            raise SolverError(
                f"HiGHS stopped (Time limit reached) after {totals['solve'] + share:.1f} s of a "
                f"{options.time_limit_s:g} s limit without any feasible schedule; raise the time limit "
                "(--time-limit) or loosen the MIP gap", status=err.status) from None
        totals["build"] += built.build_seconds
        totals["handover"] += report.handover_seconds
        totals["solve"] += report.solve_seconds
        wider = with_needed_binaries(formulation, [built])
        if wider is None:
            rest = options.time_limit_s - totals["solve"]
            if report.status == Status.FEASIBLE and share < left and rest > 0.05:
                # cut short at its share, and it needs no more binaries: go on from its incumbent
                report = solve_fn(built, replace(options, time_limit_s=rest))
                totals["handover"] += report.handover_seconds
                totals["solve"] += report.solve_seconds
            break
        formulation = wider
    report = with_relaxation_bound(built, report, options)
    built.build_seconds = totals["build"]
    report.handover_seconds = totals["handover"]
    report.solve_seconds = totals["solve"]
    report.rounds = rounds
    return built, report
