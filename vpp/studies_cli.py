"""``vpp settle``, ``vpp worth`` and ``vpp pareto``: who earned what, what each participant is worth, the price of carbon."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vpp.cli_common import bad, err, fail, option_date, out, plural
from vpp.errors import CaseError, Problem, SolverError

_UUID = re.compile(r"[0-9a-fA-F-]{36}")

SchedulerOption = Annotated[str, typer.Option(
    help="Where the solves run: processes (local worker processes), serial (this process), local (a local "
         "Dask cluster) or a Dask scheduler's address tcp://HOST:PORT.")]
WorkersOption = Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")]


def _days(schedules: list[str]) -> list[Any]:
    """The solved days named by --schedule: folders vpp dispatch wrote (or folders of them), or stored ids."""
    from vpp.settlement import read_solved_day, solved_day_from_json, solved_days_in

    days = []
    for item in schedules:
        path = Path(item)
        if path.exists():
            days += [read_solved_day(f) for f in solved_days_in(path)]
        elif _UUID.fullmatch(item):
            # the service's database, only for an id
            from api.stored import stored_schedule_from_env

            stored = stored_schedule_from_env(item)
            if stored is None:
                raise CaseError([Problem("--schedule", f"no stored schedule {item!r} in the service's database "
                                         "(VPP_DATABASE_URL)")], step="finding the schedule")
            days.append(solved_day_from_json(stored["case"], stored["series"], stored["summary"], f"schedule {item}"))
        else:
            raise CaseError([Problem("--schedule", f"{item!r} is neither a folder vpp dispatch wrote nor a stored "
                                     "schedule's id")], step="finding the schedule")
    return days


def settle(
    schedule: Annotated[list[str], typer.Option(metavar="DIR|ID", help="A solved day: a folder vpp dispatch wrote, a folder of such folders (a month), or a stored schedule's id. Repeat for more days.")],
    rules: Annotated[Path | None, typer.Option(metavar="FILE", help="Settlement rules (YAML) over the defaults of vpp/settlement_rules.yaml.")] = None,
    meter: Annotated[Path | None, typer.Option(metavar="FILE", help="Meter readings: CSV timestamp, participant, consumption_mw (history for baselines; the day's actual consumption where given).")] = None,
    commitments: Annotated[Path | None, typer.Option(metavar="FILE", help="Commitments: CSV date, event, participant, commitment_mw (default: each participant's scheduled response).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder for the settlement's files.")] = Path("settlement"),
    pdf: Annotated[bool | None, typer.Option("--pdf/--no-pdf", help="Also write each statement as PDF (WeasyPrint; default: when it is installed).")] = None,
) -> None:
    """Settle solved days with the participants: responses, effective responses, shares; a statement each."""
    from vpp.settlement import load_rules, read_commitments, read_meter
    from vpp.settlement import settle as run_settle
    from vpp.statements import pdf_available, write_settlement

    if pdf and not pdf_available():
        bad("--pdf", "WeasyPrint is not installed (pip install 'vpp-dispatch[pdf]'); use --no-pdf for HTML only",
            "writing the statements")
    try:
        r = load_rules(rules)
        days = _days(schedule)
        m = read_meter(meter) if meter is not None else None
        c = read_commitments(commitments) if commitments is not None else None
        result = run_settle(days, r, m, c)
    except CaseError as exc:
        fail(exc)
    except SolverError as exc:
        out.print(f"no settlement ({exc.status}): {exc}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    write_settlement(result, out_dir, pdf=pdf_available() if pdf is None else pdf)
    totals = result.totals()
    table = Table(title=f"settlement of {plural(len(days), 'day')} ({result.days[0]['date']}"
                        + (f" to {result.days[-1]['date']}" if len(days) > 1 else "") + ")")
    for col in ("participant", "DR revenue", "DR penalty", "regulation", "net [CNY]"):
        table.add_column(col, justify="left" if col == "participant" else "right")
    for row in totals.itertuples():
        if abs(row.net_cny) > 0 or row.participant == "(aggregator)":
            table.add_row(row.participant, f"{row.dr_revenue_cny:,.2f}", f"{row.dr_penalty_cny:,.2f}",
                          f"{row.regulation_capacity_cny + row.regulation_mileage_cny:,.2f}", f"{row.net_cny:,.2f}")
    out.print(table)
    quiet = len(totals) - 1 - sum(1 for v in totals["net_cny"].iloc[:-1] if abs(v) > 0)
    if quiet:
        out.print(f"{plural(quiet, 'participant')} with nothing to settle (a statement each all the same)", highlight=False)
    stand_ins = sum(1 for x in result.responses if x["joined"] and x["baseline_source"].startswith("[stand-in]"))
    if stand_ins:
        out.print(f"[yellow]stand-in[/] {plural(stand_ins, 'baseline')} from the no-VPP run (too little history): "
                  "see baseline_source in responses.csv", highlight=False)
    out.print(f"every pot adds up to the fen: {'yes' if result.to_dict()['every_pot_adds_up'] else 'NO'}; "
              f"settled in {result.seconds:.2f} s", highlight=False)
    out.print(f"wrote {out_dir}/settlement.csv, responses.csv, regulation.csv, settlement.json and "
              f"{plural(len(result.participants), 'statement')} in {out_dir}/statements", highlight=False, markup=False)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar of solves on stderr; yields the callback (done, total)."""
    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("solves"), TimeElapsedColumn(),
                   console=err, transient=True)
    task: list[Any] = []

    def tick(done: int, total: int) -> None:
        if not task:
            task.append(bar.add_task(label, total=total))
        bar.update(task[0], completed=done, total=total)

    with bar:
        yield tick


def _case(case: str | None, schedule: Path | None, date: str | None) -> Any:
    from vpp.case import read_case
    from vpp.dispatch import resolve_case

    if (case is None) == (schedule is None):
        bad("--case/--schedule", "give either --case (a built-in case or a case file) or --schedule DIR", "choosing the day")
    if schedule is not None:
        return read_case(schedule / "case.json")
    return resolve_case(case, option_date(date))


def _pool(scheduler: str, workers: int | None) -> Any:
    from vpp.coalitions import Pool

    try:
        return Pool(scheduler, workers)
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        raise typer.BadParameter(message, param_hint=f"--{field}") from None


def worth(
    case: Annotated[str | None, typer.Option(help="Built-in case (teda-east) or a case file (.json/.yaml).")] = None,
    schedule: Annotated[Path | None, typer.Option(metavar="DIR", help="Or a folder vpp dispatch wrote (its case.json).")] = None,
    date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="Day (built-in cases; default tomorrow).")] = None,
    orders: Annotated[int, typer.Option(help="Sampled orders of the players when there are more than 10.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the sampled orders.")] = 0,
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap of each coalition's solve.")] = 1e-6,
    time_limit: Annotated[float, typer.Option(help="Time limit of each coalition's solve [s].")] = 60.0,
    scheduler: SchedulerOption = "processes",
    workers: WorkersOption = None,
    out_dir: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder for worth.csv, coalitions.csv, worth.json.")] = Path("worth"),
) -> None:
    """What each participant is worth: Shapley values from re-solved coalitions, the core and the least core."""
    from vpp.coalitions import participant_worth, write_worth

    try:
        c = _case(case, schedule, date)
        pool = _pool(scheduler, workers)
        with pool, _progress("coalitions") as tick:
            w = participant_worth(c, pool, mip_gap=mip_gap, time_limit_s=time_limit, orders=orders, seed=seed,
                                  progress=tick)
    except CaseError as exc:
        fail(exc)
    except SolverError as exc:
        out.print(f"no value ({exc.status}): {exc}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc).partition(": ")[2], param_hint="--orders") from None
    write_worth(w, out_dir)
    d = w.to_dict()
    how = "exact" if w.method == "exact" else f"sampled, {w.orders} orders (seed {w.seed})"
    table = Table(title=f"{c.name} {c.start:%Y-%m-%d}: the plant saves {d['saving_cny']:,.2f} CNY; Shapley values ({how})")
    for col in ("participant", "Shapley saving", "± s.e.", "alone", "marginal", "least-core fix"):
        table.add_column(col, justify="left" if col == "participant" else "right", no_wrap=col == "participant")
    for row in d["participants"]:
        if row["participant"] in w.null_players:
            continue
        fix = row["least_core_saving_cny"]
        table.add_row(row["participant"], f"{row['shapley_saving_cny']:,.2f}", f"{row['standard_error_cny']:,.2f}",
                      f"{row['standalone_saving_cny']:,.2f}" if row["standalone_saving_cny"] is not None else "–",
                      f"{row['marginal_saving_cny']:,.2f}" if row["marginal_saving_cny"] is not None else "–",
                      "–" if fix is None else f"{fix:,.2f}")
    out.print(table)
    core = d["core"]
    out.print(f"{plural(len(w.null_players), 'participant')} without flexible assets (value 0); "
              f"{plural(len(w.solves), 'coalition')} solved on {w.runner} in {w.seconds:.1f} s", highlight=False)
    if core["in_core"]:
        out.print(f"[green]in the core[/]: no coalition would do better alone ({core['coalitions_checked']} of "
                  f"{core['coalitions_in_all']} checked)", highlight=False)
    else:
        eps = d["least_core"]["epsilon_cny"]
        eps = 0.0 if abs(eps) < 0.005 else eps
        state = "the core is not empty, and the fix is in it" if eps <= 0 else "the core is empty"
        out.print(f"[yellow]not in the core[/]: {', '.join(core['worst_coalition'])} would save "
                  f"{core['max_excess_cny']:,.2f} CNY more alone; least core ε = {eps:,.2f} CNY ({state}; "
                  "the fix: the least-core column, the least-core split nearest the Shapley values)", highlight=False)
    out.print(f"wrote {out_dir}/worth.csv, coalitions.csv, worth.json", highlight=False, markup=False)


def pareto(
    case: Annotated[str, typer.Option(help="Built-in case (teda-east) or a case file (.json/.yaml).")] = "teda-east",
    date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="Day (built-in cases; default tomorrow).")] = None,
    points: Annotated[int, typer.Option(help="Points of the front, the two ends included (>= 2).")] = 8,
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap of each solve.")] = 1e-6,
    time_limit: Annotated[float, typer.Option(help="Time limit of each solve [s].")] = 60.0,
    scheduler: SchedulerOption = "processes",
    workers: WorkersOption = None,
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Draw front.png.")] = True,
    out_dir: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder for front.csv, front.json, front.png and points/NN/.")] = Path("pareto"),
) -> None:
    """The cost–carbon front: least cost to least emission under an emissions cap, with the marginal abatement cost."""
    from vpp.pareto import cost_carbon_front, write_front

    if points < 2:
        raise typer.BadParameter(f"expected at least 2 (the two ends), got {points}", param_hint="--points")
    try:
        c = _case(case, None, date)
        with _pool(scheduler, workers) as pool, _progress("points") as tick:
            front = cost_carbon_front(c, points, out_dir, pool, mip_gap=mip_gap, time_limit_s=time_limit, progress=tick)
    except CaseError as exc:
        fail(exc)
    except SolverError as exc:
        out.print(f"no front ({exc.status}): {exc}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    write_front(front, out_dir, chart=chart)
    table = Table(title=f"{c.name} {c.start:%Y-%m-%d}: cost–carbon front ({plural(len(front.points), 'point')})")
    for col in ("point", "emissions [t]", "cost [CNY]", "MAC [CNY/t]", "chosen at carbon price [CNY/t]"):
        table.add_column(col, justify="right")
    for r in front.points.itertuples():
        mac = "–" if r.marginal_abatement_cny_per_t != r.marginal_abatement_cny_per_t else f"{r.marginal_abatement_cny_per_t:,.1f}"
        if r.on_hull:
            hi = "∞" if r.chosen_to_cny_per_t == float("inf") else f"{r.chosen_to_cny_per_t:,.1f}"
            chosen = f"{r.chosen_from_cny_per_t:,.1f} – {hi}"
        else:
            chosen = "at none (above the hull)"
        table.add_row(str(r.point), f"{r.emissions_t:,.3f}", f"{r.cost_cny:,.2f}", mac, chosen)
    out.print(table)
    out.print(f"front {'is' if front.monotone else 'is NOT'} monotone; least emission found with a carbon price of "
              f"{front.least_emission_price_cny_per_t:,.0f} CNY/t, then the least cost at that level; "
              f"{front.seconds:.1f} s on {front.runner}", highlight=False)
    out.print(f"wrote {out_dir}/front.csv, front.json" + (", front.png" if chart else "") + f" and points/00…{len(front.points) - 1:02d}",
              highlight=False, markup=False)
