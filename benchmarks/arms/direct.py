"""The direct arm: the floor any modelling overhead is measured against.

The case goes straight into the standard form HiGHS takes, as numpy blocks
(:mod:`models.matrix`, the product's matrix engine), with model.md's
exclusivity binaries everywhere (``Formulation()``, the spec's model, one
solve, no lazy rounds) and without the product's result layer: ``extract`` reads
the solution vector into per-element arrays (:func:`models.extract.extract`)
and stops there. What the ``product`` arm spends beyond this arm is what the
product adds for its users: the lazy binary rounds, the tidy schedule table and
the summary.

The arm's optimum is checked against the product's Pyomo model
(``tests/benchmarks/test_direct_arm.py``): two formulations of model.md
written apart, one as numpy blocks and one in Pyomo's algebra.
"""

from __future__ import annotations

import time

from benchmarks.arms import ArmResult, Settings
from models import Formulation, Solution, SolveOptions, build_matrix, extract, solve_matrix
from vpp.case import Case
from vpp.errors import SolverError

NAME = "direct"


def supports(case: Case) -> str | None:
    """Every case of model.md: the matrix engine writes the whole model."""
    return None


def run(case: Case, settings: Settings) -> ArmResult:
    """Build, hand over, solve and extract once; phases in wall-clock seconds."""
    return solve(case, settings)[0]


def solve(case: Case, settings: Settings) -> tuple[ArmResult, Solution | None]:
    """:func:`run`, also returning the extracted solution (None without a schedule)."""
    options = SolveOptions(mip_gap=settings.mip_gap, time_limit_s=settings.time_limit_s, threads=settings.threads)
    model = build_matrix(case, Formulation())
    sizes = model.arrays.sizes
    phases = {"build": model.build_seconds, "handover": 0.0, "solve": 0.0, "extract": 0.0}
    try:
        report = solve_matrix(model, options)
    except SolverError as exc:
        return ArmResult(arm=NAME, status=exc.status, objective_cny=None, mip_gap=None, phases=phases,
                         note=str(exc), **sizes), None
    phases.update(handover=report.handover_seconds, solve=report.solve_seconds)
    t0 = time.perf_counter()
    solution = extract(model)
    phases["extract"] = time.perf_counter() - t0
    return ArmResult(arm=NAME, status=str(report.status), objective_cny=report.objective_cny,
                     mip_gap=report.mip_gap, phases=phases, **sizes), solution
