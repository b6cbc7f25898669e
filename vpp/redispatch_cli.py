"""``vpp redispatch``: re-solve the rest of a day from the measured state against the declared plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from rich.markup import escape

from vpp.cli_common import err, fail, out
from vpp.errors import CaseError, SolverError

if TYPE_CHECKING:
    from vpp.case import Case

DEFAULT_URL = "http://127.0.0.1:8000"


def redispatch(
    plan: Annotated[str, typer.Option(metavar="FOLDER|SCHEDULE_ID", help="The day-ahead plan: a folder written by vpp dispatch --out, or the id of a schedule stored by the service (read over HTTP from --url).")],
    at: Annotated[str, typer.Option("--from", metavar="HH:MM", help="Re-dispatch from this step boundary (local time of the plan) to the end of the day.")],
    state: Annotated[Path | None, typer.Option(metavar="FILE", help="The state measured at --from (.json/.yaml): storage levels, energy delivered, processes started, events joined, the month's peak.")] = None,
    case: Annotated[str | None, typer.Option(metavar="NAME|FILE", help="The day's case to re-solve with, e.g. an updated forecast: a built-in case (materialised for the plan's date) or a case file; default the plan's own.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder for the output files.")] = Path("out-redispatch"),
    write_state: Annotated[Path | None, typer.Option(metavar="FILE", help="Write the state the plan expects at --from (a template to fill with the measured values) and stop.")] = None,
    url: Annotated[str, typer.Option(envvar="VPP_URL", help="The scheduling service, for a SCHEDULE_ID plan.")] = DEFAULT_URL,
    token: Annotated[str | None, typer.Option(envvar="VPP_TOKEN", help="A viewer's token of the service, for a SCHEDULE_ID plan.")] = None,
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap at which to stop.")] = 1e-4,
    time_limit: Annotated[float, typer.Option(help="Solver time limit [s].")] = 60.0,
    threads: Annotated[int | None, typer.Option(help="HiGHS threads (default: HiGHS decides).")] = None,
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Draw dispatch.png.")] = True,
    solver_log: Annotated[bool, typer.Option("--solver-log/--no-solver-log", help="Show HiGHS's log.")] = False,
) -> None:
    """Re-solve the rest of the day from the measured state against the declared plan, with deviation charges.

    Writes what vpp dispatch writes (schedule.csv/.parquet, curve.csv, summary.json,
    case.json, dispatch.png) for the steps from --from on.
    """
    from models import SolveOptions
    from vpp.cli import _print_summary as print_summary
    from vpp.cli import print_assumptions
    from vpp.redispatch import from_step, planned_state, read_plan, read_state, redispatch_case
    from vpp.results import write_outputs

    if state is None and write_state is None:
        raise typer.BadParameter("give the measured state (or --write-state FILE for a template of it)",
                                 param_hint="--state")
    try:
        options = SolveOptions(mip_gap=mip_gap, time_limit_s=time_limit, threads=threads, log=solver_log)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        the_plan = read_plan(plan, url, token)
        k = from_step(the_plan.case, at, "--from")
        if write_state is not None:
            _write(planned_state(the_plan, k), write_state)
            out.print(f"wrote {write_state}: the state the plan expects at {at}", highlight=False, markup=False)
            return
        assert state is not None
        day = _day_case(case, the_plan.case) if case is not None else None
        rest = redispatch_case(the_plan, k, read_state(state), case=day, at=at)
    except CaseError as exc:
        fail(exc)
    from vpp.dispatch import solve_case

    try:
        result = solve_case(rest, options)
    except SolverError as exc:
        err.print(f"[bold red]no schedule[/] ({exc.status}): {exc}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    paths = write_outputs(result, out_dir, chart=chart)
    print_summary(result.summary)
    print_assumptions(result.case.meta or {})
    info = (result.case.meta or {}).get("redispatch", {})
    curve, dt_h = result.curve(), result.case.dt_hours
    short, long = (float(curve[f"grid.deviation_{side}_mw"].sum() * dt_h) for side in ("short", "long"))
    out.print(f"deviation from the declared plan: {short:,.3f} MWh above, {long:,.3f} MWh below, "
              f"{result.summary['cost_cny'].get('deviation', 0.0):,.0f} CNY", highlight=False, markup=False)
    out.print(f"declared plan: {info.get('declared_plan')}; deviation prices: {info.get('deviation')}",
              highlight=False, markup=False)
    for note in info.get("notes", []):
        out.print(f"[yellow]![/] {escape(note)}", highlight=False)
    out.print(f"wrote {', '.join(str(p) for p in paths.values())}", highlight=False)


def _day_case(spec: str, plan_case: Case) -> Case:
    """--case: a built-in case materialised for the plan's date, or a case file."""
    from vpp.cases import Template, case_source, read_case

    source = case_source(spec, where="--case")
    if isinstance(source, Template):
        return source.materialize(source.day(plan_case.start.date()))
    return read_case(source)


def _write(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".yaml", ".yml"):
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
