"""A stochastic case solved by scenario decomposition (:mod:`vpp.decomposition`), in this process or on Dask.

Variants: ``decomposition`` (every scenario solve here, one after another) and
``decomposition-2w`` (on a local Dask cluster of two single-threaded worker
processes, started and stopped inside the timed run). The whole decomposition is
timed as ``solve`` and the step that turns the plan into the schedule of every
scenario (put together from the scenario solves, or the extensive form solved
with the plan held) as ``extract``. The gap is the decomposition's; the CPU time
is this process's and the workers'.
"""

from __future__ import annotations

import time
from functools import partial

from benchmarks.arms import ArmResult, Settings
from models import SolveOptions
from vpp.case import Case
from vpp.decomposition import decomposable, solve_decomposed
from vpp.errors import SolverError


def supports(case: Case) -> str | None:
    reason = decomposable(case)
    if reason is None and len(case.scenarios or []) < 2:
        return "one scenario: nothing to decompose"
    return reason


def run(case: Case, settings: Settings, *, name: str = "decomposition", workers: int = 1) -> ArmResult:
    options = SolveOptions(mip_gap=settings.mip_gap, time_limit_s=settings.time_limit_s, threads=settings.threads)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        result, info = solve_decomposed(case, options, workers=workers)
    except SolverError as exc:  # the time it took to fail is a measurement too (this process's CPU only)
        return ArmResult(arm=name, status=exc.status, objective_cny=None, mip_gap=None, note=str(exc),
                         phases={"solve": time.perf_counter() - wall}, cpu_seconds=time.process_time() - cpu)
    s = info.seconds
    report = result.report
    return ArmResult(
        arm=name,
        status=result.summary["status"],
        objective_cny=result.objective_cny,
        mip_gap=info.gap,
        phases={"build": 0.0, "handover": 0.0, "solve": s["total"] - s["final"], "extract": s["final"]},
        variables=report.variables,
        constraints=report.constraints,
        binaries=report.binaries,
        nonzeros=report.nonzeros,
        note=(f"{info.method.split(':')[0]}: {info.subproblem_solves} scenario solves, {info.iterations} round(s); "
              + ", ".join(f"{k.replace('_', ' ')} {v:.1f} s" for k, v in s.items() if k != "total")),
        cpu_seconds=time.process_time() - cpu + info.worker_cpu_seconds,
    )


VARIANTS = {
    "decomposition": partial(run, name="decomposition", workers=1),
    "decomposition-2w": partial(run, name="decomposition-2w", workers=2),
}
