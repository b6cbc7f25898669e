"""Time the outage study of a TEDA east day: where a simulation's time goes, serial against a local Dask cluster.

    python -m benchmarks.outage_study [--date 2026-07-15] [--hours 4] [--backup-hours 1] [--workers 2]
                                      [--out benchmarks/results/outage]

The day is the built-in case (96 quarter-hours) dispatched with a backup reserve;
the study simulates an outage of up to ``--hours`` from each of its steps, with
the reserve and without it (the day solved again). Runs:

1. serial, in this process, every solve of the simulations timed by phase
   (case validation, model build, hand-over to HiGHS, HiGHS, reading the
   solution, the result's tables): the canonical-case route's cost per solve,
   and how much of it a single LP per start written directly for HiGHS would
   save (only the HiGHS phase would remain, and one solve per start instead
   of the bisection's);
2. a local Dask cluster of ``--workers`` single-threaded processes (start-up
   timed apart), checked to give the same study as run 1.

Writes ``outage_study.json`` and ``outage_study.md`` into ``--out``. CPU
seconds (``time.process_time``) are given beside wall-clock seconds, which a
busy machine stretches.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import vpp.dispatch
from models import SolveOptions
from vpp.cases import materialize
from vpp.coalitions import Pool
from vpp.microgrid import with_backup_hours
from vpp.microgrid.study import Dispatched, outage_study


def _timed_solves(record: list[dict[str, float]]) -> Any:
    """A stand-in for :func:`vpp.dispatch.solve_case` that records each solve's phases."""
    original = vpp.dispatch.solve_case

    def solve(case: Any, options: Any = None, *args: Any, **kw: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = original(case, options, *args, **kw)
        s = result.summary
        record.append({"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                       "build_s": s["build_seconds"], "handover_s": s["handover_seconds"],
                       "highs_s": s["solve_seconds"], "extract_s": s["extract_seconds"]})
        return result

    return original, solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--date", default="2026-07-15")
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--backup-hours", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/outage"))
    args = ap.parse_args()

    options = SolveOptions(mip_gap=1e-4, time_limit_s=120, threads=1)
    case = with_backup_hours(materialize("teda-east", args.date), args.backup_hours)
    day = vpp.dispatch.solve_case(case, options)
    dispatched = Dispatched(case, day.schedule, day.objective_cny, day.report.mip_gap)

    record: list[dict[str, float]] = []
    original, timed = _timed_solves(record)
    vpp.dispatch.solve_case = timed
    import vpp.microgrid.study as study_module  # the simulations import solve_case from vpp.dispatch as they run

    study_module.solve_case = timed
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        serial = outage_study(dispatched, args.hours, options=options)
    finally:
        vpp.dispatch.solve_case = original
        study_module.solve_case = original
    serial_wall, serial_cpu = time.perf_counter() - wall, time.process_time() - cpu
    day_solves, sims = record[:1], record[1:]  # the day solved again without the reserve, then the simulations

    t0 = time.perf_counter()
    with Pool("local", args.workers) as pool:
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        parallel = outage_study(dispatched, args.hours, options=options, pool=pool)
        parallel_wall = time.perf_counter() - t1
    same = [v.starts.to_dict("records") for v in serial.variants] == [v.starts.to_dict("records") for v in parallel.variants]

    starts = sum(len(v.starts) for v in serial.variants)
    phases = {k: sum(r[k] for r in sims) for k in ("wall_s", "cpu_s", "build_s", "handover_s", "highs_s", "extract_s")}
    phases["validation_and_tables_s"] = phases["wall_s"] - sum(phases[k] for k in ("build_s", "handover_s", "highs_s",
                                                                                    "extract_s"))
    one_lp = phases["highs_s"] / len(sims) * starts  # one HiGHS solve per start, nothing else
    report = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average": os.getloadavg()},
        "case": f"teda-east {args.date}, 96 × 15 min, backup reserve {args.backup_hours:g} h",
        "hours": args.hours, "starts_simulated": starts, "simulation_solves": len(sims),
        "solves_per_start": len(sims) / starts,
        "serial": {"wall_s": serial_wall, "cpu_s": serial_cpu, "day_solved_again_wall_s": sum(r["wall_s"] for r in day_solves)},
        "per_solve_ms": {k.removesuffix("_s"): 1000 * v / len(sims) for k, v in phases.items()},
        "share_of_simulation_wall": {k.removesuffix("_s"): v / phases["wall_s"] for k, v in phases.items() if k != "wall_s"},
        "one_lp_per_start_estimate_s": one_lp,
        "local_cluster": {"workers": args.workers, "startup_s": startup, "wall_s": parallel_wall, "same_study": same},
        "reserve_cost_cny": serial.reserve_cost_cny,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "outage_study.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    ms = report["per_solve_ms"]
    lines = [
        "# Outage study of a TEDA east day", "",
        f"{report['case']}; outages of up to {args.hours:g} h from each step, with and without the reserve: "
        f"{starts} starts, {len(sims)} solves of simulation cases ({report['solves_per_start']:.2f} a start). "
        f"Load average while measured: {', '.join(f'{x:.1f}' for x in report['machine']['load_average'])} on "
        f"{report['machine']['cpus']} cores.", "",
        "| | seconds |", "|---|---|",
        f"| serial, wall (CPU) | {serial_wall:.1f} ({serial_cpu:.1f}) |",
        f"| local Dask cluster, {args.workers} workers: start-up, study | {startup:.1f}, {parallel_wall:.1f} |",
        f"| one LP per start, HiGHS time only (estimate) | {one_lp:.1f} |", "",
        "| phase of one simulation solve | ms |", "|---|---|",
        *(f"| {k.replace('_', ' ')} | {v:.1f} |" for k, v in ms.items()), "",
        f"The local cluster gives the same study: {same}.", "",
    ]
    (args.out / "outage_study.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
