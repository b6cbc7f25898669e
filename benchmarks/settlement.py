"""Time the settlement of TEDA east's participants, phase by phase, over repeated runs.

    python -m benchmarks.settlement [--date 2026-07-16] [--history-days 5] [--repeats 5] [--out benchmarks/results]

Solves the template for the event day and, with ``--history-days K``, for the K
working days before it without the event (their schedules are the event day's
history, so its baselines come from history rather than from the stand-in; the
template calls its event every day, real events come on a few days a year), then times what
``vpp settle`` does with those folders: read the days, settle them (on the event day
alone: the no-VPP stand-in solve included), write the tables and the HTML
statements, and the PDF statements on their own. Reports the median, min and max
of each phase and writes ``settlement.json`` and ``settlement.md`` into ``--out``.
Quote the figures with the machine's load: they are wall-clock times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from vpp.cases import parse_date
from vpp.cases.teda_east import materialize
from vpp.dispatch import solve_case
from vpp.results import write_outputs
from vpp.settlement import is_working_day, load_rules, read_solved_day, settle
from vpp.statements import pdf_available, write_settlement

PHASES = ("read", "settle", "write", "pdf")


def _days_before(day: dt.date, count: int) -> list[dt.date]:
    out, d = [], day
    while len(out) < count:
        d -= dt.timedelta(days=1)
        if is_working_day(d) == is_working_day(day):
            out.append(d)
    return sorted(out)


def run(date: dt.date, history_days: int, repeats: int, work: Path) -> dict:
    folders = []
    for d in [*_days_before(date, history_days), date]:
        folder = work / d.isoformat()
        case = materialize(d, demand_response=d == date)
        write_outputs(solve_case(case), folder, chart=False)
        folders.append(folder)
    rules = load_rules()
    pdf = pdf_available()
    times: dict[str, list[float]] = {p: [] for p in PHASES}
    result = None
    for r in range(repeats):
        t0 = time.perf_counter()
        days = [read_solved_day(f) for f in folders]
        t1 = time.perf_counter()
        result = settle(days, rules)
        t2 = time.perf_counter()
        write_settlement(result, work / f"out-{r}", pdf=False)
        t3 = time.perf_counter()
        times["read"].append(t1 - t0)
        times["settle"].append(t2 - t1)
        times["write"].append(t3 - t2)
        if pdf:
            write_settlement(result, work / f"pdf-{r}", pdf=True)
            times["pdf"].append(time.perf_counter() - t3)
    assert result is not None
    event_rows = [x for x in result.responses if x["date"] == date.isoformat()]
    return {
        "case": "teda-east", "date": date.isoformat(), "days_settled": len(folders),
        "participants": len(result.participants),
        "baselines": sorted({x["baseline_source"].split(":")[0] for x in event_rows}),
        "repeats": repeats,
        "phases_s": {p: {"median": statistics.median(v), "min": min(v), "max": max(v)} for p, v in times.items() if v},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_average": os.getloadavg()},
    }


def markdown(r: dict) -> str:
    lines = [f"# Settlement of TEDA east's participants ({r['date']}, {r['days_settled']} day(s), "
             f"{r['participants']} participants)", "",
             f"Baselines on the event day: {', '.join(r['baselines'])}. {r['repeats']} runs; wall-clock seconds; "
             f"load average {', '.join(f'{x:.1f}' for x in r['machine']['load_average'])} on "
             f"{r['machine']['cpus']} CPUs (a shared machine: the figures are upper bounds).", "",
             "| phase | median [s] | min [s] | max [s] |", "|---|---|---|---|"]
    for p, v in r["phases_s"].items():
        lines.append(f"| {p} | {v['median']:.3f} | {v['min']:.3f} | {v['max']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--date", default="2026-07-16")
    ap.add_argument("--history-days", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = run(parse_date(a.date), a.history_days, a.repeats, Path(tmp))
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "settlement.json").write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    (a.out / "settlement.md").write_text(markdown(r), encoding="utf-8")
    print(markdown(r))


if __name__ == "__main__":
    main()
