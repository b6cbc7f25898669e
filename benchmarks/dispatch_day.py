"""Time one day-ahead dispatch, phase by phase, over repeated runs.

    python -m benchmarks.dispatch_day [--case teda-east] [--date 2026-07-15] [--repeats 5] [--engine matrix|pyomo]
                                      [--out benchmarks/results]

The day as ``vpp dispatch`` runs it (``models.optimize``: lazy exclusivity binaries).
Phases: materialise (template → canonical case), build (the standard form, or the
Pyomo model with ``--engine pyomo``), hand-over (passModel, plus Pyomo's compile),
solve (HiGHS run, every round), extract (values → tables and totals), write (CSV,
Parquet, JSON, PNG). Reports the median, min and max of
each phase, the model's size, and the process's peak resident memory. Writes
``<case>-day.json`` and ``<case>-day.md`` and the day's chart into ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from models import SolveOptions, extract, optimize
from vpp.cases import parse_date, resolve_case
from vpp.results import make_result, write_outputs

PHASES = ("materialise", "build", "handover", "solve", "extract", "write")


def run_once(case_name: str, date: dt.date | None, options: SolveOptions, out_dir: Path, engine: str = "matrix") -> dict:
    t0 = time.perf_counter()
    case = resolve_case(case_name, date)
    t1 = time.perf_counter()
    built, report = optimize(case, options, engine=engine)  # type: ignore[arg-type]
    t2 = time.perf_counter()
    solution = extract(built)
    result = make_result(case, report, solution, built.build_seconds)
    t3 = time.perf_counter()
    write_outputs(result, out_dir)
    t4 = time.perf_counter()
    return {
        "materialise": t1 - t0,
        "build": built.build_seconds,
        "handover": report.handover_seconds,
        "solve": report.solve_seconds,
        "extract": t3 - t2,
        "write": t4 - t3,
        "build_plus_solve": (t2 - t1),
        "case_to_written_schedule": t4 - t0,
        "objective_cny": report.objective_cny,
        "status": str(report.status),
        "mip_gap": report.mip_gap,
        "size": {k: getattr(report, k) for k in ("variables", "constraints", "binaries", "nonzeros")},
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", default="teda-east")
    ap.add_argument("--date", default="2026-07-15")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--mip-gap", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--engine", choices=["matrix", "pyomo"], default="matrix")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args(argv)
    date = parse_date(args.date) if args.date else None
    options = SolveOptions(mip_gap=args.mip_gap, threads=args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats + 1):  # the first run warms imports and caches; not counted
            runs.append(run_once(args.case, date, options, Path(tmp), args.engine))
        shutil.copy(Path(tmp) / "dispatch.png", args.out / f"{args.case}-dispatch.png")
    runs = runs[1:]
    keys = [*PHASES, "build_plus_solve", "case_to_written_schedule"]
    stats = {
        k: {
            "median_s": statistics.median(r[k] for r in runs),
            "min_s": min(r[k] for r in runs),
            "max_s": max(r[k] for r in runs),
        }
        for k in keys
    }
    objectives = {round(r["objective_cny"], 2) for r in runs}
    record = {
        "case": args.case,
        "date": args.date,
        "repeats": args.repeats,
        "mip_gap_target": args.mip_gap,
        "threads": args.threads,
        "engine": args.engine,
        "status": runs[-1]["status"],
        "objective_cny": runs[-1]["objective_cny"],
        "objectives_seen": sorted(objectives),
        "mip_gap": runs[-1]["mip_gap"],
        "size": runs[-1]["size"],
        "phases": stats,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(), "platform": platform.platform()},
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    (args.out / f"{args.case}-day.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"# {args.case} {args.date}: one day-ahead dispatch ({args.engine} engine), {args.repeats} runs (after one warm-up)",
        "",
        f"Status {record['status']}, objective {record['objective_cny']:,.2f} CNY, gap {record['mip_gap']:.2e}; "
        f"{record['size']['variables']} variables, {record['size']['constraints']} constraints, "
        f"{record['size']['binaries']} binaries, {record['size']['nonzeros']} nonzeros; peak RSS {record['peak_rss_mib']:.0f} MiB.",
        "",
        "| phase | median [s] | min [s] | max [s] |",
        "|---|---:|---:|---:|",
        *(f"| {k} | {v['median_s']:.3f} | {v['min_s']:.3f} | {v['max_s']:.3f} |" for k, v in stats.items()),
        "",
    ]
    (args.out / f"{args.case}-day.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return record


if __name__ == "__main__":
    main()
