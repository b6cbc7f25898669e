"""``vpp size``: storage sizing for planners (see the README's "Storage sizing").

Exit codes: 0 done; 1 done, but some day failed after its retries (every
such day is listed in sizing.json and printed); 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from vpp.cli_common import err, fail, out
from vpp.errors import CaseError, Problem

OPTION_OF = {"economics": "--economics", "sizing": "--sizing", "site_limits": "--site-limit",
             "time_limit_s": "--time-limit", "co_optimisation_time_limit_s": "--co-optimisation-time-limit",
             "emission_profile_t_per_mwh": "--emission-profile"}
"""The option that sets a request field or a section of the settings (``--economics KEY=VALUE``), where its name
differs from the field's (any other field is set by ``--`` its name)."""


def _fail(exc: CaseError) -> None:
    """Print the problems naming the option that set a setting (``--economics discount_rate``), exit 2."""
    problems = []
    for p in exc.problems:
        section, _, key = p.path.partition(".")
        where = f"{OPTION_OF[section]} {key}" if section in OPTION_OF and key else p.path
        problems.append(Problem(where, p.message))
    fail(CaseError(problems, step=exc.step))


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} days/s" if speed else "– days/s", style="cyan")


def _keyvalues(items: list[str] | None, option: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            values[key.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"expected KEY=NUMBER, got {item!r}", param_hint=option) from None
    return values


def _site_limits(items: list[str] | None) -> dict[str, dict[str, float]]:
    """``--site-limit SITE=POWER_MW,ENERGY_MWH``: the most a site holds, by node id."""
    limits: dict[str, dict[str, float]] = {}
    for item in items or []:
        site, sep, value = item.partition("=")
        parts = value.split(",")
        try:
            if not sep or not site.strip() or len(parts) != 2:
                raise ValueError
            limits[site.strip()] = {"power_max_mw": float(parts[0]), "energy_max_mwh": float(parts[1])}
        except ValueError:
            raise typer.BadParameter(f"expected SITE=POWER_MW,ENERGY_MWH (e.g. s110-1=30,60), got {item!r}",
                                     param_hint="--site-limit") from None
    return limits


def _profile(text: str | None) -> str | list[float] | None:
    """``--emission-profile``: a profile's name, or 24 comma-separated numbers."""
    if text is None or "," not in text:
        return text
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise typer.BadParameter(f"expected a profile's name or 24 comma-separated numbers (t/MWh), got {text!r}",
                                 param_hint="--emission-profile") from None
    if len(values) != 24:
        raise typer.BadParameter(f"expected 24 numbers (t/MWh by local hour 0–23), got {len(values)}", param_hint="--emission-profile")
    return values


def size(
    case: Annotated[str, typer.Option(help="Built-in case (teda-east) or a one-day case file (.json/.yaml) with --series.")] = "teda-east",
    year: Annotated[int, typer.Option(help="Year to simulate (for teda-east 2025, the shipped SYNTHETIC history gives load and PV).")] = 2025,
    typical_days: Annotated[int | None, typer.Option(help="Co-optimise and sweep over K tsam typical days, then check against the full year.")] = None,
    sweep: Annotated[str | None, typer.Option(help="power=…,energy=… totals over the sites [MW, MWh]: lists (10,20,30) or ranges (0:80:20).")] = None,
    sites: Annotated[str | None, typer.Option(help="Comma-separated node ids where storage may go (default: the nodes of the case's batteries).")] = None,
    series: Annotated[Path | None, typer.Option(metavar="FILE", help="CSV/Parquet of the year's series: timestamp, load_mw, pv_mw, buy_cny_per_mwh (any).")] = None,
    economics: Annotated[list[str] | None, typer.Option(help="Override an economics default, e.g. discount_rate=0.08 (repeatable).")] = None,
    sizing_opt: Annotated[list[str] | None, typer.Option("--sizing", help="Override a sizing default, e.g. duration_max_h=2 (repeatable).")] = None,
    site_limit: Annotated[list[str] | None, typer.Option(metavar="SITE=MW,MWH", help="The most a site holds, replacing its limit in defaults.yaml, e.g. s110-1=30,60 (repeatable).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="Folder for the tables, sizing.json and the plots.")] = Path("out-sizing"),
    summary_json: Annotated[Path | None, typer.Option(metavar="FILE", help="Also write sizing.json to this file.")] = None,
    scheduler: Annotated[str, typer.Option(help="local (a local Dask cluster, all cores), serial, or an existing Dask cluster tcp://HOST:PORT.")] = "local",
    workers: Annotated[int | None, typer.Option(help="Workers of the local Dask cluster (default: one per core).")] = None,
    chunk: Annotated[str, typer.Option(help="month: each month starts from soc_initial (parallel months); none: one chain over the year.")] = "month",
    mip_gap: Annotated[float, typer.Option(help="Relative MIP gap of each day.")] = 1e-4,
    time_limit: Annotated[float, typer.Option(help="Solver time limit per day [s] (a retry gets 4×).")] = 60.0,
    co_optimisation_time_limit: Annotated[float | None, typer.Option(help="The co-optimisation's time limit [s] (default: the larger of --time-limit and 600); stopped without a schedule, the study falls back to the sweep and says so.")] = None,
    emission_profile: Annotated[str | None, typer.Option(metavar="NAME|24 NUMBERS", help="An hourly grid emission factor for a second CO2 count: a name in defaults.yaml (north-china-2023-illustrative) or 24 comma-separated t/MWh by local hour.")] = None,
    full_year_check: Annotated[bool, typer.Option("--full-year-check/--no-full-year-check", help="With typical days: also simulate the full year at no storage, the recommended size and the case's own storage, and compare.")] = True,
    full_year_peak_target: Annotated[str, typer.Option(help="How the full-year check starts each month's peak: typical (the typical days' monthly peak at the same size), none (no peak) or both.")] = "typical",
    sweep_full_year: Annotated[bool, typer.Option("--sweep-full-year/--no-sweep-full-year", help="With typical days: run the sweep over the full year instead (slow; compares the recommended size with the year's best).")] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write the PNG plots.")] = True,
) -> None:
    """Size storage: a year of days (or typical days), co-optimisation and a sweep, NPV/IRR/payback/LCOS."""
    from pydantic import ValidationError

    from vpp.sizing import SizingRequest, write_outputs
    from vpp.sizing.runner import Runner
    from vpp.sizing.schema import check_request
    from vpp.sizing.study import run_study

    try:
        req = SizingRequest(
            case=case, year=year, typical_days=typical_days, sweep=sweep,
            sites=[s.strip() for s in sites.split(",") if s.strip()] if sites else None,
            series=str(series) if series else None,
            economics=_keyvalues(economics, "--economics"), sizing=_keyvalues(sizing_opt, "--sizing"),
            site_limits=_site_limits(site_limit),
            chunk=chunk, mip_gap=mip_gap, time_limit_s=time_limit, co_optimisation_time_limit_s=co_optimisation_time_limit, full_year_check=full_year_check,
            emission_profile_t_per_mwh=_profile(emission_profile), full_year_peak_target=full_year_peak_target,
            sweep_full_year=sweep_full_year, scheduler=scheduler, workers=workers,
        )
    except ValidationError as exc:
        for e in exc.errors(include_url=False):
            field, *rest = [str(x) for x in e["loc"]]
            where = " ".join([OPTION_OF.get(field, "--" + field.replace("_", "-")), *rest])
            err.print(f"[bold red]error[/] {where}: {escape(e['msg'])}", highlight=False)
        raise typer.Exit(2) from None
    try:
        check_request(req)  # before any worker starts
    except CaseError as exc:
        _fail(exc)

    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("days"), _Rate(),
        TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), console=err, transient=False,
    )
    state: dict[str, Any] = {"task": None, "label": "days"}

    def log(message: str) -> None:
        progress.console.print(message, highlight=False)
        state["label"] = message.split(":")[0][:40]
        state["task"] = None

    def tick(done: int, total: int) -> None:
        if state["task"] is None:
            state["task"] = progress.add_task(state["label"], total=total)
        progress.update(state["task"], completed=done, total=total)

    try:
        runner = Runner(scheduler, workers)
    except ValueError as exc:
        raise typer.BadParameter(str(exc).split(": ", 1)[-1], param_hint="--scheduler") from None
    try:
        with progress, runner:
            result = run_study(req, runner, progress=tick, log=log)
    except CaseError as exc:
        _fail(exc)
    paths = write_outputs(result, out_dir, plots=plots)
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(json.dumps(result.summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _print(result.summary)
    out.print(f"wrote {', '.join(str(p) for p in paths.values())}", highlight=False)
    if result.summary["failed_days"]:
        for f in result.summary["failed_days"]:
            err.print(f"[bold red]failed day[/] {f['date']} ({f['run']}, point {f['point']}, {f['attempts']} attempts): {f['reason']}", highlight=False, markup=False)
        raise typer.Exit(1)


def _money(x: float | None, unit: str = "CNY") -> str:
    return "–" if x is None else f"{x:,.0f} {unit}"


def _print(s: dict[str, Any]) -> None:
    r, now = s["recommended"], s["case_storage"]
    t = Table(title=f"storage sizing: {s['case']} {s['year']} ({r['method']})", show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("recommended", _size(r["power_mw"], r["energy_mwh"]))
    for site in r["sites"]:
        t.add_row(f"  {site['site']}", _size(site["power_mw"], site["energy_mwh"]))
    t.add_row("storage in the case now", f"{_size(now['power_mw'], now['energy_mwh'])} ({now.get('source') or 'the case'})")
    t.add_row("NPV", _money(r["npv_cny"]))
    t.add_row("IRR", "–" if r["irr"] is None else f"{100 * r['irr']:.1f} %")
    t.add_row("payback simple / discounted", " / ".join("–" if v is None else f"{v:.1f} yr" for v in (r["simple_payback_years"], r["discounted_payback_years"])))
    t.add_row("LCOS", _money(r["lcos_cny_per_mwh"], "CNY/MWh"))
    t.add_row("capital cost", _money(r["capex_cny"]))
    t.add_row("saving a year", _money(r["saving_cny_per_year"]))
    t.add_row("cycles a year", f"{r['equivalent_cycles_per_year']:.0f}" if r["equivalent_cycles_per_year"] is not None else "–")
    t.add_row("economics from", r["economics_basis"])
    cmp_ = s.get("typical_vs_full_year")
    if cmp_:
        for size in cmp_.get("sizes") or []:
            d = size["figures"]["saving_cny_per_year"]
            t.add_row(f"saving of the {size['size']}: typical days vs year",
                      f"{_money(d['typical_days'])} vs {_money(d['full_year'])} ({100 * (d.get('difference_fraction') or 0):+.1f} %)")
    sw = s["sweep"]["best"]
    t.add_row("sweep's best point", f"{_size(sw['power_mw'], sw['energy_mwh'])}, NPV {_money(sw['npv_cny'])}")
    if (bb := s["sweep"].get("best_beyond_site_limits")) is not None:
        t.add_row("best beyond the site limits", f"{_size(bb['power_mw'], bb['energy_mwh'])}, NPV {_money(bb['npv_cny'])} "
                  "(not a candidate: lift a limit with --site-limit to study it)")
    plan = s.get("plan")
    if plan:
        t.add_row("the case's own storage", f"{_size(plan['power_mw'], plan['energy_mwh'])}: NPV {_money(plan['npv_cny'])}, IRR "
                  + ("–" if plan["irr"] is None else f"{100 * plan['irr']:.1f} %") + ", payback "
                  + ("–" if plan["simple_payback_years"] is None else f"{plan['simple_payback_years']:.1f} yr"))
    be = r.get("break_even_capital_cost")
    if be:
        t.add_row("break-even capital cost", f"×{be['factor']:.2f} of the assumed"
                  + ("" if be["cny_per_wh"] is None else f" ({be['cny_per_wh']:.2f} CNY/Wh)"))
    for a in r.get("augmentations") or []:
        t.add_row("augmentation", f"year {a['year']}: {_money(a['cost_cny'])}")
    co2 = s.get("co2")
    if co2:
        t.add_row("CO2 with storage", f"{co2['change_t_per_year']:+,.0f} t/yr at {co2['emission_factor_t_per_mwh']:.3f} t/MWh")
        if co2.get("hourly_profile"):
            h = co2["hourly_profile"]
            t.add_row("  at the hourly factors", f"{h['change_t_per_year']:+,.0f} t/yr ({h['profile']})")
    src = (s.get("saving_by_source") or {}).get("recommended")
    if src:
        t.add_row("saving by source (M CNY/yr)", ", ".join(f"{k.replace('_', ' ')} {v['cny_per_year'] / 1e6:.1f}"
                                                          for k, v in src["lines"].items() if abs(v["cny_per_year"]) >= 5e4))
    for b in ((s.get("tornado") or {}).get("bars") or [])[:3]:
        t.add_row(f"NPV by {b['input']}", f"{_money(b['npv_low_cny'])} ({b['low']}) … {_money(b['npv_high_cny'])} ({b['high']})")
    out.print(t)
    note = ((s.get("assumptions") or {}).get("days") or {}).get("note")
    if note:
        out.print(f"[yellow]assumed[/] {escape(note)}", highlight=False)


def _size(power_mw: float, energy_mwh: float) -> str:
    return f"{power_mw:,.2f} MW / {energy_mwh:,.2f} MWh"
