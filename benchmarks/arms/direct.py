"""The direct arm: the model as model.md writes it, solved once, without the product's result layer.

The case is declared into its standard form (:func:`models.build`), with
model.md's exclusivity binaries everywhere (``Formulation()``: one solve, no
lazy rounds), handed to HiGHS, and the solution read into per-element arrays
(:func:`models.extract`), and it stops there. What the ``product`` arm spends
beyond this arm is what the product adds for its users: the lazy binary
rounds, the tidy schedule table and the summary.

The arm's optimum is checked against the product's (``tests/benchmarks/test_direct_arm.py``),
whose formulation differs (binaries added only where needed), and against the
PyPSA arm, a formulation of model.md written apart.
"""

from __future__ import annotations

import time

from benchmarks.arms import ArmResult, Settings
from models import Formulation, Solution, SolveOptions, build, extract
from models import solve as solve_built
from vpp.case import Case
from vpp.errors import SolverError

NAME = "direct"


def supports(case: Case) -> str | None:
    """Every case of model.md."""
    return None


def run(case: Case, settings: Settings) -> ArmResult:
    """Build, hand over, solve and extract once; phases in wall-clock seconds."""
    return solve(case, settings)[0]


def solve(case: Case, settings: Settings) -> tuple[ArmResult, Solution | None]:
    """:func:`run`, also returning the extracted solution (None without a schedule)."""
    options = SolveOptions(mip_gap=settings.mip_gap, time_limit_s=settings.time_limit_s, threads=settings.threads)
    model = build(case, Formulation())
    sizes = model.arrays.sizes
    phases = {"build": model.build_seconds, "handover": 0.0, "solve": 0.0, "extract": 0.0}
    try:
        report = solve_built(model, options)
    except SolverError as exc:
        return ArmResult(arm=NAME, status=exc.status, objective_cny=None, mip_gap=None, phases=phases,
                         note=str(exc), **sizes), None
    phases.update(handover=report.handover_seconds, solve=report.solve_seconds)
    t0 = time.perf_counter()
    solution = extract(model)
    phases["extract"] = time.perf_counter() - t0
    return ArmResult(arm=NAME, status=str(report.status), objective_cny=report.objective_cny,
                     mip_gap=report.mip_gap, phases=phases, **sizes), solution
