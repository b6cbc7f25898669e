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

from collections.abc import Callable
from dataclasses import replace
from typing import Literal

import numpy as np

from models.build import Built, build
from models.case import Case
from models.declare import Formulation
from models.solve import SolveOptions, SolveReport, Status, solve, solve_pyomo
from vpp.errors import SolverError

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
    """
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {', '.join(map(repr, ENGINES))}, got {engine!r}")
    solve_fn = ENGINES[engine]
    if exclusivity == "spec":
        built = build(case, Formulation(storage_cut=storage_cut), fixed)
        return built, solve_fn(built, options)
    if exclusivity != "lazy":
        raise ValueError(f"exclusivity: expected 'lazy' or 'spec', got {exclusivity!r}")

    options = options or SolveOptions()
    formulation = Formulation(binaries=frozenset(), storage_cut=storage_cut)
    totals = {"build": 0.0, "handover": 0.0, "solve": 0.0}
    rounds = 0
    while True:
        rounds += 1
        built = build(case, formulation, fixed)
        # The time limit is for all rounds together. A round that may need a successor (some pair
        # is left to check) gets half of what is left, so that a successor has time to find a schedule.
        left = max(options.time_limit_s - totals["solve"], min(options.time_limit_s, 1e-3))
        share = left / 2 if built.program.pairs else left
        try:
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
    built.build_seconds = totals["build"]
    report.handover_seconds = totals["handover"]
    report.solve_seconds = totals["solve"]
    report.rounds = rounds
    return built, report
