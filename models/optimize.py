"""Build and solve a case, with exclusivity binaries only where a solution needs them.

model.md puts a binary on every battery and step (charge or discharge, §4.3)
and on every step of the grid connection when both import and export are
possible (§3). Most cases never reward doing both at once, and the binaries
then only cost solve time. ``exclusivity="lazy"`` (the default) is exact
nonetheless:

1. solve without those binaries: a relaxation of the spec's model, so its
   optimum is a lower bound of the spec's optimum;
2. if no battery charges and discharges in the same step, and the grid never
   imports and exports in the same step, the solution is feasible for the
   spec's model too, at that bound: it is optimal for the spec's model (and,
   under a MIP gap, within the same gap of its optimum);
3. otherwise, add the binaries of exactly the batteries (and the grid) that
   did both, and solve again; repeat until (2) holds. Each round keeps every
   binary it had, so at worst the last round is the spec's model itself.

``exclusivity="spec"`` builds the spec's model at once. Either way, and with
either engine (``engine="matrix"``, the default, or ``"pyomo"``), a round is
build → hand-over → solve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from models.assets._common import pyomo_reader
from models.assets._common import values as _values
from models.build import BuiltModel, Formulation, build
from models.matrix import MatrixModel, build_matrix, solve_matrix
from models.solve import SolveOptions, SolveReport, solve
from models.standard_form import Reader
from vpp.case import Case

Exclusivity = Literal["lazy", "spec"]
Engine = Literal["matrix", "pyomo"]

#: Each engine's build and solve (see :func:`optimize`).
ENGINES: dict[str, tuple[Callable[..., Any], Callable[..., SolveReport]]] = {
    "matrix": (build_matrix, solve_matrix),
    "pyomo": (build, solve),
}

#: Power [MW] above which charging and discharging (or importing and exporting) count as simultaneous.
SIMULTANEOUS_MW = 1e-6


def _both(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.any(np.minimum(a, b) > SIMULTANEOUS_MW))


def simultaneous(built: BuiltModel | MatrixModel) -> tuple[set[str], bool]:
    """Batteries that charge and discharge in one step, and whether the grid imports and exports in one."""
    case = built.case
    if isinstance(built, MatrixModel):
        reader = built.reader
        imp, exp = reader("system")("imp"), reader("system")("exp")
    else:
        m = built.model

        def reader(aid: str) -> Reader:
            return pyomo_reader(m.asset[aid])

        imp, exp = _values(m.imp, case.steps), _values(m.exp, case.steps)
    batteries = set()
    for a in case.assets:
        if a.type == "battery":
            read = reader(a.id)
            if _both(read("ch"), read("dis")):
                batteries.add(a.id)
    return batteries, _both(imp, exp)


def with_needed_binaries(formulation: Formulation, solved: list[BuiltModel] | list[MatrixModel]) -> Formulation | None:
    """``formulation`` plus the binaries the solved models show are needed, or None if they need none.

    Step 3 of the module docstring: the batteries that charged and discharged
    in one step (in any of ``solved``), and the grid if it imported and exported
    in one, get their exclusivity binaries; those already there stay.
    """
    batteries: set[str] = set()
    grid = False
    for built in solved:
        both, grid_both = simultaneous(built)
        batteries |= both
        grid = grid or grid_both
    batteries -= formulation.battery_binaries or frozenset()
    grid = grid and not formulation.grid_binary
    if not batteries and not grid:
        return None
    return replace(
        formulation,
        battery_binaries=(formulation.battery_binaries or frozenset()) | batteries,
        grid_binary=formulation.grid_binary or grid,
    )


def optimize(
    case: Case,
    options: SolveOptions | None = None,
    exclusivity: Exclusivity = "lazy",
    storage_cut: bool = False,
    engine: Engine = "matrix",
) -> tuple[BuiltModel | MatrixModel, SolveReport]:
    """Build and solve ``case``; the optimum is the one of model.md whichever ``exclusivity`` and ``engine``.

    ``engine``: ``"matrix"`` writes the standard form directly (:mod:`models.matrix`,
    the default: the fastest); ``"pyomo"`` builds the Pyomo model (:mod:`models.build`)
    and compiles it. Returns the final built model (solution loaded; read it
    with :func:`models.extract.extract`) and its report, whose build, hand-over and
    solve seconds add up every round (``rounds`` says how many).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {', '.join(map(repr, ENGINES))}, got {engine!r}")
    build_fn, solve_fn = ENGINES[engine]
    if exclusivity == "spec":
        built = build_fn(case, Formulation(storage_cut=storage_cut))
        return built, solve_fn(built, options)
    if exclusivity != "lazy":
        raise ValueError(f"exclusivity: expected 'lazy' or 'spec', got {exclusivity!r}")

    options = options or SolveOptions()
    formulation = Formulation(battery_binaries=frozenset(), grid_binary=False, storage_cut=storage_cut)
    totals = {"build": 0.0, "handover": 0.0, "solve": 0.0}
    rounds = 0
    while True:
        rounds += 1
        built = build_fn(case, formulation)
        # The time limit is for all rounds together.
        left = options.time_limit_s if rounds == 1 else max(options.time_limit_s - totals["solve"], 1e-3)
        report = solve_fn(built, replace(options, time_limit_s=left))
        totals["build"] += built.build_seconds
        totals["handover"] += report.handover_seconds
        totals["solve"] += report.solve_seconds
        wider = with_needed_binaries(formulation, [built])
        if wider is None:
            break
        formulation = wider
    built.build_seconds = totals["build"]
    report.handover_seconds = totals["handover"]
    report.solve_seconds = totals["solve"]
    report.rounds = rounds
    return built, report
