"""The product as users call it: build, hand over to HiGHS, solve, extract the results.

Variants (``models.optimize``):

- ``product``: the default, as ``vpp dispatch`` and the service run it: the matrix
  engine, exclusivity binaries only where a solution needs them;
- ``product-pyomo``: the same through the Pyomo model (``--engine pyomo``): build
  in Pyomo, compile with Pyomo's standard-form compiler; the modelling layer's cost;
- ``product-spec``: binaries on every battery step and grid step, as model.md writes them;
- ``product-spec-cut``: as ``product-spec`` plus the valid cut ch/Pch + dis/Pdis ≤ 1.

``extract`` covers what a user gets back: per-step values, the tidy table and the totals.
"""

from __future__ import annotations

import time
from functools import partial

from benchmarks.arms import ArmResult, Settings
from models import Engine, Exclusivity, SolveOptions, extract, optimize
from vpp.case import Case
from vpp.errors import SolverError
from vpp.results import make_result


def supports(case: Case) -> str | None:
    return None


def run(case: Case, settings: Settings, *, name: str = "product", exclusivity: Exclusivity = "lazy",
        storage_cut: bool = False, engine: Engine = "matrix") -> ArmResult:
    options = SolveOptions(mip_gap=settings.mip_gap, time_limit_s=settings.time_limit_s, threads=settings.threads)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        built, report = optimize(case, options, exclusivity, storage_cut, engine)
    except SolverError as exc:  # the time it took to fail is a measurement too
        return ArmResult(arm=name, status=exc.status, objective_cny=None, mip_gap=None, note=str(exc),
                         phases={"solve": time.perf_counter() - wall}, cpu_seconds=time.process_time() - cpu)
    t0 = time.perf_counter()
    make_result(case, report, extract(built), built.build_seconds)
    return ArmResult(
        arm=name,
        status=str(report.status),
        objective_cny=report.objective_cny,
        mip_gap=report.mip_gap,
        phases={
            "build": built.build_seconds,
            "handover": report.handover_seconds,
            "solve": report.solve_seconds,
            "extract": time.perf_counter() - t0,
        },
        variables=report.variables,
        constraints=report.constraints,
        binaries=report.binaries,
        nonzeros=report.nonzeros,
        note=f"{report.rounds} round(s)" if report.rounds > 1 else "",
        cpu_seconds=time.process_time() - cpu,
    )


VARIANTS = {
    "product": partial(run, name="product", exclusivity="lazy"),
    "product-pyomo": partial(run, name="product-pyomo", exclusivity="lazy", engine="pyomo"),
    "product-spec": partial(run, name="product-spec", exclusivity="spec"),
    "product-spec-cut": partial(run, name="product-spec-cut", exclusivity="spec", storage_cut=True),
}
