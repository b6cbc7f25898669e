"""Time a full TEDA east year of day-ahead dispatch: in place against afresh, serial against a local Dask cluster.

    python -m benchmarks.sizing_year [--year 2025] [--workers 2] [--out benchmarks/results/sizing]
    python -m benchmarks.sizing_year --route in-place|afresh   # one serial year, to time the whole process

The year is the sizing study's: 365 days of the built-in case (tariff, calendar
and clear-sky PV of each date; load and PV from the shipped SYNTHETIC 2025
history), each solved with the product's model at the case's storage
(26.75 MW / 53.5 MWh over the four substations), split into months whose
first day starts half full. Runs:

1. serial, in this process (materialise and solve every day), the days of a
   month changing one HiGHS model in place (:mod:`models.resolve`, the
   default), and again building and solving every day afresh
   (``in_place=False``): wall-clock and this process's CPU time, the routes the
   days took, and the two tables compared day by day (each day is within the
   1e-4 MIP gap of its optimum either way, so two days may differ by up to about
   twice that; the month's peak so far and the storage level carry a day's
   difference into the next days);
2. a local Dask cluster of ``--workers`` single-threaded worker processes
   (cluster start-up timed apart), the same twelve month tasks;
3. serial again as one 365-day chain (``chunk="none"``), to measure what
   starting each month half full changes.

Checks that runs 1 and 2 give the same table bit for bit, and writes
``year.json`` and ``year.md`` into ``--out``. The machine is shared: the load
average is recorded at the start and the end of each run, and CPU time is
quoted beside wall-clock.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vpp.sizing.runner import Runner
from vpp.sizing.schema import load_defaults
from vpp.sizing.study import annual_table
from vpp.sizing.year import RunSettings, candidate_sites, make_day, year_plan


def _annual(table: pd.DataFrame, plan, sizes) -> dict:
    a = annual_table(table, plan, [sizes]).iloc[0]
    keys = ("operating_cost_cny_per_year", "storage_discharge_mwh_per_year", "equivalent_cycles_per_year", "emissions_t_per_year", "renewable_share", "days_failed")
    return {k: (int(a[k]) if k == "days_failed" else float(a[k])) for k in keys}


def _timed(plan, sites, sizes, settings: RunSettings) -> tuple[pd.DataFrame, dict]:
    """One serial run: the table, and wall-clock, CPU [s] and the 1-minute load average at both ends."""
    load0, t0, c0 = os.getloadavg()[0], time.perf_counter(), time.process_time()
    with Runner("serial") as runner:
        table, _ = runner.run(plan, sites, [sizes], settings)
    return table, {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                   "load_average_1min": [load0, os.getloadavg()[0]]}


def compare_days(warm: pd.DataFrame, cold: pd.DataFrame) -> dict:
    """The day-by-day difference of two tables' costs [CNY]: largest absolute and relative, and the sum.

    A day starts from what the day before left (its storage level, the month's peak so far), so a
    schedule one route picks within the gap can hand the next day other inputs: the days whose
    inputs are the same in both tables are counted apart (their costs are within the gap of one
    optimum, so within about 1e-4 of each other).
    """
    d = warm["objective_cny"].to_numpy() - cold["objective_cny"].to_numpy()
    rel = np.abs(d) / np.abs(cold["objective_cny"].to_numpy())
    k = int(np.argmax(rel))
    same = ((warm["peak_to_date_mw"] - cold["peak_to_date_mw"]).abs().le(1e-6)
            & (warm["soc_start_mwh"] - cold["soc_start_mwh"]).abs().le(1e-6)).to_numpy()
    return {"largest_day_cost_difference_cny": float(np.abs(d).max()),
            "largest_day_cost_difference_relative": float(rel.max()), "day_of_largest_relative": str(cold["date"].iloc[k]),
            "days_differing_by_more_than_1e-4": int((rel > 1e-4).sum()), "sum_of_day_differences_cny": float(d.sum()),
            "days_with_the_same_inputs": int(same.sum()),
            "largest_relative_difference_on_days_with_the_same_inputs": float(rel[same].max()) if same.any() else None,
            "largest_day_mip_gap": [float(warm["mip_gap"].max()), float(cold["mip_gap"].max())]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/sizing"))
    ap.add_argument("--serial-only", action="store_true", help="only run 1 (in place against afresh)")
    ap.add_argument("--route", choices=("in-place", "afresh"), help="only one serial year this way; nothing written")
    args = ap.parse_args(argv)
    defaults, _ = load_defaults()
    plan = year_plan("teda-east", args.year)
    first = make_day(plan.days[0]).case
    sites = candidate_sites(first, None, defaults)
    bats = {a.id: a for a in first.assets if a.type == "battery"}
    sizes = {s.id: (float(bats[s.battery_id].power_mw), bats[s.battery_id].energy_mwh) for s in sites}
    totals = (sum(p for p, _ in sizes.values()), sum(e for _, e in sizes.values()), sizes)
    if args.route:
        table, timing = _timed(plan, sites, sizes, RunSettings(in_place=args.route == "in-place"))
        out = {**timing, "routes": table["solve_route"].value_counts().to_dict(), "annual": _annual(table, plan, totals)}
        print(args.route, json.dumps(out), flush=True)
        return out
    result: dict = {"year": args.year, "days": len(plan.days), "storage": sizes, "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(), "note": "2 cores shared with other work",
        "load_average_1min_at_start": os.getloadavg()[0]}}

    serial, timing = _timed(plan, sites, sizes, RunSettings())
    result["serial"] = {**timing, "routes": serial["solve_route"].value_counts().to_dict(),
                        "annual": _annual(serial, plan, totals)}
    print("serial", result["serial"], flush=True)
    afresh, timing = _timed(plan, sites, sizes, RunSettings(in_place=False))
    result["serial_afresh"] = {**timing, "routes": afresh["solve_route"].value_counts().to_dict(),
                               "annual": _annual(afresh, plan, totals), **compare_days(serial, afresh)}
    print("serial afresh", result["serial_afresh"], flush=True)
    if args.serial_only:
        return _write(args, plan, result)

    t0 = time.perf_counter()
    with Runner("local", workers=args.workers) as runner:
        start = time.perf_counter() - t0
        t1 = time.perf_counter()
        dask, _ = runner.run(plan, sites, [sizes], RunSettings())
        run_s = time.perf_counter() - t1
    result["dask"] = {"workers": args.workers, "cluster_start_s": start, "wall_s": run_s, "wall_with_start_s": time.perf_counter() - t0,
                      "identical_to_serial": bool(serial.equals(dask))}
    print("dask", result["dask"], flush=True)

    plan_chain = year_plan("teda-east", args.year, chunk="none")
    chain, timing = _timed(plan_chain, sites, sizes, RunSettings())
    result["one_chain"] = {**timing, "annual": _annual(chain, plan_chain, totals)}
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
    n = len(plan.days)

    def load(run: dict) -> str:
        return "–".join(f"{v:.1f}" for v in run["load_average_1min"])

    md = [
        f"# A full TEDA east year ({args.year}, {n} days) at the case's storage",
        "",
        "| run | wall-clock [s] | CPU of this process [s] | CPU per day [s] | load average (1 min) |",
        "|---|---:|---:|---:|---:|",
        f"| serial, one HiGHS model a month changed in place | {s['wall_s']:.1f} | {s['cpu_s']:.1f} | {s['cpu_s'] / n:.3f} | {load(s)} |",
        f"| serial, every day built and solved afresh | {a['wall_s']:.1f} | {a['cpu_s']:.1f} | {a['cpu_s'] / n:.3f} | {load(a)} |",
        "",
        f"Routes in place: {s['routes']}; afresh: {a['routes']}.",
        f"Annual operating cost {s['annual']['operating_cost_cny_per_year']:,.0f} CNY in place, "
        f"{a['annual']['operating_cost_cny_per_year']:,.0f} CNY afresh; days failed {s['annual']['days_failed']} and "
        f"{a['annual']['days_failed']}.",
        f"Day by day: the largest difference of a day's cost is {a['largest_day_cost_difference_cny']:,.0f} CNY, "
        f"the largest relative one {a['largest_day_cost_difference_relative']:.2e} ({a['day_of_largest_relative']}); "
        f"{a['days_differing_by_more_than_1e-4']} days differ by more than 1e-4; the days' differences add up to "
        f"{a['sum_of_day_differences_cny']:,.0f} CNY. On the {a['days_with_the_same_inputs']} days that start from the "
        "same storage level and peak so far in both runs the largest relative difference is "
        f"{a['largest_relative_difference_on_days_with_the_same_inputs']:.2e}. Largest gap a day was proven to: "
        f"{a['largest_day_mip_gap'][0]:.2e} in place, {a['largest_day_mip_gap'][1]:.2e} afresh (the MIP gap is 1e-4).",
        "",
    ]
    if "dask" in result:
        d = result["dask"]
        md += [
            "| run | wall-clock [s] | per day [s] |",
            "|---|---:|---:|",
            f"| local Dask, {d['workers']} workers (cluster start {d['cluster_start_s']:.1f} s apart) | {d['wall_s']:.1f} | {d['wall_s'] / n:.3f} |",
            f"| serial, one 365-day chain | {result['one_chain']['wall_s']:.1f} | {result['one_chain']['wall_s'] / n:.3f} |",
            "",
            f"Dask table identical to the serial one: {d['identical_to_serial']}. "
            f"Annual operating cost {s['annual']['operating_cost_cny_per_year']:,.0f} CNY (month chunks) against "
            f"{result['one_chain']['annual']['operating_cost_cny_per_year']:,.0f} CNY (one chain): difference "
            f"{result['month_chunks_vs_one_chain']['operating_cost_difference_cny']:,.0f} CNY; "
            f"{result['month_chunks_vs_one_chain']['days_whose_start_differs']} days start from a different level.",
            "",
        ]
    md.append(f"Load average (1 min) {result['machine']['load_average_1min_at_start']:.1f} at the start, "
              f"{result['machine']['load_average_1min_at_end']:.1f} at the end, on {result['machine']['cpus']} cores "
              "shared with other work.")
    (args.out / "year.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
