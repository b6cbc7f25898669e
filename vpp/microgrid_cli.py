"""``vpp outage``: what an outage of the supply point would cost, at every step of a dispatched day.

Exit codes: 0 done; 2 bad input.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vpp.cli_common import err, fail, out
from vpp.errors import CaseError

#: From this many simulated start steps on, ``--scheduler auto`` runs them in local worker processes.
PARALLEL_FROM = 64


def outage(
    schedule: Annotated[Path, typer.Option(metavar="FOLDER", help="A folder vpp dispatch wrote (case.json, schedule.parquet, summary.json).")],
    hours: Annotated[float, typer.Option(help="Simulate outages from 1 step up to this many hours [h], starting at every step.")] = 4.0,
    backup_hours: Annotated[float | None, typer.Option(help="The backup reserve to compare [h] (default: the schedule's own); the day is solved again with it and without any.")] = None,
    other_value: Annotated[float | None, typer.Option(metavar="CNY/MWh", help="Price of shedding the non-critical load in an outage [CNY/MWh] (default: a tenth of the value of lost load).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", metavar="FOLDER", help="Folder for outage.json, outage_starts.csv and outage.png (default: FOLDER/outage).")] = None,
    scheduler: Annotated[str, typer.Option(help=f"auto (local worker processes from {PARALLEL_FROM} simulated starts on, when there are several cores, else serial), serial, processes, local (a local Dask cluster), or a Dask cluster tcp://HOST:PORT.")] = "auto",
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap of the day solved again with or without the reserve.")] = 1e-4,
    time_limit: Annotated[float, typer.Option(help="Solver time limit of that day [s].")] = 60.0,
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Draw outage.png.")] = True,
) -> None:
    """Simulate an outage at every step of a dispatched day: survival curve, critical energy at risk, the reserve's cost."""
    from models import SolveOptions
    from vpp.microgrid.study import outage_study, read_dispatch, write_study
    from vpp.studies_cli import _pool

    try:
        options = SolveOptions(mip_gap=mip_gap, time_limit_s=time_limit, threads=1)
    except ValueError as exc:
        field = str(exc).split(":")[0]
        raise typer.BadParameter(str(exc).split(": ", 1)[-1], param_hint={"mip_gap": "--mip-gap"}.get(field, "--time-limit")) from None
    try:
        day = read_dispatch(schedule, where="--schedule")
    except CaseError as exc:
        fail(exc)
    pairs = 2 if (backup_hours if backup_hours is not None else day.case.backup_hours) is not None else 1
    if scheduler == "auto":
        many = day.case.steps * pairs >= PARALLEL_FROM and (os.cpu_count() or 1) > 1
        scheduler = "processes" if many else "serial"
    pool = _pool(scheduler, workers)
    progress = Progress(TextColumn("outages"), BarColumn(), MofNCompleteColumn(), TextColumn("start steps"),
                        TimeElapsedColumn(), console=err, transient=True)
    task = progress.add_task("outages", total=day.case.steps * pairs)
    done = [0, 0]  # start steps of the schedules finished, of the one running

    def tick(n: int, total: int) -> None:
        if n < done[1]:
            done[0] += done[1]
        done[1] = n
        progress.update(task, completed=done[0] + n)

    try:
        with progress, pool:
            study = outage_study(day, hours, backup_hours=backup_hours, other_cny_per_mwh=other_value,
                                 options=options, pool=pool, progress=tick,
                                 where=("--hours", "--backup-hours", "--other-value"))
    except CaseError as exc:
        fail(exc)
    paths = write_study(study, out_dir or Path(schedule) / "outage", chart=chart)
    _print(study)
    out.print(f"wrote {', '.join(str(p) for p in paths.values())}", highlight=False)


def _print(study: object) -> None:
    from vpp.microgrid.study import OutageStudy

    assert isinstance(study, OutageStudy)
    s = study.to_dict()
    c = study.case
    t = Table(title=escape(f"outages of up to {study.hours:g} h from each of the {c.steps} steps of {c.name} "
                           f"{c.start:%Y-%m-%d}"))
    t.add_column("")
    for v in study.variants:
        t.add_column(escape(v.label), justify="right")

    def row(label: str, *cells: str) -> None:
        t.add_row(escape(label), *cells)

    row("day's cost [CNY]", *(f"{v.objective_cny:,.0f}" for v in study.variants))
    curves = [v.curve() for v in study.variants]
    for i, h in enumerate(curves[0]["length_hours"]):
        if i == 0 or abs(h - round(h)) < 1e-9:
            row(f"carried through {h:g} h", *(f"{100 * cv['share_survived'][i]:.0f} %" for cv in curves))
    row("mean time carried [h]", *(f"{v.starts['survived_hours'].mean():.2f}" for v in study.variants))
    row(f"critical energy at risk, mean [MWh] ({study.hours:g} h outage)",
              *(f"{v.starts['critical_at_risk_mwh'].mean():,.1f}" for v in study.variants))
    row("outage cost, mean [CNY]", *(f"{v.starts['outage_cost_cny'].mean():,.0f}" for v in study.variants))
    out.print(t)
    if s["reserve_cost_cny"] is not None:
        line = f"the reserve costs {s['reserve_cost_cny']:,.0f} CNY on the day (± {s['reserve_cost_uncertainty_cny']:,.0f} from the MIP gaps)"
        p = s["break_even_outage_probability"]
        if p is not None:
            line += (f"; it saves {s['outage_cost_saved_cny']:,.0f} CNY on an outage of {study.hours:g} h from a random "
                     "step, so it pays for itself when the day's chance of such an outage is above "
                     + (f"{100 * p:.2g} %" if p <= 1 else "1 (never, on the outage's cost alone)"))
        out.print(line, highlight=False, markup=False)
    out.print(f"shedding the non-critical load priced at {study.other_cny_per_mwh:,.0f} CNY/MWh, critical load at the value "
              f"of lost load ({c.voll_cny_per_mwh:,.0f} CNY/MWh); {c.step_minutes}-minute steps", highlight=False)
    for note in study.notes:
        out.print(f"[yellow]![/] {escape(note)}", highlight=False)
