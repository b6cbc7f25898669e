"""The ``vpp`` command.

Exit codes: 0 done; 1 the solver found no schedule (infeasible, or the time
limit passed without one); 2 bad input (every problem is printed).

Commands installed by other packages join through the ``vpp.commands`` entry
points (a function each, registered under the entry point's name): the
benchmark suites' ``vpp bench`` comes from the ``benchmarks`` package that
way, so the product's command line does not import it.
"""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vpp.cli_common import App, err, fail, option_date, out, plural
from vpp.errors import CaseError, SolverError
from vpp.forecast_cli import app as forecast_app
from vpp.microgrid_cli import outage as outage_command
from vpp.palette import BILL, cost_label
from vpp.redispatch_cli import redispatch as redispatch_command
from vpp.replay_cli import replay as replay_command
from vpp.sizing_cli import size as size_command
from vpp.studies_cli import pareto, settle, worth

ORDER = ("dispatch", "redispatch", "replay", "outage", "case", "forecast", "settle", "worth", "pareto", "size", "serve", "token",
         "bench")
"""The commands in the order of a user's day: schedule, re-dispatch, replay a day, test against outages, look at the case,
forecast, settle, plan, serve, measure."""

app = App(
    order=ORDER,
    help=(
        "Virtual power plant day-ahead dispatch.\n\n"
        "Options that write: --out FOLDER where a command writes several files, "
        "-o/--output FILE where it writes one. Dates are YYYY-MM-DD; the default day "
        "is tomorrow where the case lives (Asia/Shanghai for teda-east). "
        "Yes/no options come in pairs: --chart/--no-chart."
    ),
)
case_app = App(order=("validate", "materialize", "lp-file"), help="Read, check and materialise cases; write the model.")
app.add_typer(case_app, name="case")
app.add_typer(forecast_app, name="forecast")
app.command("size")(size_command)
app.command("redispatch")(redispatch_command)
app.command("replay")(replay_command)
for _command in (settle, worth, pareto):
    app.command()(_command)
app.command("outage")(outage_command)


@app.command()
def dispatch(
    case: Annotated[str, typer.Option(help="Built-in case (teda-east) or a case file (.json/.yaml).")] = "teda-east",
    date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="Day to schedule (built-in cases; default tomorrow in the case's time zone).")] = None,
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap at which to stop.")] = 1e-4,
    time_limit: Annotated[float, typer.Option(help="Solver time limit [s].")] = 60.0,
    threads: Annotated[int | None, typer.Option(help="HiGHS threads (default: HiGHS decides).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder for the output files.")] = Path("out"),
    summary_json: Annotated[Path | None, typer.Option(metavar="FILE", help="Also write the summary to this file.")] = None,
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Draw dispatch.png.")] = True,
    solver_log: Annotated[bool, typer.Option("--solver-log/--no-solver-log", help="Show HiGHS's log.")] = False,
    exclusivity: Annotated[str, typer.Option(help="lazy: exclusivity binaries only where a solution needs them (same optimum); spec: always, as model.md writes them.")] = "lazy",
    weather: Annotated[Path | None, typer.Option(metavar="FILE", help="Weather forecast (CSV/JSON) for PV from the pvlib chain (built-in cases).")] = None,
    load_history: Annotated[Path | None, typer.Option(metavar="FILE", help="District load history [MW] to forecast the load from (built-in cases).")] = None,
    engine: Annotated[str, typer.Option(help="matrix: write the standard form directly (fastest); pyomo: build the Pyomo model and compile it (same optimum).")] = "matrix",
    peak_to_date: Annotated[float | None, typer.Option(metavar="MW", help="The month's maximum demand so far [MW] (built-in cases); default: from the metered history where it covers the month, else the documented profile.")] = None,
    dr_event: Annotated[list[str] | None, typer.Option(metavar="KIND,HH:MM-HH:MM,MW[,CNY_PER_MWH]", help="Add a demand-response event to the day (built-in cases; repeatable): peak_shaving or valley_filling, the local window, the amount [MW] and optionally the price [CNY/MWh], e.g. peak_shaving,20:00-22:00,8.")] = None,
    regulation: Annotated[str, typer.Option(metavar="on|off", help="on: the batteries offer frequency regulation where the case has a market (teda-east does), and the day is solved again without it to say what it earns and costs; off: the market is left out.")] = "on",
    outage: Annotated[str | None, typer.Option(metavar="HH:MM-HH:MM", help="A known outage of the supply point (e.g. a maintenance notice), local time: no import or export then, the district islanded.")] = None,
    backup_hours: Annotated[float | None, typer.Option(metavar="HOURS", help="Keep a backup reserve: the batteries always hold the critical load, less the PV, for this many hours [h].")] = None,
    scenarios: Annotated[int, typer.Option(metavar="K", help="Plan for K scenarios of PV and load drawn from the forecasts (a two-stage stochastic day; built-in cases); 0: the forecast only.")] = 0,
    risk_weight: Annotated[float, typer.Option(metavar="LAMBDA", help="With --scenarios: weight of the CVaR of the scenario costs in the objective.")] = 0.0,
    risk_beta: Annotated[float, typer.Option(metavar="BETA", help="With --scenarios: the CVaR's level (the worst 1 - BETA of the probability).")] = 0.9,
    draws: Annotated[int, typer.Option(help="With --scenarios: days drawn from the forecasts before keeping K of them (k-medoids).")] = 1000,
    scenario_seed: Annotated[int, typer.Option(help="With --scenarios: seed of the draws.")] = 0,
    stochastic_method: Annotated[str, typer.Option(help="With --scenarios: auto (decomposition where it applies), extensive (every scenario in one model) or decomposition (scenarios solved apart).")] = "auto",
    workers: Annotated[int, typer.Option(help="With --scenarios: processes that solve scenarios side by side (Dask).")] = 1,
    value: Annotated[bool, typer.Option("--value/--no-value", help="With --scenarios: also what the uncertainty is worth (VSS, EVPI), in summary.json and scenarios.png.")] = True,
) -> None:
    """Solve a day-ahead schedule and write schedule.csv/.parquet, curve.csv, summary.json, dispatch.png
    (and regulation_bid.csv when the batteries offer frequency regulation)."""
    from models import SolveOptions
    from vpp.cases import resolve_case
    from vpp.dispatch import run_day_ahead
    from vpp.microgrid import plan_microgrid
    from vpp.regulation import write_bid
    from vpp.results import write_outputs, write_summary

    hints = {"mip_gap": "--mip-gap", "time_limit_s": "--time-limit", "threads": "--threads"}
    try:
        options = SolveOptions(mip_gap=mip_gap, time_limit_s=time_limit, threads=threads, log=solver_log)
    except ValueError as exc:
        field = str(exc).split(":")[0]
        raise typer.BadParameter(str(exc).split(": ", 1)[-1], param_hint=hints.get(field, field)) from None
    if exclusivity not in ("lazy", "spec"):
        raise typer.BadParameter(f"expected 'lazy' or 'spec', got {exclusivity!r}", param_hint="--exclusivity")
    if engine not in ("matrix", "pyomo"):
        raise typer.BadParameter(f"expected 'matrix' or 'pyomo', got {engine!r}", param_hint="--engine")
    offer = _regulation_switch(regulation)
    day = option_date(date)
    extra = _template_options(peak_to_date, dr_event)
    stochastic = _stochastic_settings(scenarios, risk_weight, risk_beta, draws, scenario_seed, stochastic_method,
                                      workers)
    try:
        inputs = _forecast_inputs(weather, load_history)
        resolved = plan_microgrid(resolve_case(case, day, **inputs, **extra), outage, backup_hours,
                                  where=("--outage", "--backup-hours"))
        if stochastic is None:
            result = run_day_ahead(resolved, None, options, exclusivity, engine=engine,  # type: ignore[arg-type]
                                   regulation=offer)
        else:
            from vpp.regulation import without_regulation
            from vpp.uncertainty import stochastic_day

            result = stochastic_day(resolved if offer else without_regulation(resolved), None, stochastic, options,
                                    exclusivity, engine, value=value, method=stochastic_method,  # type: ignore[arg-type]
                                    workers=workers, **inputs)
    except CaseError as exc:
        fail(exc)
    except SolverError as exc:
        err.print(f"[bold red]no schedule[/] ({exc.status}): {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    paths = write_outputs(result, out_dir, chart=chart)
    bid = write_bid(result.summary, out_dir)
    if bid is not None:
        paths[bid.name] = bid
    if stochastic is not None and chart:
        from vpp.uncertainty_plot import plot_scenarios

        paths["scenarios.png"] = plot_scenarios(result, out_dir / "scenarios.png")
    if summary_json is not None:
        write_summary(result.summary, summary_json)
    meta = result.case.meta or {}
    _print_summary(result.summary)
    _print_microgrid(result)
    if stochastic is not None:
        from vpp.uncertainty_cli import print_uncertainty

        print_uncertainty(result.summary)
    print_assumptions(meta)
    print_notes(meta)
    for series, source in (meta.get("series_sources") or {}).items():
        out.print(f"{series}: {source}", highlight=False, markup=False)
    out.print(f"wrote {', '.join(str(p) for p in paths.values())}", highlight=False)


def _print_microgrid(result: Any) -> None:
    """The known outage and the backup reserve of the day, when it has them."""
    from vpp.microgrid.islanding import reserve_line

    outage = (result.case.meta or {}).get("outage")
    if outage:
        past = " (it runs past the horizon's end)" if outage["beyond_horizon"] else ""
        out.print(f"islanded {outage['window']}{past}: steps {outage['steps'][0]}-{outage['steps'][1] - 1} "
                  "without import or export", highlight=False, markup=False)
    line = reserve_line(result)
    if line:
        out.print(line, highlight=False, markup=False)


def _stochastic_settings(count: int, weight: float, beta: float, draws: int, seed: int, method: str,
                         workers: int) -> Any:
    """The --scenarios options checked (usage errors naming the option), or None without --scenarios."""
    from vpp.uncertainty import METHODS, ScenarioSettings

    if count < 0:
        raise typer.BadParameter(f"expected a whole number of scenarios >= 0, got {count}", param_hint="--scenarios")
    if method not in METHODS:
        raise typer.BadParameter(f"expected one of {', '.join(METHODS)}, got {method!r}", param_hint="--stochastic-method")
    if workers < 1:
        raise typer.BadParameter(f"expected a positive number, got {workers}", param_hint="--workers")
    if count == 0:
        if weight != 0:
            raise typer.BadParameter("a risk weight applies to scenarios: add --scenarios K", param_hint="--risk-weight")
        return None
    settings = ScenarioSettings(count, draws=draws, seed=seed, risk_weight=weight, risk_beta=beta)
    hints = {"scenarios": "--scenarios", "draws": "--draws", "risk_weight": "--risk-weight", "risk_beta": "--risk-beta"}
    for p in settings.problems():
        raise typer.BadParameter(p.message, param_hint=hints.get(p.path, p.path))
    return settings


def print_assumptions(meta: dict) -> None:
    """The one line of what the template assumed about the day (``meta["assumptions"]``), if anything."""
    notes = meta.get("assumptions") or []
    if notes:
        out.print("[yellow]assumed[/] " + "; ".join(escape(n) for n in notes), highlight=False)


def print_notes(meta: dict) -> None:
    """What the template says a grid operator asks first (``meta["notes"]``): tariff, peak so far, events, emissions."""
    for line in meta.get("notes") or []:
        out.print(line, highlight=False, markup=False)


def _template_options(peak_to_date: float | None, dr_event: list[str] | None) -> dict:
    """--peak-to-date and --dr-event as the template's options (a usage error naming the option when bad)."""
    import math

    from vpp.cases.events import parse_event

    extra: dict = {}
    if peak_to_date is not None:
        if not math.isfinite(peak_to_date) or peak_to_date < 0:
            raise typer.BadParameter(f"expected the month's peak so far in MW, >= 0, got {peak_to_date:g}",
                                     param_hint="--peak-to-date")
        extra["peak_to_date_mw"] = peak_to_date
    events = []
    for text in dr_event or []:
        try:
            events.append(parse_event(text))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--dr-event") from None
    if events:
        extra["dr_events"] = events
    return extra


def _forecast_inputs(weather: Path | None, load_history: Path | None) -> dict:
    """Read --weather and --load-history (CaseError naming the file, column or row when bad)."""
    inputs: dict = {}
    if weather is not None:
        from forecasts.weather import read_weather

        inputs["weather"] = read_weather(weather)
    if load_history is not None:
        from forecasts.series import read_series

        inputs["load_history"] = read_series(load_history, prefer=("load_mw",), what="load history")
    return inputs


def _print_summary(s: dict) -> None:
    table = Table(title=f"{s['case']}  {s['start'][:10]}  ({s['steps']} x {s['step_minutes']} min)", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    gap = "unknown: no bound yet" if s["mip_gap"] is None else f"{s['mip_gap']:.2e}"
    table.add_row("status", f"{s['status']} (gap {gap})")
    table.add_row("total cost", f"{s['objective_cny']:,.0f} CNY")
    for group, value in s["bill_cny"].items():
        if group != "total_cny" and abs(value) > 0.5:
            table.add_row(f"  {BILL.get(group, cost_label(group.removesuffix('_cny')))}", f"{value:,.0f} CNY")
    e = s["energy_mwh"]
    table.add_row("consumption", f"{e['consumption_mwh']:,.1f} MWh")
    table.add_row("import / export", f"{e['import_mwh']:,.1f} / {e['export_mwh']:,.1f} MWh")
    table.add_row("PV used / curtailed", f"{e['pv_used_mwh']:,.1f} / {e['pv_curtailed_mwh']:,.1f} MWh")
    factor = s.get("emission_factor")
    table.add_row("emissions", f"{s['emissions_t']:,.1f} tCO2" + (f" at {factor}" if factor else ""))
    if s["renewable_share"] is not None:
        table.add_row("renewable share", f"{100 * s['renewable_share']:.1f} %")
    if s["hourly_matching_score"] is not None:
        table.add_row("hourly matching", f"{100 * s['hourly_matching_score']:.1f} %")
    table.add_row("unserved", f"{e['unserved_mwh']:,.3f} MWh, {e['unserved_thermal_mwh_th']:,.3f} MWh_th")
    for ev in s["demand_response"]:
        state = "joined" if ev["joined"] else "not joined"
        table.add_row(f"DR {ev['id']}", f"{state}, shortfall {ev['shortfall_mwh']:.2f} MWh")
    _regulation_rows(table, s.get("regulation"))
    table.add_row("build / hand-over / solve", f"{s['build_seconds']:.2f} / {s['handover_seconds']:.2f} / {s['solve_seconds']:.2f} s")
    out.print(table)
    for m in s["messages"]:
        out.print(f"[yellow]![/] {escape(m)}", highlight=False)


def _regulation_switch(value: str) -> bool:
    """--regulation on|off as a yes/no; a usage error naming the option otherwise."""
    if value not in ("on", "off"):
        raise typer.BadParameter(f"expected 'on' or 'off', got {value!r}", param_hint="--regulation")
    return value == "on"


def _regulation_rows(table: Table, r: dict | None) -> None:
    """The regulation bid in a few rows: its size, its revenue, and what it is worth against not offering it."""
    if not r:
        return
    table.add_row("regulation offered", f"{r['blocks_offered']} of {len(r['blocks'])} blocks of {r['block_minutes']} min, "
                  f"up to {r['max_offer_mw']:,.2f} MW ({r['offer_mw_h']:,.1f} MW·h)")
    rev = r["revenue_cny"]
    table.add_row("  revenue", f"{rev['total']:,.0f} CNY (capacity {rev['capacity']:,.0f}, mileage {rev['mileage']:,.0f})")
    c = r.get("comparison") or {}
    if "net_value_cny" in c:
        table.add_row("  cost without regulation", f"{c['without_regulation']['objective_cny']:,.0f} CNY")
        table.add_row("  net value", f"{c['net_value_cny']:,.0f} CNY (energy margin given up {c['energy_margin_given_up_cny']:,.0f})")
    elif c:
        table.add_row("  cost without regulation", c["note"])


@case_app.command("validate")
def case_validate(path: Annotated[Path, typer.Argument(help="Case file (.json, .yaml, .yml).")]) -> None:
    """Check a case file; print every problem found (exit 2 when there is any)."""
    from vpp.case import read_case_data, validate_case

    try:
        data = read_case_data(path)
    except CaseError as exc:
        fail(exc)
    case, problems = validate_case(data)
    if problems:
        fail(CaseError(problems, step=f"reading {path.name}"))
    assert case is not None
    out.print(
        f"[green]valid[/]: {escape(case.name)}, {plural(case.steps, 'step')} of {case.step_minutes} min "
        f"from {case.start.isoformat()}, {plural(len(case.network.nodes), 'node')}, "
        f"{plural(len(case.assets), 'asset')}, {plural(len(case.demand_response), 'demand-response event')}",
        highlight=False,
    )


@case_app.command("materialize")
def case_materialize(
    case: Annotated[str, typer.Option(help="Built-in case name.")] = "teda-east",
    date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="Day (default tomorrow in the case's time zone).")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="Where to write the case (.json or .yaml).")] = Path("case.json"),
    peak_to_date: Annotated[float | None, typer.Option(metavar="MW", help="The month's maximum demand so far [MW], as for vpp dispatch.")] = None,
    dr_event: Annotated[list[str] | None, typer.Option(metavar="KIND,HH:MM-HH:MM,MW[,CNY_PER_MWH]", help="Add a demand-response event to the day (repeatable), as for vpp dispatch.")] = None,
    regulation: Annotated[str, typer.Option(metavar="on|off", help="off: leave the frequency-regulation market out, as vpp dispatch --regulation off solves the day.")] = "on",
) -> None:
    """Write a built-in case for a date as a canonical case file that can be edited and solved."""
    import yaml

    from vpp.cases import template
    from vpp.regulation import without_regulation

    offer = _regulation_switch(regulation)
    day = option_date(date)
    extra = _template_options(peak_to_date, dr_event)
    try:
        t = template(case)
        c = t.materialize(t.day(day), **extra)
    except CaseError as exc:
        fail(exc)
    if not offer:
        c = without_regulation(c)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() in (".yaml", ".yml"):
        output.write_text(yaml.safe_dump(json.loads(c.to_json()), sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        output.write_text(c.to_json() + "\n", encoding="utf-8")
    out.print(f"wrote {output}: {c.name}, {c.steps} steps from {c.start.isoformat()}, {len(c.assets)} assets", highlight=False, markup=False)
    print_assumptions(c.meta or {})


@case_app.command("lp-file")
def case_lp_file(
    case: Annotated[str, typer.Option(help="Built-in case (teda-east) or a case file (.json/.yaml).")] = "teda-east",
    date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="Day (built-in cases; default tomorrow in the case's time zone).")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="Where to write the model: .lp (CPLEX LP) or .mps.")] = Path("model.lp"),
    exclusivity: Annotated[str, typer.Option(help="spec: every exclusivity binary, as model.md writes them; lazy: none (the first round of a solve).")] = "spec",
) -> None:
    """Write the case's mixed-integer model for other solvers, named like the spec (asset[b].soc_balance[37])."""
    from models import Formulation, build
    from vpp.dispatch import resolve_case

    if output.suffix.lower() not in (".lp", ".mps"):
        raise typer.BadParameter(f"expected a file ending .lp or .mps, got {output.name!r}", param_hint="-o/--output")
    if exclusivity not in ("lazy", "spec"):
        raise typer.BadParameter(f"expected 'lazy' or 'spec', got {exclusivity!r}", param_hint="--exclusivity")
    try:
        c = resolve_case(case, option_date(date))
    except CaseError as exc:
        fail(exc)
    built = build(c, Formulation() if exclusivity == "spec" else Formulation(binaries=frozenset()))
    output.parent.mkdir(parents=True, exist_ok=True)
    built.pyomo().model.write(str(output), io_options={"symbolic_solver_labels": True})
    sizes = built.arrays.sizes
    out.print(f"wrote {output}: {sizes['variables']} variables ({sizes['binaries']} integer), "
              f"{sizes['constraints']} constraints, {sizes['nonzeros']} nonzeros", highlight=False, markup=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default VPP_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default VPP_PORT or 8000).")] = None,
) -> None:
    """Run the scheduling service (HTTP API and page) with uvicorn."""
    from api.cli import serve as run_server  # FastAPI is imported only by this command

    run_server(host=host, port=port)


token_app = App(help="Access tokens of the scheduling service.")
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="viewer, operator, planner or admin.")],
    name: Annotated[str | None, typer.Option(help="A label for the token (who or what uses it).")] = None,
) -> None:
    """Store a new token (hashed) in the service's database and print it once."""
    from api.cli import token_create as create  # FastAPI is imported only by this command

    create(role=role, name=name)


def _plug_in() -> None:
    """Register the commands other installed packages offer (entry points of the group ``vpp.commands``)."""
    for ep in entry_points(group="vpp.commands"):
        if ep.name not in {c.name for c in app.registered_commands}:
            app.command(ep.name)(ep.load())


def main() -> None:
    _plug_in()
    app()


if __name__ == "__main__":
    main()
