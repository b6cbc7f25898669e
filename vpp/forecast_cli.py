"""``vpp forecast``: day-ahead forecasts of the built-in case's series, backtests, synthetic history.

Registered in :mod:`vpp.cli` as a sub-app. Exit codes as there: 0 done, 2 bad
input (every problem printed, naming the file, column or row). ``pv`` and
``load`` forecast the series of the template named by ``--case``
(:mod:`vpp.cases.forecasting` on the template's site).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vpp.cli_common import App, bad, fail, option_date, out
from vpp.errors import CaseError

app = App(order=("pv", "load", "backtest", "synthetic"),
          help="Forecasts: PV and load for a day, backtests, synthetic history.")

HORIZONS = {f"{n}d": n for n in range(1, 8)}


def _template(case: str) -> Any:
    """The built-in case named by --case (exit 2 naming the known ones otherwise)."""
    from vpp.cases import template

    try:
        return template(case, where="--case", step="forecasting")
    except CaseError as exc:
        fail(exc)


def _round(x: Any) -> Any:
    if isinstance(x, float):
        return None if not math.isfinite(x) else round(x, 6)
    if isinstance(x, dict):
        return {k: _round(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_round(v) for v in x]
    return x


def _level_name(q: float) -> str:
    return f"p{round(100 * q):02d}"


def _write_forecast(fc: Any, kind: str, case: str, day: Any, output: Path) -> None:
    """The total and every asset, one row per step and series: timestamp, step, series, pNN_mw columns."""
    import pandas as pd

    levels = list(fc.quantiles.columns)
    rows = []
    series = {"total": fc.quantiles}
    for name in dict.fromkeys(fc.parts.columns.get_level_values(0)):
        series[name] = fc.parts[name]
    for name, frame in series.items():
        part = pd.DataFrame(
            {
                "timestamp": [t.isoformat() for t in frame.index],
                "step": range(len(frame)),
                "series": name,
                **{f"{_level_name(q)}_mw": frame[q].round(6).to_numpy() for q in levels},
            }
        )
        rows.append(part)
    table = pd.concat(rows, ignore_index=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".json":
        doc = {
            "case": case,
            "date": day.isoformat(),
            "kind": kind,
            "unit": "MW",
            "source": fc.source,
            "rho": fc.rho,
            "quantiles": levels,
            "timestamps": [t.isoformat() for t in fc.quantiles.index],
            "series": {
                name: {f"{_level_name(q)}_mw": [round(float(v), 6) for v in frame[q]] for q in levels}
                for name, frame in series.items()
            },
        }
        output.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        table.to_csv(output, index=False)


def _write_scenarios(fc: Any, n: int, seed: int, path: Path, kind: str, upper: float | None) -> None:
    from forecasts.scenarios import generate_scenarios

    sc = generate_scenarios(fc.quantiles, n, rho=fc.rho, seed=seed, lower=0.0, upper=upper, name=f"{kind}_total_mw")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = sc.to_frame()
    frame["timestamp"] = [t.isoformat() for t in frame["timestamp"]]
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    out.print(f"wrote {path}: {n} scenarios × {len(fc.quantiles)} steps (rho {fc.rho:.3f}, seed {seed})", highlight=False, markup=False)


DATE_HELP = "Day (default tomorrow in the case's time zone)."
SCENARIOS_HELP = "Scenario file (.csv or .parquet); default next to --output."


@app.command("pv")
def forecast_pv_cmd(
    case: Annotated[str, typer.Option(help="Built-in case whose PV fleet to forecast.")] = "teda-east",
    date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help=DATE_HELP)] = None,
    weather: Annotated[Path | None, typer.Option(metavar="FILE", help="Weather forecast (CSV or JSON): GHI or cloud cover, temperature, wind.")] = None,
    pv_history: Annotated[Path | None, typer.Option(metavar="FILE", help="Measured fleet PV [MW] (timestamp, value): the recent clear-sky index when there is no weather file.")] = None,
    column: Annotated[str | None, typer.Option(help="Value column of --pv-history when it has several.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="Where to write (.csv or .json).")] = Path("pv_forecast.csv"),
    step_minutes: Annotated[int, typer.Option(help="Step [min].")] = 15,
    scenarios: Annotated[int, typer.Option(help="Also draw this many correlated scenarios of the total.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the scenarios.")] = 0,
    scenarios_output: Annotated[Path | None, typer.Option(metavar="FILE", help=SCENARIOS_HELP)] = None,
) -> None:
    """PV of every asset of the case for a day: P10/P50/P90 [MW]."""
    from forecasts.series import read_series
    from forecasts.weather import read_weather
    from vpp.cases.forecasting import forecast_pv

    t = _template(case)
    day = t.day(option_date(date))
    site = t.site()
    try:
        w = read_weather(weather) if weather is not None else None
        hist = read_series(pv_history, value_column=column, prefer=("pv_mw",), what="PV history") if pv_history else None
        fc = forecast_pv(site, day, weather=w, pv_history=hist, step_minutes=step_minutes)
    except CaseError as exc:
        fail(exc)
    except ValueError as exc:
        bad("", str(exc), "forecasting PV")
    _write_forecast(fc, "pv", case, day, output)
    _print_written(output, "PV", day, fc, step_minutes)
    if scenarios > 0:
        _write_scenarios(fc, scenarios, seed, scenarios_output or output.with_name(output.stem + "_scenarios.csv"), "pv", site.pv_capacity_mw)


def _print_written(output: Path, what: str, day: Any, fc: Any, step_minutes: int) -> None:
    q = fc.quantiles
    out.print(
        f"wrote {output}: {what} {day.isoformat()}, energy P10/P50/P90 "
        + " / ".join(f"{q[c].sum() * step_minutes / 60:,.0f}" for c in q.columns)
        + f" MWh, peak P50 {q[0.5].max():,.1f} MW",
        highlight=False, markup=False,
    )
    out.print(f"source: {fc.source}", highlight=False, markup=False)


@app.command("load")
def forecast_load_cmd(
    case: Annotated[str, typer.Option(help="Built-in case whose district load to forecast.")] = "teda-east",
    date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help=DATE_HELP)] = None,
    load_history: Annotated[Path | None, typer.Option(metavar="FILE", help="District load history [MW] up to the day before (timestamp, value).")] = None,
    column: Annotated[str | None, typer.Option(help="Value column of --load-history when it has several.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="Where to write (.csv or .json).")] = Path("load_forecast.csv"),
    step_minutes: Annotated[int, typer.Option(help="Step [min].")] = 15,
    scenarios: Annotated[int, typer.Option(help="Also draw this many correlated scenarios of the total.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the scenarios.")] = 0,
    scenarios_output: Annotated[Path | None, typer.Option(metavar="FILE", help=SCENARIOS_HELP)] = None,
) -> None:
    """District load for a day, in total and per node: P10/P50/P90 [MW]."""
    from forecasts.series import read_series
    from vpp.cases.forecasting import forecast_load

    t = _template(case)
    day = t.day(option_date(date))
    try:
        hist = read_series(load_history, value_column=column, prefer=("load_mw",), what="load history") if load_history else None
        fc = forecast_load(t.site(), day, load_history=hist, step_minutes=step_minutes)
    except CaseError as exc:
        fail(exc)
    _write_forecast(fc, "load", case, day, output)
    _print_written(output, "load", day, fc, step_minutes)
    if scenarios > 0:
        _write_scenarios(fc, scenarios, seed, scenarios_output or output.with_name(output.stem + "_scenarios.csv"), "load", None)


@app.command("backtest")
def backtest_cmd(
    series: Annotated[Path, typer.Option(metavar="FILE", help="CSV (or .csv.gz, .json) with a timestamp column and a value column.")],
    kind: Annotated[str, typer.Option(help="load or pv.")] = "load",
    horizon: Annotated[str, typer.Option(help="Days from the origin: 1d (day ahead) to 7d.")] = "1d",
    resolution: Annotated[str | None, typer.Option(help="15min, 30min or 1h (mean of the finer data); default the file's.")] = None,
    column: Annotated[str | None, typer.Option(help="Value column when the file has several.")] = None,
    timezone: Annotated[str | None, typer.Option(help="Zone of timestamps written without a UTC offset.")] = None,
    calendar: Annotated[str, typer.Option(help="Working days: china (official calendar) or weekday (Mon–Fri).")] = "china",
    latitude: Annotated[float | None, typer.Option(help="PV site latitude [deg N]: adds clear-sky features.")] = None,
    longitude: Annotated[float | None, typer.Option(help="PV site longitude [deg E].")] = None,
    temperature_column: Annotated[str | None, typer.Option(help="Column of measured air temperature, used as a perfect forecast.")] = None,
    min_train_days: Annotated[int, typer.Option(help="Days of history before the first forecast.")] = 28,
    retrain_every: Annotated[int | None, typer.Option(help="Retrain every this many days, always on data before the origin (default weekly; at most ~50 trainings).")] = None,
    start: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="First day to forecast.")] = None,
    end: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="Last day to forecast.")] = None,
    as_json: Annotated[bool, typer.Option("--json/--no-json", help="Print the metrics as JSON instead of a table.")] = False,
    plot: Annotated[Path | None, typer.Option(metavar="FILE", help="PNG of forecast against actual for a week.")] = None,
    plot_week: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="First day of the plotted week (default the last week).")] = None,
    forecasts_csv: Annotated[Path | None, typer.Option(metavar="FILE", help="Write every step's actual, baseline and quantiles here.")] = None,
) -> None:
    """Rolling-origin backtest: forecast each day from the data before it; MAE, RMSE, MAPE, pinball, coverage, skill."""
    from forecasts.backtest import plot_week as plot_week_fn
    from forecasts.backtest import rolling_backtest
    from forecasts.series import read_series, resample_mean

    step = f"backtesting {series.name}"
    for value, option in ((start, "--start"), (end, "--end"), (plot_week, "--plot-week")):
        option_date(value, option)
    if kind not in ("load", "pv"):
        bad("--kind", f"expected load or pv, got {kind!r}", step)
    if horizon not in HORIZONS:
        bad("--horizon", f"expected one of {', '.join(HORIZONS)}, got {horizon!r}", step)
    if resolution is not None and resolution not in ("15min", "30min", "1h"):
        bad("--resolution", f"expected 15min, 30min or 1h, got {resolution!r}", step)
    if calendar not in ("china", "weekday"):
        bad("--calendar", f"expected china or weekday, got {calendar!r}", step)
    try:
        s = read_series(series, value_column=column, prefer=(f"{kind}_mw",), timezone=timezone, repair=True)
        temp = None
        if temperature_column is not None:
            temp = read_series(series, value_column=temperature_column, timezone=timezone, repair=True)
        if resolution is None and s.attrs["step_minutes"] < 15 and 15 % s.attrs["step_minutes"] == 0:
            resolution = "15min"  # finer data: quarter-hour means (say so below)
            s.attrs["repairs"] = [*s.attrs["repairs"], f"{s.attrs['step_minutes']}-min data averaged to 15 min"]
        repairs = list(s.attrs.get("repairs") or [])
        s = resample_mean(s, resolution)
        s.attrs["repairs"] = repairs
        if temp is not None:
            temp = resample_mean(temp, resolution)
        result = rolling_backtest(
            s,
            kind,
            horizon_days=HORIZONS[horizon],
            min_train_days=min_train_days,
            retrain_every_days=retrain_every,
            start=start,
            end=end,
            calendar=calendar,
            latitude=latitude,
            longitude=longitude,
            temperature=temp,
        )
    except CaseError as exc:
        fail(exc)
    except ValueError as exc:
        bad(series.name, str(exc), step)
    if forecasts_csv is not None:
        frame = result.frame.rename(columns={q: _level_name(q) for q in result.frame.columns if isinstance(q, float)})
        frame.index = [t.isoformat() for t in frame.index]
        frame["origin"] = [t.isoformat() for t in frame["origin"]]
        forecasts_csv.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(forecasts_csv, index_label="timestamp")
    if plot is not None:
        try:
            plot_week_fn(result, plot, plot_week)
        except ValueError as exc:
            bad("--plot-week", str(exc), step)
    doc = _round(result.to_dict())
    if as_json:
        print(json.dumps(doc, indent=1, ensure_ascii=False))
        return
    m, st = result.metrics, result.settings
    table = Table(title=f"{kind} backtest of {series.name}: {st['first_day']} to {st['last_day']} ({m['n_days']} days, {st['step_minutes']} min, horizon {horizon})", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("MAE (P50) / seasonal naive", f"{m['mae']:.4g} / {m['baseline_mae']:.4g}")
    table.add_row("RMSE (P50) / seasonal naive", f"{m['rmse']:.4g} / {m['baseline_rmse']:.4g}")
    if "mape_pct" in m:
        table.add_row("MAPE / seasonal naive", f"{m['mape_pct']:.2f} % / {m['baseline_mape_pct']:.2f} %")
    for name, value in m["pinball"].items():
        table.add_row(f"pinball {name}", f"{value:.4g}")
    for key, value in m.items():
        if key.startswith("coverage_"):
            table.add_row(key.replace("_", " "), f"{100 * value:.1f} % (nominal {100 * m['nominal_coverage']:.0f} %)")
    table.add_row("skill vs seasonal naive (1 − MAE/MAE)", f"{m['skill_vs_seasonal_naive']:.3f}")
    table.add_row("baseline", st["baseline"])
    table.add_row("training", f"{len(result.fits)} fits, mean {m['mean_fit_seconds']:.2f} s; total {m['total_seconds']:.1f} s")
    out.print(table)
    out.print(_side_by_side_table(m), highlight=False)
    if st["temperature"]:
        out.print(f"[yellow]![/] {escape(st['temperature'])}", highlight=False)
    for note in st.get("repairs") or []:
        out.print(f"[yellow]![/] {escape(note)}", highlight=False)
    if plot is not None:
        out.print(f"wrote {plot}", highlight=False)


def _side_by_side_table(metrics: dict) -> Table:
    """The learned median beside every simple rule on the same steps: MAE, RMSE, skill."""
    from forecasts.rules import RULE_LABELS

    rows = metrics["side_by_side"]
    verdict = "beats" if metrics["beats_every_rule"] else "does NOT beat"
    table = Table(title=f"The learned median {verdict} every simple rule (same steps)")
    for name, justify in (("forecast", "left"), ("MAE", "right"), ("RMSE", "right"),
                          ("skill vs seasonal naive", "right")):
        table.add_column(name, justify=justify)
    for name, v in rows.items():
        table.add_row(RULE_LABELS.get(name, name), f"{v['mae']:.4g}", f"{v['rmse']:.4g}",
                      f"{v['skill_vs_seasonal_naive']:.3f}")
    return table


@app.command("synthetic")
def synthetic_cmd(
    case: Annotated[str, typer.Option(help="Built-in case whose place (location, PV fleet, load peak) to simulate.")] = "teda-east",
    year: Annotated[int, typer.Option(help="Calendar year.")] = 2025,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2025,
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="CSV (.csv or .csv.gz).")] = Path("teda_east_synthetic_15min.csv.gz"),
) -> None:
    """Write a SYNTHETIC year of 15-minute history (load, PV, weather) of a built-in case from documented assumptions."""
    from forecasts.synthetic import synthetic_history, write_history

    site = _template(case).site()
    frame = synthetic_history(
        year,
        site.pv_arrays,
        site.latitude_deg,
        site.longitude_deg,
        load_peak_mw=site.load_peak_mw,
        seed=seed,
        timezone=site.timezone,
        altitude_m=site.altitude_m,
        albedo=site.albedo,
        system=site.pv_system,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    write_history(frame, str(output), what=f"{site.name} {year}, 15 min", seed=seed)
    out.print(
        f"wrote {output}: SYNTHETIC {len(frame)} rows; load {frame['load_mw'].sum() / 4e6:.2f} TWh, peak "
        f"{frame['load_mw'].max():.0f} MW; PV {frame['pv_mw'].sum() / 4 / site.pv_capacity_mw:.0f} kWh/kWp; "
        f"GHI {frame['ghi_w_per_m2'].sum() / 4 * 3.6e-3:.0f} MJ/m2",
        highlight=False, markup=False,
    )
