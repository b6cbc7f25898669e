"""Rolling-origin backtests: forecast each day from the data before it, never from the future.

For every target day D (horizon h days) the origin is the start of day
D − (h − 1); :func:`training_window` cuts the series strictly before it — the
explicit cut every fit and every feature goes through. The model is retrained
every ``retrain_every_days`` days (each time on the data before that day's
origin only) and forecasts every day in between from the data before *its*
origin. The seasonal-naive baseline is the value one week earlier for load and
one day earlier for PV (h days when h > 1), read from the same cut history.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasts.metrics import mae, rmse, skill, summarise
from forecasts.model import (
    DEFAULT_QUANTILES,
    DayAheadForecaster,
    baseline_lag_days,
    seasonal_naive,
    to_day_matrix,
    working_days,
)
from forecasts.rules import LOAD_RULES, PV_RULES, day_kinds, load_rules, pv_rules
from forecasts.series import step_of

RULE_LOOKBACK_DAYS = 45
"""Days of history the simple rules read (four weeks of the same weekday, plus the kind window)."""


def training_window(series: pd.Series, origin: pd.Timestamp) -> pd.Series:
    """The part of ``series`` strictly before ``origin``: all a forecast made at ``origin`` may use."""
    cut = series[series.index < origin]
    cut.attrs = dict(series.attrs)
    return cut


def rule_forecasts(
    history: pd.Series,
    day: pd.Timestamp,
    kind: str,
    *,
    horizon_days: int = 1,
    calendar: str = "china",
    holidays: Sequence[date] = (),
) -> pd.DataFrame:
    """Every simple rule's forecast of local ``day`` (:mod:`forecasts.rules`), one column per rule,
    from ``history`` — which must already be cut before the origin (:func:`training_window`)."""
    step = step_of(history)
    target = pd.Timestamp(pd.Timestamp(day).date()).tz_localize(history.index.tz)
    recent = history[history.index >= target - pd.Timedelta(days=RULE_LOOKBACK_DAYS)]
    grid = pd.date_range(target - pd.Timedelta(days=RULE_LOOKBACK_DAYS), target + pd.Timedelta(days=1),
                         freq=pd.Timedelta(minutes=step), inclusive="left")
    dm = to_day_matrix(recent.reindex(grid), step)
    row = int(np.flatnonzero(dm.days == target)[0])
    if kind == "load":
        work = working_days(dm.days, calendar, holidays)
        rules = load_rules(dm.values, day_kinds(dm.days.day_of_week.to_numpy(), work), horizon_days)
    else:
        rules = pv_rules(dm.values, horizon_days)
    idx = pd.date_range(target, periods=dm.steps_per_day, freq=pd.Timedelta(minutes=step))
    return pd.DataFrame({name: values[row] for name, values in rules.items()}, index=idx)


@dataclass
class BacktestResult:
    """Per-step forecasts and actuals of every backtested day, and their metrics."""

    kind: str
    frame: pd.DataFrame
    """timestamp-indexed: origin, actual, baseline, and one column per quantile level."""
    metrics: dict[str, Any]
    settings: dict[str, Any]
    fits: list[dict[str, Any]] = field(default_factory=list)
    """One entry per training: origin, train_end, days, seconds, rho."""

    def to_dict(self) -> dict[str, Any]:
        """The metrics at the top level (``skill_vs_seasonal_naive``, ``mae``, …), then the
        kind, the settings and every training."""
        return {**self.metrics, "kind": self.kind, "settings": self.settings, "fits": self.fits}


def target_days(series: pd.Series, min_train_days: int, horizon_days: int) -> list[pd.Timestamp]:
    """Local midnights of the days that can be backtested: after ``min_train_days`` of history, with data."""
    idx = pd.DatetimeIndex(series.dropna().index)
    first = idx[0].normalize()
    last = idx[-1].normalize()
    days = pd.date_range(first + pd.Timedelta(days=min_train_days + horizon_days - 1), last, freq="D").normalize()
    have = set(idx.normalize())
    return [d for d in days if d in have]


def rolling_backtest(
    series: pd.Series,
    kind: str,
    *,
    horizon_days: int = 1,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    min_train_days: int = 28,
    retrain_every_days: int | None = None,
    max_train_days: int | None = 730,
    start: date | str | None = None,
    end: date | str | None = None,
    calendar: str = "china",
    latitude: float | None = None,
    longitude: float | None = None,
    temperature: pd.Series | None = None,
    holidays: Sequence[date] = (),
    forecaster: Callable[[], DayAheadForecaster] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Forecast every day from ``start`` to ``end`` (default: all after ``min_train_days``) and score it.

    ``retrain_every_days`` defaults to weekly, or less often on long series
    (at most about 50 trainings); each training uses at most the last
    ``max_train_days`` days before its origin (None: all of them).
    ``forecaster`` makes a fresh, unfitted model (default: :class:`DayAheadForecaster`
    with the given kind, quantiles, horizon, calendar and site). ``temperature``
    [°C], when given, is used for the target day as if it were its forecast
    (an optimistic stand-in for a weather forecast; say so when quoting results).
    """
    if kind not in ("load", "pv"):
        raise ValueError(f"kind must be 'load' or 'pv', got {kind!r}")
    if min_train_days < 7:
        raise ValueError(f"min_train_days must be at least 7, got {min_train_days!r}")
    if retrain_every_days is not None and retrain_every_days < 1:
        raise ValueError(f"retrain_every_days must be at least 1, got {retrain_every_days!r}")
    make = forecaster or (
        lambda: DayAheadForecaster(
            kind=kind,
            quantiles=quantiles,
            horizon_days=horizon_days,
            calendar=calendar,
            latitude=latitude,
            longitude=longitude,
            holidays=tuple(holidays),
            min_train_days=min(min_train_days, 14),
        )
    )
    days = target_days(series, min_train_days, horizon_days)
    if start is not None:
        days = [d for d in days if d.date() >= pd.Timestamp(start).date()]
    if end is not None:
        days = [d for d in days if d.date() <= pd.Timestamp(end).date()]
    if not days:
        raise ValueError(
            f"no day to backtest: the series has {series.dropna().index.normalize().nunique()} days with data; "
            f"need more than min_train_days={min_train_days} (+ the horizon) and days within --start/--end"
        )
    if retrain_every_days is None:
        retrain_every_days = max(7, -(-len(days) // 50))
    lag = baseline_lag_days(kind, horizon_days)
    step = step_of(series)
    model: DayAheadForecaster | None = None
    fitted_at: pd.Timestamp | None = None
    fits: list[dict[str, Any]] = []
    parts: list[pd.DataFrame] = []
    t_all = time.perf_counter()
    for i, day in enumerate(days):
        origin = day - pd.Timedelta(days=horizon_days - 1)
        history = training_window(series, origin)
        temp_hist = None if temperature is None else training_window(temperature, origin)
        if model is None or fitted_at is None or origin - fitted_at >= pd.Timedelta(days=retrain_every_days):
            model = make()
            train = history
            if max_train_days is not None:
                train = training_window(history, origin)
                train = train[train.index >= origin - pd.Timedelta(days=max_train_days)]
                train.attrs = dict(history.attrs)
            model.fit(train, temp_hist)
            fitted_at = origin
            if not model.train_end_ < origin:  # the cut, checked where it matters
                raise AssertionError(f"training data reach {model.train_end_} at origin {origin}")
            fits.append(
                {
                    "origin": origin.isoformat(),
                    "train_end": model.train_end_.isoformat(),
                    "train_days": int(train.dropna().index.normalize().nunique()),
                    "seconds": round(model.fit_seconds_, 3),
                    "rho": round(model.rho_, 4),
                    "alpha": model.alpha_,
                    "oos_mae_scaled": round(model.oos_mae_scaled_, 5),
                }
            )
        temp_day = None
        if temperature is not None:
            temp_day = temperature[temperature.index < day + pd.Timedelta(days=1)]
        fc = model.predict(day, history, temp_day)
        actual = series.reindex(fc.index)
        base = seasonal_naive(history, day, lag)
        part = fc.copy()
        rules = rule_forecasts(history, day, kind, horizon_days=horizon_days, calendar=calendar, holidays=holidays)
        for name in rules.columns:
            part[f"rule:{name}"] = rules[name].to_numpy()
        part.insert(0, "baseline", base.to_numpy())
        part.insert(0, "actual", actual.to_numpy())
        part.insert(0, "origin", origin)
        parts.append(part)
        if progress is not None:
            progress(i + 1, len(days))
    frame = pd.concat(parts)
    levels = [c for c in frame.columns if isinstance(c, float)]
    rule_columns = [c for c in frame.columns if isinstance(c, str) and c.startswith("rule:")]
    complete = frame[["actual", "baseline", *levels, *rule_columns]].notna().all(axis=1)
    scored = frame[complete]
    metrics = summarise(
        scored["actual"].to_numpy(),
        {lv: scored[lv].to_numpy() for lv in levels},
        scored["baseline"].to_numpy(),
        kind=kind,
    )
    metrics["side_by_side"] = side_by_side(scored, kind)
    learned = metrics["side_by_side"]["learned"]["mae"]
    metrics["beats_every_rule"] = bool(
        all(learned < v["mae"] for k, v in metrics["side_by_side"].items() if k != "learned")
    )
    metrics["n_days"] = int(len(days))
    metrics["n_steps_skipped_missing"] = int((~complete).sum())
    metrics["mean_fit_seconds"] = float(np.mean([f["seconds"] for f in fits]))
    metrics["total_seconds"] = round(time.perf_counter() - t_all, 2)
    settings = {
        "kind": kind,
        "series": series.attrs.get("source", series.name),
        "column": series.name,
        "step_minutes": step,
        "horizon_days": horizon_days,
        "first_day": days[0].date().isoformat(),
        "last_day": days[-1].date().isoformat(),
        "min_train_days": min_train_days,
        "retrain_every_days": retrain_every_days,
        "max_train_days": max_train_days,
        "repairs": list(series.attrs.get("repairs") or []),
        "quantiles": levels,
        "baseline": f"seasonal naive: same time {lag} day{'s' if lag > 1 else ''} earlier",
        "calendar": calendar,
        "holidays": len(holidays),
        "rules": "each rule reads the same cut history as the model (forecasts.rules)",
        "temperature": None if temperature is None else "measured temperature used as a perfect forecast",
        "site": None if latitude is None else {"latitude": latitude, "longitude": longitude},
        "no_leakage": "each forecast uses only data strictly before its origin (start of the target day "
        "minus horizon − 1 days); each training ends before the origin it is made at",
    }
    return BacktestResult(kind=kind, frame=frame, metrics=metrics, settings=settings, fits=fits)


def side_by_side(scored: pd.DataFrame, kind: str) -> dict[str, dict[str, float]]:
    """MAE, RMSE and skill against seasonal naive (1 − MAE / its MAE) of the learned median and of
    every simple rule, on the same steps: ``{"learned": {...}, "<rule>": {...}, ...}``."""
    y = scored["actual"].to_numpy()
    base = mae(y, scored["baseline"].to_numpy())
    names = LOAD_RULES if kind == "load" else PV_RULES
    forecasts = {"learned": scored[0.5].to_numpy()}
    forecasts.update({n: scored[f"rule:{n}"].to_numpy() for n in names if f"rule:{n}" in scored})
    return {
        name: {"mae": mae(y, f), "rmse": rmse(y, f), "skill_vs_seasonal_naive": skill(mae(y, f), base)}
        for name, f in forecasts.items()
    }


def plot_week(result: BacktestResult, path: str | Path, week_start: date | str | None = None) -> Path:
    """PNG of a week: actual, P50, the outer-quantile band and the baseline (default: the last full week)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = result.frame
    tz = frame.index.tz
    if week_start is None:
        last = frame.index[-1].normalize()
        start = max(frame.index[0].normalize(), last - pd.Timedelta(days=6))
    else:
        start = pd.Timestamp(pd.Timestamp(week_start).date()).tz_localize(tz)
    week = frame[(frame.index >= start) & (frame.index < start + pd.Timedelta(days=7))]
    if week.empty:
        raise ValueError(
            f"no backtested day in the week from {start.date().isoformat()}: the backtest runs "
            f"{frame.index[0].date().isoformat()} to {frame.index[-1].date().isoformat()}"
        )
    levels = [c for c in frame.columns if isinstance(c, float)]
    lo, hi = min(levels), max(levels)
    fig, ax = plt.subplots(figsize=(12, 4.2), layout="constrained")
    ax.fill_between(week.index, week[lo], week[hi], step="post", alpha=0.25, color="C0",
                    label=f"P{round(100 * lo)}–P{round(100 * hi)}")
    ax.step(week.index, week[0.5], where="post", color="C0", lw=1.4, label="P50 forecast")
    ax.step(week.index, week["baseline"], where="post", color="0.5", lw=1, ls="--", label="seasonal naive")
    ax.step(week.index, week["actual"], where="post", color="k", lw=1.2, label="actual")
    m = result.metrics
    ax.set_title(
        f"{result.kind} backtest, week from {start.date().isoformat()}: skill vs seasonal naive "
        f"{m['skill_vs_seasonal_naive']:.3f} over {m['n_days']} days"
    )
    ax.set_ylabel(str(result.settings.get("column") or "value"))
    ax.legend(loc="upper left", ncols=4, fontsize=8)
    ax.grid(alpha=0.3)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
