"""Time a full TEDA east year of day-ahead dispatch: serial against a local Dask cluster.

    python -m benchmarks.sizing_year [--year 2025] [--workers 2] [--out benchmarks/results/sizing]

The year is the sizing study's: 365 days of the built-in case (tariff, calendar
and clear-sky PV of each date; load and PV from the shipped SYNTHETIC 2025
history), each solved with the product's model at the case's storage
(26.75 MW / 53.5 MWh over the four substations), split into months whose
first day starts half full. Runs:

1. serial, in this process (materialise and solve every day), the days of a
   month changing one HiGHS model in place (:mod:`models.resolve`), and again
   building and solving every day afresh (``in_place=False``): wall-clock and
   this process's CPU time, and whether the two tables give the same costs;
2. a local Dask cluster of ``--workers`` single-threaded worker processes
   (cluster start-up timed apart), the same twelve month tasks;
3. serial again as one 365-day chain (``chunk="none"``), to measure what
   starting each month half full changes.

Checks that runs 1 and 2 give the same table bit for bit, and writes
``year.json`` and ``year.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import pandas as pd

from vpp.sizing.runner import Runner
from vpp.sizing.schema import load_defaults
from vpp.sizing.study import annual_table
from vpp.sizing.year import RunSettings, candidate_sites, make_day, year_plan


def _annual(table: pd.DataFrame, plan, sizes) -> dict:
    a = annual_table(table, plan, [sizes]).iloc[0]
    keys = ("operating_cost_cny_per_year", "storage_discharge_mwh_per_year", "equivalent_cycles_per_year", "emissions_t_per_year", "renewable_share", "days_failed")
    return {k: (int(a[k]) if k == "days_failed" else float(a[k])) for k in keys}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/sizing"))
    ap.add_argument("--serial-only", action="store_true", help="only run 1 (in place against afresh)")
    args = ap.parse_args(argv)
    defaults, _ = load_defaults()
    plan = year_plan("teda-east", args.year)
    first = make_day(plan.days[0]).case
    sites = candidate_sites(first, None, defaults)
    bats = {a.id: a for a in first.assets if a.type == "battery"}
    sizes = {s.id: (float(bats[s.battery_id].power_mw), bats[s.battery_id].energy_mwh) for s in sites}
    settings = RunSettings()
    result: dict = {"year": args.year, "days": len(plan.days), "storage": sizes, "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(), "note": "2 cores shared with other work; times are wall-clock",
        "load_average_1min_at_start": os.getloadavg()[0]}}

    t0, c0 = time.perf_counter(), time.process_time()
    with Runner("serial") as runner:
        serial, tm = runner.run(plan, sites, [sizes], settings)
    totals = (sum(p for p, _ in sizes.values()), sum(e for _, e in sizes.values()), sizes)
    result["serial"] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                        "routes": serial["solve_route"].value_counts().to_dict(), "annual": _annual(serial, plan, totals)}
    print("serial", result["serial"], flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    with Runner("serial") as runner:
        afresh, _ = runner.run(plan, sites, [sizes], RunSettings(in_place=False))
    result["serial_afresh"] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                               "annual": _annual(afresh, plan, totals),
                               "largest_day_cost_difference_cny": float((serial["objective_cny"] - afresh["objective_cny"]).abs().max())}
    print("serial afresh", result["serial_afresh"], flush=True)
    if args.serial_only:
        return _write(args, plan, result)

    t0 = time.perf_counter()
    with Runner("local", workers=args.workers) as runner:
        start = time.perf_counter() - t0
        t1 = time.perf_counter()
        dask, tm = runner.run(plan, sites, [sizes], settings)
        run_s = time.perf_counter() - t1
    result["dask"] = {"workers": args.workers, "cluster_start_s": start, "wall_s": run_s, "wall_with_start_s": time.perf_counter() - t0,
                      "identical_to_serial": bool(serial.equals(dask))}
    print("dask", result["dask"], flush=True)

    plan_chain = year_plan("teda-east", args.year, chunk="none")
    t0 = time.perf_counter()
    with Runner("serial") as runner:
        chain, _ = runner.run(plan_chain, sites, [sizes], settings)
    result["one_chain"] = {"wall_s": time.perf_counter() - t0, "annual": _annual(chain, plan_chain, totals)}
    m, c = result["serial"]["annual"]["operating_cost_cny_per_year"], result["one_chain"]["annual"]["operating_cost_cny_per_year"]
    result["month_chunks_vs_one_chain"] = {"operating_cost_difference_cny": m - c, "difference_fraction": (m - c) / c,
                                           "days_whose_start_differs": int((serial["soc_start_mwh"] - chain["soc_start_mwh"]).abs().gt(1e-6).sum())}
    print("chain", result["one_chain"], result["month_chunks_vs_one_chain"], flush=True)

    return _write(args, plan, result)


def _write(args: argparse.Namespace, plan, result: dict) -> dict:
    result["machine"]["load_average_1min_at_end"] = os.getloadavg()[0]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "year.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    s, a = result["serial"], result["serial_afresh"]
    md = [
        f"# A full TEDA east year ({args.year}, {len(plan.days)} days) at the case's storage",
        "",
        "| run | wall-clock [s] | CPU of this process [s] | per day [s] |",
        "|---|---:|---:|---:|",
        f"| serial, one HiGHS model a month changed in place | {s['wall_s']:.1f} | {s['cpu_s']:.1f} | {s['wall_s'] / len(plan.days):.3f} |",
        f"| serial, every day built and solved afresh | {a['wall_s']:.1f} | {a['cpu_s']:.1f} | {a['wall_s'] / len(plan.days):.3f} |",
        "",
        f"Routes in place: {s['routes']}. Largest difference of a day's cost between the two: "
        f"{a['largest_day_cost_difference_cny']:.3g} CNY. Load average (1 min) "
        f"{result['machine']['load_average_1min_at_start']:.1f} at the start, {result['machine']['load_average_1min_at_end']:.1f} at the end.",
        "",
    ]
    if "dask" not in result:
        (args.out / "year.md").write_text("\n".join(md), encoding="utf-8")
        return result
    d = result["dask"]
    md += [
        "| run | wall-clock [s] | per day [s] |",
        "|---|---:|---:|",
        f"| local Dask, {d['workers']} workers (cluster start {d['cluster_start_s']:.1f} s apart) | {d['wall_s']:.1f} | {d['wall_s'] / len(plan.days):.3f} |",
        f"| serial, one 365-day chain | {result['one_chain']['wall_s']:.1f} | {result['one_chain']['wall_s'] / len(plan.days):.3f} |",
        "",
        f"Dask table identical to the serial one: {d['identical_to_serial']}. "
        f"Load average (1 min) {result['machine']['load_average_1min_at_start']:.1f} at the start, "
        f"{result['machine']['load_average_1min_at_end']:.1f} at the end, on {result['machine']['cpus']} cores shared with other work.",
        f"Annual operating cost {s['annual']['operating_cost_cny_per_year']:,.0f} CNY (month chunks) against "
        f"{result['one_chain']['annual']['operating_cost_cny_per_year']:,.0f} CNY (one chain): difference "
        f"{result['month_chunks_vs_one_chain']['operating_cost_difference_cny']:,.0f} CNY; "
        f"{result['month_chunks_vs_one_chain']['days_whose_start_differs']} days start from a different level.",
        "",
    ]
    (args.out / "year.md").write_text("\n".join(md), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
