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

``exclusivity="spec"`` builds the spec's model at once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
import pyomo.environ as pyo

from models.build import BuiltModel, Formulation, build
from models.solve import SolveOptions, SolveReport, solve
from vpp.case import Case

Exclusivity = Literal["lazy", "spec"]

#: Power [MW] above which charging and discharging (or importing and exporting) count as simultaneous.
SIMULTANEOUS_MW = 1e-6


def _both(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.any(np.minimum(a, b) > SIMULTANEOUS_MW))


def simultaneous(built: BuiltModel) -> tuple[set[str], bool]:
    """Batteries that charge and discharge in one step, and whether the grid imports and exports in one."""
    case, m = built.case, built.model
    steps = range(case.steps)
    batteries = set()
    for a in case.assets:
        if a.type == "battery":
            block = m.asset[a.id]
            ch = np.array([pyo.value(block.ch[t]) for t in steps])
            dis = np.array([pyo.value(block.dis[t]) for t in steps])
            if _both(ch, dis):
                batteries.add(a.id)
    imp = np.array([pyo.value(m.imp[t]) for t in steps])
    exp = np.array([pyo.value(m.exp[t]) for t in steps])
    return batteries, _both(imp, exp)


def with_needed_binaries(formulation: Formulation, solved: list[BuiltModel]) -> Formulation | None:
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
) -> tuple[BuiltModel, SolveReport]:
    """Build and solve ``case``; the optimum is the one of model.md whichever ``exclusivity``.

    Returns the final built model (values loaded) and its report, whose build,
    hand-over and solve seconds add up every round (``rounds`` says how many).
    """
    if exclusivity == "spec":
        built = build(case, Formulation(storage_cut=storage_cut))
        return built, solve(built, options)
    if exclusivity != "lazy":
        raise ValueError(f"exclusivity: expected 'lazy' or 'spec', got {exclusivity!r}")

    options = options or SolveOptions()
    formulation = Formulation(battery_binaries=frozenset(), grid_binary=False, storage_cut=storage_cut)
    totals = {"build": 0.0, "handover": 0.0, "solve": 0.0}
    rounds = 0
    while True:
        rounds += 1
        built = build(case, formulation)
        # The time limit is for all rounds together.
        left = options.time_limit_s if rounds == 1 else max(options.time_limit_s - totals["solve"], 1e-3)
        report = solve(built, replace(options, time_limit_s=left))
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
