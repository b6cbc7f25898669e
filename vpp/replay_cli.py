"""``vpp replay``: plan a day ahead, live it with the actual PV and load, and compare the strategies.

Exit codes: 0 done; 1 no schedule; 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vpp.cli_common import bad, err, fail, option_date, out
from vpp.errors import CaseError, SolverError

if TYPE_CHECKING:
    import datetime as dt

    from vpp.case import Case
    from vpp.replay import Replay

DEFAULT_OUTAGE_START = "18:00"
"""[assumed] The start of the outage scenario when none is given: the summer evening peak."""


def replay(
    date: Annotated[str, typer.Option(metavar="YYYY-MM-DD", help="The day to replay (local date of the case).")],
    case: Annotated[str, typer.Option(metavar="NAME|FILE", help="A built-in case (materialised for --date) or a case file of that day.")] = "teda-east",
    actuals: Annotated[Path | None, typer.Option(metavar="FILE", help="The day's measured series: a CSV with columns timestamp, load_mw, pv_mw [MW] (default: the shipped synthetic year of teda-east).")] = None,
    strategy: Annotated[list[str] | None, typer.Option(metavar="NAME", help="deterministic or stochastic; repeat for several (default: both).")] = None,
    every: Annotated[int, typer.Option(metavar="MINUTES", help="Re-dispatch every this many minutes: the case's step (15) or a multiple, e.g. 60.")] = 60,
    scenarios: Annotated[int, typer.Option(metavar="K", help="Scenarios of the stochastic plan, drawn from the forecasts.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the scenario draws.")] = 0,
    outage_hours: Annotated[float | None, typer.Option(metavar="H", help="Add an unannounced outage of the supply point lasting H hours as a scenario of the stochastic plan, and replay the day with and without it.")] = None,
    outage_start: Annotated[str, typer.Option(metavar="HH:MM", help="When the outage scenario starts (local time; default an [assumed] 18:00, the summer evening peak).")] = DEFAULT_OUTAGE_START,
    outage_rate: Annotated[float | None, typer.Option(metavar="PER_YEAR", help="Outages of the supply point a year; the scenario's probability is rate × H / 8760 (default: an [assumed] 0.5).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder for replay.csv, replay.json and replay.png.")] = Path("out-replay"),
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap at which to stop.")] = 1e-4,
    time_limit: Annotated[float, typer.Option(help="Solver time limit of each solve [s].")] = 60.0,
    threads: Annotated[int | None, typer.Option(help="HiGHS threads (default: HiGHS decides).")] = None,
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Draw replay.png.")] = True,
) -> None:
    """Plan the day ahead (deterministic, stochastic), then re-dispatch through it with the actual PV and load.

    Prints each strategy's realised cost by bill line (regulation payments as negative costs), its deviation
    from the declared plan, the energy not served and the regulation band held, side by side; writes replay.csv (per step per strategy), replay.json and replay.png.
    """
    from models import SolveOptions
    from vpp.replay import (
        DEFAULT_OUTAGE_RATE_PER_YEAR,
        OUTAGE_RATE_SOURCE,
        OutageScenario,
        Settings,
        read_actuals,
    )
    from vpp.replay import replay as run

    day = option_date(date)
    try:
        options = SolveOptions(mip_gap=mip_gap, time_limit_s=time_limit, threads=threads)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    outage = None
    if outage_hours is not None or outage_rate is not None:
        if outage_hours is None:
            bad("--outage-hours", "give the length of the outage scenario [h] with --outage-rate", "reading the options")
        outage = OutageScenario(outage_start, outage_hours,
                                DEFAULT_OUTAGE_RATE_PER_YEAR if outage_rate is None else outage_rate,
                                OUTAGE_RATE_SOURCE if outage_rate is None else "given (--outage-rate)")
    settings = Settings(tuple(strategy or ("deterministic", "stochastic")), every, scenarios, seed, outage)
    try:
        the_case = _day_case(case, day)
        measured = read_actuals(actuals, the_case, where="--actuals")
        result = run(the_case, measured, settings, options)
    except CaseError as exc:
        fail(_options_named(exc))
    except SolverError as exc:
        err.print(f"[bold red]no schedule[/] ({exc.status}): {exc}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    written = write_replay(result, out_dir, chart=chart)
    print_replay(result)
    out.print(f"wrote {', '.join(str(p) for p in written)}", highlight=False, markup=False)


#: The replay's own fields → the options that give them.
OPTIONS = {"strategy": "--strategy", "every": "--every", "scenarios": "--scenarios", "outage_rate": "--outage-rate",
           "outage_hours": "--outage-hours", "outage_start": "--outage-start", "date": "--date"}


def _options_named(exc: CaseError) -> CaseError:
    from vpp.errors import Problem

    return CaseError([Problem(OPTIONS.get(p.path, p.path), p.message) for p in exc.problems], step=exc.step)


def _day_case(spec: str, day: dt.date | None) -> Case:
    """--case: a built-in case materialised for --date, or a case file of that day."""
    from vpp.cases import Template, case_source, read_case

    source = case_source(spec, where="--case")
    if isinstance(source, Template):
        return source.materialize(day)
    c = read_case(source)
    if c.start.date() != day:
        bad("--date", f"the case file {spec} is the day {c.start.date().isoformat()}, not {day}", "finding the case")
    return c


def write_replay(result: Replay, out_dir: Path, chart: bool = True) -> list[Path]:
    """replay.csv, replay.json and (with ``chart``) replay.png in ``out_dir``."""
    paths = [out_dir / "replay.csv", out_dir / "replay.json"]
    result.table().to_csv(paths[0], index=False, float_format="%.6f")
    paths[1].write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    if chart:
        from vpp.replay_plot import plot_replay

        paths.append(plot_replay(result, out_dir / "replay.png"))
    return paths


def print_replay(result: Replay) -> None:
    """The strategies side by side: realised cost by bill line, deviation, energy not served, regulation band."""
    from vpp.replay import PARTS

    runs = [r.totals() for r in result.runs]
    table = Table(title=f"replayed day {result.case.start:%Y-%m-%d}, re-dispatched every "
                        f"{result.settings.every_minutes} min (actuals: {escape(result.actuals_source)})")
    table.add_column("")
    worlds = len({r["world"] for r in runs}) > 1
    for r in runs:
        table.add_column(f"{r['strategy']}" + (f"\n{r['world']}" if worlds else ""), justify="right")
    table.add_row("day-ahead objective [CNY]", *(f"{r['day_ahead_objective_cny']:,.0f}" for r in runs))
    for part in PARTS:
        table.add_row(f"  {part.replace('_', ' ')} [CNY]", *(f"{r['cost_cny'][part]:,.0f}" for r in runs))
    table.add_row("[bold]realised cost [CNY][/]", *(f"[bold]{r['realised_cost_cny']:,.0f}[/]" for r in runs))
    table.add_row("|deviation| [MWh]", *(f"{r['deviation_mwh']:,.1f}" for r in runs))
    table.add_row("energy not served [MWh]", *(f"{r['energy_not_served_mwh']:,.1f}" for r in runs))
    if any(r["regulation_offered_mw_h"] > 0 for r in runs):
        table.add_row("regulation band held / offered [MW·h]",
                      *(f"{r['regulation_held_mw_h']:,.1f} / {r['regulation_offered_mw_h']:,.1f}" for r in runs))
    out.print(table)
    s = result.settings.outage
    if s is not None:
        out.print(f"outage scenario {s.window}: probability {s.probability:.3g} = {s.rate_per_year:g}/year × "
                  f"{s.hours:g} h / 8760 h; rate: {escape(s.rate_source)}", highlight=False)
    for note in result.notes:
        out.print(f"[yellow]![/] {escape(note)}", highlight=False)
