"""Day-ahead quantile forecasts learned from a history: load and PV.

:class:`DayAheadForecaster` turns the history of one series (timestamp → value
[MW or any unit]) into quantile forecasts (P10/P50/P90 by default) of the
whole next day. It runs single-threaded.

What the model may know
-----------------------
For a target day D and horizon h days, the forecast origin is the start of day
D − (h − 1) (midnight before D for a day-ahead forecast). Every feature uses
data strictly before the origin, so every lag is ≥ h days from its target
step:

- calendar: time of day, weekday, working day per the official Chinese
  calendar (public holidays and adjusted working days, 调休) with a
  Monday–Friday fallback outside its years (``calendar="weekday"`` for other
  countries, plus ``holidays``), whether the lag days were working days;
- lags: same time h, 7 and 14 days before, the last value before the origin,
  the mean of the last day and of the same time over the last week, the same
  time on recent days of the same kind (working or not);
- load: the kind-of-day reference R(D, t) (:func:`forecasts.rules.kind_reference`:
  the mean of the last four days like D) and the deviation of the last day
  before the origin from its own reference, at the same time, over the day,
  at its last step and over its last four hours;
- PV: the envelope (the most at that time of day over 14 days; with a site,
  the most of the ratio to the clear sky, times the target day's clear sky),
  the clear-sky index of the last day and of the last week, and with a site
  the Ineichen clear-sky irradiance of the target step;
- air temperature at the target step, its daily mean and change, where given
  (for load also against the temperature of the reference days).

Targets and lags are divided by a level, so the model is unit-free and follows
a drifting level, and multiplied back at the end: for load the mean of the
last 7 days; for PV the envelope, so that PV targets and lags are clear-sky
indices.

Load: reference, linear part, boosting
--------------------------------------
The load median is R(D, t) + a linear model of y − R on the deviations above
(:data:`LINEAR_FEATURES`), fitted with the Huber loss and shrunk towards the
same-kind two-line rule (:func:`robust_linear_fit`), + ``alpha_`` × a LightGBM
median of what is left. The linear part follows any level at once, as the
simple rules do, which trees cannot (they predict a constant per leaf); the
boosting adds what is not linear: temperature, holidays, particular days.
Leaves hold at least three days of steps: all steps of a day share its daily
features, and a leaf of one day would learn that day's weather.

PV: boosting blended with the clear-sky index
---------------------------------------------
The PV median blends the boosting with a plain clear-sky-index forecast
(envelope × the mean of yesterday's and last week's clear-sky index) by the
weight ``alpha_`` that gives the smallest out-of-sample error.

Honest quantiles
----------------
The history is split into ``folds`` contiguous blocks of days and each block
is forecast by models trained on the others, which gives held-out errors over
the whole history (all of it before the origin). For load they choose
``alpha_`` and calibrate the quantiles by split conformal prediction: each
error over the spread of its step of the day and working status (fitted
without its block), and the conformal quantile of those scores on the most
recent ``calibration_blocks`` blocks (:func:`forecasts.quantiles.conformal_quantile`)
is each level's offset in spreads. For PV each outer quantile is the median
plus a quantile model of those errors (LightGBM again, on features that cannot
single out a day: :data:`RESIDUAL_FEATURES`) plus a conformal offset
(conformalised quantile regression, Romano, Patterson & Candès 2019, each level
on its own): the error-quantile models are cross-fitted too, and the offset of
level τ is the weighted conformal quantile of the held-out errors less their
held-out τ-quantile, over the daylight steps (the envelope above
:data:`DAYLIGHT_FRACTION` of the day's largest), each error weighing
2^(−age / ``calibration_half_life_days``) (Barber, Candès, Ramdas & Tibshirani
2023: PV errors drift with the season and the weather regime, so recent ones
count most). Night steps get no offset and stay at 0. The same errors, as
normal scores under the calibrated quantiles, give the step-to-step correlation
``rho_`` that :mod:`forecasts.scenarios` uses.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from forecasts.load import is_working_day
from forecasts.quantiles import conformal_quantile, pit_normal_scores, sort_quantiles
from forecasts.rules import day_kinds, kind_reference, shift_rows
from forecasts.scenarios import fit_ar1

Kind = Literal["load", "pv"]
KINDS: tuple[str, ...] = ("load", "pv")
DEFAULT_QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
RESIDUAL_FEATURES: dict[str, tuple[str, ...]] = {
    "pv": ("hour", "kt_week_day", "clear_sky_kw_per_m2"),
}
"""Features the PV error-quantile models see (see ``DayAheadForecaster._residual_columns``)."""
DAYLIGHT_FRACTION = 0.01
"""PV steps whose envelope is at least this share of the day's largest are daylight: the PV
quantiles are calibrated there (the backtests' daylight coverage counts the steps above 1 % of the
peak)."""
DEFAULT_RHO = 0.9
"""Step-to-step correlation of forecast errors (15 min) used when there is too little history to fit it."""


@dataclass
class DayMatrix:
    """A regular series as one row per local day and one column per step of the day."""

    days: pd.DatetimeIndex
    """Local midnight of each row."""
    values: np.ndarray
    """days × steps_per_day values (NaN where missing)."""
    step_minutes: int

    @property
    def steps_per_day(self) -> int:
        return 1440 // self.step_minutes


def to_day_matrix(series: pd.Series, step_minutes: int, tz: object | None = None) -> DayMatrix:
    """One row per local day (in ``tz``, default the series' own), one column per step; gaps → NaN."""
    idx = pd.DatetimeIndex(series.index)
    if idx.tz is None:
        raise ValueError("the series needs tz-aware timestamps")
    local = idx.tz_convert(tz) if tz is not None else idx
    minutes = local.hour * 60 + local.minute
    slot = np.asarray(minutes // step_minutes, dtype=int)
    day = local.normalize()
    frame = pd.DataFrame({"day": day, "slot": slot, "v": series.to_numpy(dtype=float)})
    table = frame.pivot_table(index="day", columns="slot", values="v", aggfunc="mean", dropna=False)
    full_days = pd.date_range(table.index.min(), table.index.max(), freq="D").normalize()
    table = table.reindex(index=full_days, columns=range(1440 // step_minutes))
    return DayMatrix(pd.DatetimeIndex(table.index), table.to_numpy(dtype=float), step_minutes)


def _nan_window(a: np.ndarray, first: int, count: int, how: str) -> np.ndarray:
    """Row-wise nanmean/nanmax over rows d − first − count + 1 … d − first (per column)."""
    stack = np.stack([shift_rows(a, first + j) for j in range(count)])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN, as wanted
        return np.nanmean(stack, axis=0) if how == "mean" else np.nanmax(stack, axis=0)


def working_days(days: pd.DatetimeIndex, calendar: str, holidays: Collection[date] = ()) -> np.ndarray:
    """1.0 for working days (Chinese calendar with fallback, or Monday–Friday), else 0.0; the dates
    in ``holidays`` (a public-holiday calendar of another country) are not working days."""
    if calendar == "weekday":
        work = (days.day_of_week < 5).astype(float)
    else:
        work = np.array([is_working_day(d.date()).working for d in days], dtype=float)
    if holidays:
        off = {pd.Timestamp(h).date() for h in holidays}
        work = np.where([d.date() in off for d in days], 0.0, work)
    return np.asarray(work, dtype=float)


@dataclass
class Features:
    """Feature matrix of (day, step) rows for the days in ``rows`` and the level each was scaled by."""

    X: np.ndarray
    names: list[str]
    level: np.ndarray  # per row
    day_index: np.ndarray  # per row: index into the day matrix
    slot: np.ndarray  # per row
    base: np.ndarray | None = None
    """A simple forecast in scaled units, per row, that the PV median may blend in: envelope ×
    recent clear-sky index."""
    reference: np.ndarray | None = None
    """Load: the kind-of-day reference R(D, t) in scaled units, per row (the linear part's offset)."""
    linear: np.ndarray | None = None
    """Load: the linear part's design, rows × :data:`LINEAR_FEATURES` (scaled; 0 where unknown)."""
    working: np.ndarray | None = None
    """1.0 where the row's day is a working day, per row."""


def build_features(
    dm: DayMatrix,
    kind: str,
    horizon_days: int,
    calendar: str,
    day_rows: np.ndarray,
    clear_sky: np.ndarray | None = None,
    temperature: np.ndarray | None = None,
    holidays: Collection[date] = (),
) -> Features:
    """Features of every step of the days ``day_rows`` (indices into ``dm``), from data ≥ h days earlier.

    ``clear_sky`` and ``temperature`` are day matrices like ``dm.values``
    (clear-sky GHI [W/m2]; air temperature [°C]) covering the target days too.
    """
    Y = dm.values
    P = dm.steps_per_day
    h = horizon_days
    lag_day_mean = shift_rows(_row_nanmean(Y)[:, None], h)[:, 0]
    if kind == "load":
        level = _nan_window(_row_nanmean(np.abs(Y))[:, None], h, 7, "mean")[:, 0]  # > 0 for net loads too
    else:
        level = _nan_window(_row_nanmax(Y)[:, None], h, 14, "max")[:, 0]
    work = working_days(dm.days, calendar, holidays)
    cols: dict[str, np.ndarray] = {}
    lag_h = shift_rows(Y, h)
    cols["lag_h"] = lag_h
    if h <= 7:
        cols["lag_7d"] = shift_rows(Y, 7)
    cols["lag_14d"] = shift_rows(Y, 14)
    cols["last_before_origin"] = np.repeat(lag_h[:, P - 1 : P], P, axis=1)
    cols["mean_lag_day"] = np.repeat(lag_day_mean[:, None], P, axis=1)
    cols["slot_mean_week"] = _nan_window(Y, h, 7, "mean")
    # Same time on the recent days of the target's kind (working or not), within 14 days.
    same = np.full_like(Y, np.nan)
    for w in (0.0, 1.0):
        masked = np.where((work == w)[:, None], Y, np.nan)
        m = _nan_window(masked, h, 14, "mean")
        same[work == w] = m[work == w]
    cols["slot_mean_same_kind"] = same
    if kind == "pv":
        # Clear-sky normalisation without knowing the arrays: the envelope (the most at that time
        # of day over 14 days) stands for the clear-sky output, so targets and lags become
        # clear-sky indices (floored at 5 % of the day's peak envelope around dawn and dusk).
        # With a site, the envelope is taken of the ratio to the clear sky and applied to the target
        # day's clear sky, so it follows the season instead of lagging it by a week.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # days with no data give NaN, as wanted
            kenv: np.ndarray | None = None
            if clear_sky is not None:
                ratio = np.where(clear_sky > 20.0, Y / clear_sky, np.nan)
                kenv = np.nan_to_num(_nan_window(ratio, h, 14, "max"), nan=0.0)
                env = np.where(clear_sky > 0, kenv * clear_sky, 0.0)
                env = np.where(np.isfinite(_nan_window(Y, h, 14, "max")), env, np.nan)
            else:
                env = _nan_window(Y, h, 14, "max")

            def env_of(k: int) -> np.ndarray:
                """Daily envelope energy [unit × steps] for the day k days before each row's day."""
                if kenv is None or clear_sky is None:
                    return np.nansum(np.clip(env, 0, None), axis=1)
                return np.nansum(kenv * shift_rows(clear_sky, k), axis=1)

            cols["envelope_14d"] = env
            env_day = _row_nanmax(np.where(np.isfinite(env), env, np.nan))
            scale = np.maximum(np.nan_to_num(env, nan=0.0), 0.05 * np.nan_to_num(env_day, nan=0.0)[:, None])
            scale = np.where(scale > 0, scale, np.nan)
            daily = np.nansum(Y, axis=1)[:, None]
            kt_lag_day = shift_rows(daily, h)[:, 0] / env_of(h)
            kt_week_day = np.nanmean(np.stack([shift_rows(daily, h + j)[:, 0] / env_of(h + j) for j in range(7)]), axis=0)
        extra = {"kt_lag_day": kt_lag_day, "kt_week_day": kt_week_day}
    else:
        scale = np.repeat(level[:, None], P, axis=1)
        extra = {}
        lin = _load_linear_features(Y, work, dm.days.day_of_week.to_numpy(), h)
        cols["kind_reference"] = lin.pop("reference")
        cols["kind_two_line"] = cols["kind_reference"] + lin["dev_same_time"]
        cols.update({f"lin_{k}": v for k, v in lin.items()})
    scaled = {k: v / scale for k, v in cols.items()}
    scaled.update({k: np.repeat(v[:, None], P, axis=1) for k, v in extra.items()})
    weekday = dm.days.day_of_week.to_numpy().astype(float)
    cal = {
        "hour": np.tile(np.arange(P) * dm.step_minutes / 60.0, (len(Y), 1)),
        "weekday": np.repeat(weekday[:, None], P, axis=1),
        "working": np.repeat(work[:, None], P, axis=1),
        "working_lag_h": np.repeat(shift_rows(work[:, None], h), P, axis=1),
        "working_lag_7d": np.repeat(shift_rows(work[:, None], 7), P, axis=1),
        "holiday": np.repeat(((weekday < 5) & (work == 0)).astype(float)[:, None], P, axis=1),
        "adjusted_working": np.repeat(((weekday >= 5) & (work == 1)).astype(float)[:, None], P, axis=1),
    }
    if clear_sky is not None:
        cal["clear_sky_kw_per_m2"] = clear_sky / 1000.0
        with np.errstate(all="ignore"):
            kt_lag = shift_rows((np.nansum(Y, axis=1) / np.nansum(clear_sky, axis=1))[:, None], h)[:, 0]
        cal["clear_sky_index_lag"] = np.repeat((kt_lag * 1000.0 / level)[:, None], P, axis=1)
    if temperature is not None:
        cal["temp_air_c"] = temperature
        cal["temp_day_mean_c"] = np.repeat(_row_nanmean(temperature)[:, None], P, axis=1)
        cal["temp_change_c"] = cal["temp_day_mean_c"] - np.repeat(shift_rows(_row_nanmean(temperature)[:, None], h), P, axis=1)
        if kind == "load":  # against the temperature of the days the reference is made of
            kinds = day_kinds(weekday, work)
            t_ref = kind_reference(temperature, kinds, gap=h)
            t_dev_lag = shift_rows(temperature - kind_reference(temperature, kinds, gap=1), h)
            cal["temp_vs_reference_c"] = temperature - t_ref
            cal["temp_day_vs_reference_c"] = np.repeat(_row_nanmean(temperature - t_ref)[:, None], P, axis=1)
            cal["temp_lag_vs_reference_c"] = np.repeat(_row_nanmean(t_dev_lag)[:, None], P, axis=1)
    allc = {**scaled, **cal}
    names = list(allc)
    rows = np.asarray(day_rows, dtype=int)
    X = np.stack([allc[n][rows].reshape(-1) for n in names], axis=1)
    base = reference = linear = None
    if kind == "load":
        reference = scaled["kind_reference"][rows].reshape(-1)
        linear = np.stack(
            [np.nan_to_num(scaled[f"lin_{n}"][rows].reshape(-1)) for n in LINEAR_FEATURES[:-1]]
            + [np.ones(len(rows) * P)],
            axis=1,
        )
    if kind == "pv":
        kt_hat = 0.5 * extra["kt_lag_day"] + 0.5 * extra["kt_week_day"]
        kt_hat = np.where(np.isfinite(kt_hat), kt_hat, extra["kt_week_day"])
        base = (np.clip(scaled["envelope_14d"], 0, None) * np.clip(kt_hat, 0, 1.5)[:, None])[rows].reshape(-1)
    return Features(
        X=X,
        names=names,
        level=scale[rows].reshape(-1),
        day_index=np.repeat(rows, P),
        slot=np.tile(np.arange(P), len(rows)),
        base=base,
        reference=reference,
        linear=linear,
        working=np.repeat(work[rows], P),
    )


LINEAR_FEATURES: tuple[str, ...] = (
    "dev_same_time",
    "dev_day_mean",
    "dev_last",
    "dev_last_4h",
    "working_vs_kind",
    "intercept",
)
"""The load median's linear part: y(D, t) − R(D, t) regressed on these (each divided by the level).
``dev_*`` is the deviation of the last day before the origin from its own kind-of-day reference,
at the same time, over the day, at its last step and over its last four hours; ``working_vs_kind``
is the reference of all recent days of the same working status minus the kind-of-day reference."""
LINEAR_PRIOR: dict[str, float] = {"dev_same_time": 1.0}
"""The coefficients the linear part is shrunk towards: the same-kind two-line rule."""


def _load_linear_features(Y: np.ndarray, work: np.ndarray, weekday: np.ndarray, h: int) -> dict[str, np.ndarray]:
    """The kind-of-day reference and the linear part's features (unscaled) of every day of ``Y``,
    all from rows ≤ d − h. Where a day has no day of its kind in the window, the reference is the
    mean of recent days of its working status, else the value h days earlier."""
    P = Y.shape[1]
    kinds = day_kinds(weekday, work)
    ref = kind_reference(Y, kinds, gap=h)
    ref_working = kind_reference(Y, (work > 0.5).astype(int), gap=h, count=8, window=21, match=None)
    ref = np.where(np.isfinite(ref), ref, np.where(np.isfinite(ref_working), ref_working, shift_rows(Y, h)))
    ref_self = shift_rows(kind_reference(Y, kinds, gap=1), h)  # day d − h's own reference
    dev = shift_rows(Y, h) - ref_self
    tail = max(1, P // 6)

    def daily(v: np.ndarray) -> np.ndarray:
        return np.repeat(v[:, None], P, axis=1)

    return {
        "reference": ref,
        "dev_same_time": dev,
        "dev_day_mean": daily(_row_nanmean(dev)),
        "dev_last": daily(dev[:, P - 1]),
        "dev_last_4h": daily(_row_nanmean(dev[:, P - tail :])),
        "working_vs_kind": ref_working - ref,
    }


def robust_linear_fit(A: np.ndarray, b: np.ndarray, prior: np.ndarray, shrink: float, iters: int = 50) -> np.ndarray:
    """Coefficients c minimising the Huber loss of b − A·c plus shrink·n·|c − prior|² (IRLS).

    The Huber threshold is 1.345 robust standard deviations (MAD) of the current residuals, so a
    few days with an outage or a heat wave do not set the weights; ``shrink`` pulls the
    coefficients towards ``prior`` (a simple rule) when the history is short or says little.
    """
    n = len(b)
    ridge = shrink * n * np.eye(A.shape[1])
    c = np.asarray(prior, dtype=float).copy()
    for _ in range(iters):
        r = b - A @ c
        mad = 1.4826 * float(np.median(np.abs(r - np.median(r)))) + 1e-12
        k = 1.345 * mad
        w = np.where(np.abs(r) <= k, 1.0, k / np.maximum(np.abs(r), 1e-300))
        w = w / w.mean()
        Aw = A * w[:, None]
        new = np.linalg.solve(A.T @ Aw + ridge, Aw.T @ b + ridge @ prior)
        done = float(np.max(np.abs(new - c))) < 1e-9
        c = new
        if done:
            break
    return c


def _spread_table(
    resid: np.ndarray, use: np.ndarray, work: np.ndarray, slot: np.ndarray, days: np.ndarray, steps: int
) -> np.ndarray:
    """Mean absolute error per (non-working, working) × step of the day over the rows ``use``,
    smoothed over neighbouring steps; a working status with fewer than three days takes the
    all-days profile. Floored at a thousandth of the largest, so no step has zero spread."""
    table = np.full((2, steps), np.nan)
    overall = np.bincount(slot[use], np.abs(resid[use]), steps) / np.maximum(np.bincount(slot[use], None, steps), 1)
    for w in (0, 1):
        sel = use & (work == w)
        if len(np.unique(days[sel])) >= 3:
            table[w] = np.bincount(slot[sel], np.abs(resid[sel]), steps) / np.maximum(np.bincount(slot[sel], None, steps), 1)
        else:
            table[w] = overall
    table = (np.roll(table, 1, axis=1) + table + np.roll(table, -1, axis=1)) / 3
    return np.maximum(table, 1e-3 * max(float(table.max()), 1e-12))


def _row_nanmean(a: np.ndarray) -> np.ndarray:
    out = np.full(len(a), np.nan)
    ok = np.isfinite(a).any(axis=1)
    out[ok] = np.nanmean(a[ok], axis=1)
    return out


def _row_nanmax(a: np.ndarray) -> np.ndarray:
    out = np.full(len(a), np.nan)
    ok = np.isfinite(a).any(axis=1)
    out[ok] = np.nanmax(a[ok], axis=1)
    return out


@dataclass
class DayAheadForecaster:
    """Quantile forecasts of the next day of a load or PV series (see the module doc).

    Parameters
    ----------
    kind : 'load' or 'pv'
    quantiles : levels in (0, 1); 0.5 is added when missing (the point forecast).
    horizon_days : days from the origin to the target day's end (1 = day ahead).
    calendar : 'china' (chinese_calendar, Monday–Friday fallback) or 'weekday'.
    latitude, longitude : site [deg], PV only: adds the clear-sky features.
    folds : cross-fitting folds (contiguous blocks of days) for the held-out errors.
    max_iter, learning_rate, max_leaf_nodes : the boosting's.
    min_samples_leaf : rows per leaf; default three days of steps, so that no leaf
        holds a single day (whose daily features would let it learn that day's weather).
    seed : the boosting's random state (it uses none unless subsampling; kept for reproducibility).
    """

    kind: str = "load"
    quantiles: Sequence[float] = DEFAULT_QUANTILES
    horizon_days: int = 1
    calendar: str = "china"
    latitude: float | None = None
    longitude: float | None = None
    altitude_m: float = 0.0
    folds: int = 4
    min_train_days: int = 7
    max_iter: int = 150
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    min_samples_leaf: int | None = None
    seed: int = 0
    holidays: Collection[date] = ()
    """Dates that are not working days whatever the calendar says (another country's public
    holidays with ``calendar="weekday"``): holidays are known in advance, so no leakage."""
    shrink: float = 1e-4
    """Load: how strongly the linear part is pulled towards the same-kind two-line rule (per row,
    against scaled features whose day-to-day deviations are a few per cent)."""
    calibration_blocks: int = 3
    """Load: how many of the most recent cross-fitting blocks the conformal offsets are taken from."""
    calibration_half_life_days: float = 14.0
    """PV: the age [days] at which a held-out error weighs half as much as the last day's in the
    weighted conformal offsets (PV errors drift with the seasons and the weather regime)."""
    # Fitted state
    models_: dict[float, object] = field(default_factory=dict, repr=False)
    oos_mae_scaled_: float = float("nan")
    alpha_: float = 1.0
    """Weight of the boosting in the median, chosen on out-of-sample errors: for load the
    boosting corrects the linear part; for PV the rest is the clear-sky-index forecast."""
    coef_: np.ndarray | None = None
    """Load: the linear part's coefficients, one per :data:`LINEAR_FEATURES`."""
    scale_: np.ndarray | None = None
    """Load: the spread of the out-of-sample errors [scaled], (non-working, working) × steps of the day."""
    offsets_: dict[float, float] = field(default_factory=dict)
    """Load: conformal quantile of the held-out normalised errors per level: quantile = median +
    scale × offset."""
    pv_offsets_: dict[float, float] = field(default_factory=dict)
    """PV: the conformal offset of each outer level [scaled], added to its error-quantile model at
    daylight steps."""
    floor_: float = 0.0
    """Lowest value of the training history, if below zero (a PV meter's night tare)."""
    rho_: float = DEFAULT_RHO
    train_start_: pd.Timestamp | None = None
    train_end_: pd.Timestamp | None = None
    """Last timestamp of the data the models were trained on (strictly before any day they forecast)."""
    step_minutes_: int | None = None
    fit_seconds_: float = 0.0
    feature_names_: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {list(KINDS)}, got {self.kind!r}")
        qs = sorted({float(q) for q in self.quantiles} | {0.5})
        if not all(0 < q < 1 for q in qs):
            raise ValueError(f"quantiles must be within (0, 1), got {list(self.quantiles)}")
        self.quantiles = tuple(qs)
        if not (isinstance(self.horizon_days, int) and 1 <= self.horizon_days <= 7):
            raise ValueError(f"horizon_days must be a whole number of days from 1 to 7, got {self.horizon_days!r}")
        if self.calendar not in ("china", "weekday"):
            raise ValueError(f"calendar must be 'china' or 'weekday', got {self.calendar!r}")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        h = self.calibration_half_life_days
        if isinstance(h, bool) or not isinstance(h, int | float) or not (np.isfinite(h) and h > 0):
            raise ValueError(f"calibration_half_life_days must be a number of days > 0, got {h!r}")

    # -- data preparation ---------------------------------------------------------

    def _matrices(
        self, series: pd.Series, temperature: pd.Series | None, extra_day: pd.Timestamp | None = None
    ) -> tuple[DayMatrix, np.ndarray | None, np.ndarray | None]:
        from forecasts.series import step_of

        step = step_of(series)
        if 1440 % step:
            raise ValueError(f"the series' step of {step} min does not divide a day")
        s = series
        if extra_day is not None:
            end = extra_day + pd.Timedelta(days=1)
            grid = pd.date_range(series.index[0], end, freq=pd.Timedelta(minutes=step), inclusive="left")
            s = series.reindex(grid)
        dm = to_day_matrix(s, step)
        cs = None
        if self.kind == "pv" and self.latitude is not None:
            cs = _clear_sky_matrix(dm, self.latitude, self.longitude, self.altitude_m)
        temp = None
        if temperature is not None:
            t = temperature.reindex(pd.date_range(dm.days[0], dm.days[-1] + pd.Timedelta(days=1), freq=pd.Timedelta(minutes=step), inclusive="left"))
            temp = to_day_matrix(t, step).values
            temp = temp[: len(dm.values)] if len(temp) >= len(dm.values) else np.vstack([temp, np.full((len(dm.values) - len(temp), temp.shape[1]), np.nan)])
        return dm, cs, temp

    def _fit_one(self, X: np.ndarray, y: np.ndarray, level: float, *, residual: bool = False) -> object:
        import lightgbm as lgb

        leaf = self.min_samples_leaf or 3 * (1440 // (self.step_minutes_ or 15))
        model = lgb.LGBMRegressor(
            objective="quantile",
            alpha=level,
            n_estimators=self.max_iter if not residual else max(30, self.max_iter // 3),
            learning_rate=self.learning_rate,
            num_leaves=self.max_leaf_nodes if not residual else 15,
            min_child_samples=leaf if not residual else 3 * leaf,
            reg_lambda=1.0,
            random_state=self.seed,
            deterministic=True,
            force_row_wise=True,
            n_jobs=1,  # one thread: as fast here, and no OpenMP spin-waits on a busy machine
            verbose=-1,
        )
        return model.fit(X, y)

    def _residual_columns(self) -> list[int]:
        """Features of the error-quantile models: none that singles out a day (lags, levels, day of
        year), or the models would learn each training day's own error and be over-confident."""
        return [i for i, n in enumerate(self.feature_names_) if n in RESIDUAL_FEATURES[self.kind]]

    def _point(self, gbm: np.ndarray, base: np.ndarray | None) -> np.ndarray:
        """The median: the boosting's, blended with the simple forecast ``base`` (weight ``alpha_``)."""
        if base is None or self.alpha_ >= 1.0:
            return gbm
        return np.where(np.isfinite(base), self.alpha_ * gbm + (1 - self.alpha_) * base, gbm)

    def _predict(self, feats: Features) -> np.ndarray:
        """Quantiles in scaled units. Load: the median (reference + linear part + alpha × boosting)
        plus the conformal offsets times the spread of the step; PV: the median plus each level's
        residual quantile model."""
        if self.kind == "load":
            p50 = self._load_median(feats)
            spread = self.scale_[(feats.working > 0.5).astype(int), feats.slot]
            cols = [p50 if q == 0.5 else p50 + spread * self.offsets_[q] for q in self.quantiles]
            return np.stack(cols, axis=1)
        p50 = self._point(self.models_[0.5].predict(feats.X), feats.base)
        R = feats.X[:, self._residual_columns()]
        day = self._daylight(feats)
        cols = [p50 if q == 0.5 else p50 + self._pv_quantile_offset(q, R, day) for q in self.quantiles]
        return np.stack(cols, axis=1)

    def _load_median(self, feats: Features, alpha: float | None = None) -> np.ndarray:
        linear = feats.linear @ self.coef_
        boost = self.models_[0.5].predict(np.column_stack([feats.X, linear]))
        return feats.reference + linear + (self.alpha_ if alpha is None else alpha) * boost

    def _fit_load(self, feats: Features, y: np.ndarray, ok: np.ndarray, n_days: int, steps: int) -> np.ndarray:
        """The load median and its calibration; returns the out-of-sample errors [scaled].

        Blocked cross-fitting (``folds`` contiguous blocks of days): each block is forecast by a
        linear part and a boosting fitted on the other blocks, which gives held-out errors over
        the whole history. They choose the boosting's weight ``alpha_`` and, normalised by a
        spread per step of the day and working status that is itself fitted without the block,
        give the conformal offsets of every quantile level: split conformal on the last block,
        whose errors are those of forecasts made forward in time.
        """
        X, L, ref = feats.X[ok], feats.linear[ok], feats.reference[ok]
        z = y - ref
        days = feats.day_index[ok]
        slot = feats.slot[ok]
        work = (feats.working[ok] > 0.5).astype(int)
        prior = np.array([LINEAR_PRIOR.get(n, 0.0) for n in LINEAR_FEATURES])
        folds = int(min(self.folds, max(2, len(np.unique(days)) // 7)))
        span = days.max() - days.min() + 1
        fold = np.minimum((days - days.min()) * folds // span, folds - 1)
        lin_oos = np.full(len(z), np.nan)
        boost_oos = np.full(len(z), np.nan)
        for k in range(folds):
            train, test = fold != k, fold == k
            if not (train.any() and test.any()):
                continue
            coef = robust_linear_fit(L[train], z[train], prior, self.shrink)
            lin = L @ coef
            model = self._fit_one(np.column_stack([X, lin])[train], z[train] - lin[train], 0.5)
            lin_oos[test] = lin[test]
            boost_oos[test] = model.predict(np.column_stack([X, lin])[test])
        have = np.isfinite(lin_oos)
        grid = np.linspace(0.0, 1.0, 11)
        errors = [np.mean(np.abs(z[have] - lin_oos[have] - a * boost_oos[have])) for a in grid]
        self.alpha_ = float(grid[int(np.argmin(errors))])
        resid = z - lin_oos - self.alpha_ * boost_oos
        # Conformal: each held-out error divided by a spread fitted without its block.
        scores = np.full(len(z), np.nan)
        for k in range(folds):
            test = (fold == k) & have
            if test.any():
                spread = _spread_table(resid, have & (fold != k), work, slot, days, steps)
                scores[test] = resid[test] / spread[work[test], slot[test]]
        self.scale_ = _spread_table(resid, have, work, slot, days, steps)
        # Calibrated on the most recent blocks: the last one's errors are those of forecasts made
        # forward in time, from a model that had not seen it or anything after it.
        recent = scores[fold >= folds - min(self.calibration_blocks, folds)]
        self.offsets_ = {q: conformal_quantile(recent, q) for q in self.quantiles if q != 0.5}
        self.coef_ = robust_linear_fit(L, z, prior, self.shrink)
        lin = L @ self.coef_
        self.models_ = {0.5: self._fit_one(np.column_stack([X, lin]), z - lin, 0.5)}
        return resid

    def _post(self, q_scaled: np.ndarray, feats: Features) -> np.ndarray:
        """No crossing; PV ≥ its floor (0, or the meter's night tare), ≤ 0 where the envelope and
        the clear sky are (night); × level."""
        q = sort_quantiles(q_scaled)
        if self.kind == "pv":
            floor = (self.floor_ / feats.level)[:, None]  # 0, or a meter's negative night tare
            q = np.maximum(q, floor)
            names = self.feature_names_ or feats.names
            night = np.nan_to_num(feats.X[:, names.index("envelope_14d")], nan=0.0) <= 0
            if "clear_sky_kw_per_m2" in names:
                night &= feats.X[:, names.index("clear_sky_kw_per_m2")] <= 0
            q[night] = np.clip(q[night], floor[night], 0.0)
        return q * feats.level[:, None]

    # -- fit and predict ------------------------------------------------------------

    def _fit_pv(self, feats: Features, y: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The PV median (boosting blended with the clear-sky-index forecast), its error-quantile
        models and their conformal offsets; returns the out-of-sample errors and the calibrated
        quantile offsets [scaled].

        Blocked cross-fitting: each block's median and error quantiles come from models fitted on
        the other blocks, so every error has a held-out quantile forecast. The conformity score of
        level τ is the error less its held-out τ-quantile (conformalised quantile regression, each
        level on its own); the level's offset is the weighted conformal quantile of the scores of
        the daylight steps (:meth:`_daylight`), each weighing 2^(−age / ``calibration_half_life_days``)
        by the days from its day to the last of the history, so that recent errors count most.
        """
        X = feats.X[ok]
        # Out-of-sample medians by cross-fitting over contiguous blocks of days, so that the errors
        # include the drift of the seasons.
        days = feats.day_index[ok]
        folds = int(min(self.folds, max(2, len(np.unique(days // 7)))))
        fold = np.minimum((days - days.min()) * folds // (days.max() - days.min() + 1), folds - 1)
        oos = np.full(len(y), np.nan)
        for k in range(folds):
            train, test = fold != k, fold == k
            if train.sum() and test.sum():
                oos[test] = self._fit_one(X[train], y[train], 0.5).predict(X[test])
        self.alpha_ = 1.0
        base = feats.base[ok]
        both = np.isfinite(oos) & np.isfinite(base)
        if both.any():
            # Blend the boosting with the simple forecast by the weight that does best out of sample.
            grid = np.linspace(0.0, 1.0, 11)
            errors = [np.mean(np.abs(y[both] - (a * oos[both] + (1 - a) * base[both]))) for a in grid]
            self.alpha_ = float(grid[int(np.argmin(errors))])
        oos = self._point(oos, base)
        resid = y - oos
        have = np.isfinite(resid)
        self.models_ = {0.5: self._fit_one(X, y, 0.5)}
        R = X[:, self._residual_columns()]
        day = self._daylight(feats)[ok]
        calibrate = have & day
        weight = 0.5 ** ((days.max() - days) / self.calibration_half_life_days)
        self.pv_offsets_ = {}
        for q in self.quantiles:
            if q == 0.5:
                continue
            held = np.full(len(y), np.nan)
            for k in range(folds):
                train, test = have & (fold != k), have & (fold == k)
                if train.sum() and test.sum():
                    held[test] = self._fit_one(R[train], resid[train], q, residual=True).predict(R[test])
            score = resid - held
            use = calibrate & np.isfinite(score)
            if use.any():
                self.pv_offsets_[q] = conformal_quantile(score[use], q, weight[use])
            self.models_[q] = self._fit_one(R[have], resid[have], q, residual=True)
        spread = np.stack(
            [np.zeros(have.sum()) if q == 0.5 else self._pv_quantile_offset(q, R[have], day[have])
             for q in self.quantiles],
            axis=1,
        )
        return resid, spread

    def _daylight(self, feats: Features) -> np.ndarray:
        """Rows whose envelope is at least :data:`DAYLIGHT_FRACTION` of its day's largest: where the
        PV quantiles are calibrated (below it, at dawn, dusk and night, PV is next to nothing)."""
        env = np.nan_to_num(feats.X[:, feats.names.index("envelope_14d")], nan=0.0) * feats.level
        steps = int(np.max(feats.slot)) + 1
        peak = np.repeat(np.max(env.reshape(-1, steps), axis=1), steps)
        return (env > 0) & (env >= DAYLIGHT_FRACTION * peak)

    def _pv_quantile_offset(self, q: float, R: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Level ``q``'s offset from the median [scaled]: its error-quantile model, plus its conformal
        offset at daylight rows; never across the median (sorting crossed levels would move it)."""
        off = self.models_[q].predict(R) + np.where(day, self.pv_offsets_.get(q, 0.0), 0.0)
        return np.minimum(off, 0.0) if q < 0.5 else np.maximum(off, 0.0)

    def fit(self, history: pd.Series, temperature: pd.Series | None = None) -> DayAheadForecaster:
        """Train on every day of ``history`` (a regular, tz-aware series; see :func:`forecasts.series.read_series`).

        Everything in ``history`` is training data: cut it before the forecast
        origin first (:func:`forecasts.backtest.training_window`).
        """
        t0 = time.perf_counter()
        hist = history.dropna()
        if hist.empty:
            raise ValueError("the history holds no values")
        dm, cs, temp = self._matrices(history, temperature)
        n_days = len(dm.days)
        if n_days < self.min_train_days + self.horizon_days:
            raise ValueError(
                f"too little history: {n_days} days; need at least {self.min_train_days + self.horizon_days} "
                f"(min_train_days={self.min_train_days} plus the horizon)"
            )
        rows = np.arange(self.horizon_days, n_days)
        feats = build_features(dm, self.kind, self.horizon_days, self.calendar, rows, cs, temp, self.holidays)
        y = dm.values[feats.day_index, feats.slot] / feats.level
        ok = np.isfinite(y) & np.isfinite(feats.level) & (feats.level > 0)
        if feats.reference is not None:
            ok &= np.isfinite(feats.reference)
        self.feature_names_ = feats.names
        self.step_minutes_ = dm.step_minutes
        if self.kind == "load":
            resid = self._fit_load(feats, y[ok], ok, n_days, dm.steps_per_day)
            have = np.isfinite(resid)
            spread = np.stack(
                [
                    np.zeros(have.sum())
                    if q == 0.5
                    else self.scale_[(feats.working[ok][have] > 0.5).astype(int), feats.slot[ok][have]]
                    * self.offsets_[q]
                    for q in self.quantiles
                ],
                axis=1,
            )
        else:
            resid, spread = self._fit_pv(feats, y[ok], ok)
            have = np.isfinite(resid)
        # Error correlation from step to step: normal scores of the out-of-sample errors.
        z = pit_normal_scores(resid[have], spread, self.quantiles)
        zmat = np.full((n_days, dm.steps_per_day), np.nan)
        zmat[feats.day_index[ok][have], feats.slot[ok][have]] = z
        rho = fit_ar1(zmat)
        self.rho_ = DEFAULT_RHO if rho is None else rho
        self.oos_mae_scaled_ = float(np.mean(np.abs(resid[have]))) if have.any() else float("nan")
        self.floor_ = float(min(0.0, hist.min()))
        self.train_start_ = hist.index[0]
        self.train_end_ = hist.index[-1]
        self.step_minutes_ = dm.step_minutes
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def origin_of(self, day: date | pd.Timestamp, tz: object) -> pd.Timestamp:
        """Forecast origin for target ``day``: local midnight of day − (horizon − 1)."""
        start = pd.Timestamp(pd.Timestamp(day).date()).tz_localize(tz)
        return start - pd.Timedelta(days=self.horizon_days - 1)

    def predict(
        self, day: date | pd.Timestamp | str, history: pd.Series, temperature: pd.Series | None = None
    ) -> pd.DataFrame:
        """Quantile forecast of local ``day`` [unit of the series]: one row per step, one column per level.

        ``history`` may be the same or a longer series than the training one,
        but must end before the forecast origin (else ValueError: the future
        would leak into the features). ``temperature`` (where the model was
        trained with it) must cover the target day: the weather forecast.
        ``attrs``: rho, origin, train_end.
        """
        if not self.models_:
            raise ValueError("the forecaster is not fitted: call fit(history) first")
        tz = history.index.tz
        origin = self.origin_of(pd.Timestamp(day), tz)
        if self.train_end_ is not None and self.train_end_ >= origin:
            raise ValueError(
                f"leakage: the models were trained on data up to {self.train_end_.isoformat()}, "
                f"not before the forecast origin {origin.isoformat()}"
            )
        if history.index[-1] >= origin:
            raise ValueError(
                f"leakage: the history runs to {history.index[-1].isoformat()}, past the forecast origin "
                f"{origin.isoformat()}: cut it with forecasts.backtest.training_window(history, origin)"
            )
        target = pd.Timestamp(pd.Timestamp(day).date()).tz_localize(tz)
        # Only the last weeks matter to the features: keep the matrix small.
        recent = history[history.index >= target - pd.Timedelta(days=22)]
        if recent.dropna().empty:
            raise ValueError(f"no history in the 3 weeks before {target.date().isoformat()}: cannot forecast it")
        recent.attrs = dict(history.attrs)
        dm, cs, temp = self._matrices(recent, temperature, extra_day=target)
        row = int(np.flatnonzero(dm.days == target)[0])
        feats = build_features(
            dm, self.kind, self.horizon_days, self.calendar, np.array([row]), cs, temp, self.holidays
        )
        if not np.isfinite(feats.level).all() or (feats.level <= 0).all():
            raise ValueError(f"no values in the days before the origin {origin.isoformat()} to set the level from")
        q = self._post(self._predict(feats), feats)
        idx = pd.date_range(target, periods=dm.steps_per_day, freq=pd.Timedelta(minutes=dm.step_minutes))
        out = pd.DataFrame(q, index=idx, columns=list(self.quantiles))
        out.index.name = "timestamp"
        out.attrs.update(rho=self.rho_, origin=origin.isoformat(), train_end=self.train_end_.isoformat())
        return out


def _clear_sky_matrix(dm: DayMatrix, latitude: float, longitude: float, altitude_m: float) -> np.ndarray:
    """Mean Ineichen clear-sky GHI [W/m2] over each step of every day of ``dm``."""
    from forecasts.pv import solar_and_clear_sky, step_sample_times

    P = dm.steps_per_day
    idx = pd.date_range(dm.days[0], periods=len(dm.days) * P, freq=pd.Timedelta(minutes=dm.step_minutes))
    sample = min(dm.step_minutes, 15.0)
    instants, n = step_sample_times(idx, dm.step_minutes, sample)
    ghi = solar_and_clear_sky(instants, latitude, longitude, altitude_m)["ghi_clear"].to_numpy()
    return ghi.reshape(len(idx), n).mean(axis=1).reshape(len(dm.days), P)


def seasonal_naive(history: pd.Series, day: date | pd.Timestamp, lag_days: int) -> pd.Series:
    """The value at the same time ``lag_days`` days earlier, for each step of ``day`` [unit of the series]."""
    from forecasts.series import step_of

    step = step_of(history)
    target = pd.Timestamp(pd.Timestamp(day).date()).tz_localize(history.index.tz)
    idx = pd.date_range(target, periods=1440 // step, freq=pd.Timedelta(minutes=step))
    values = history.reindex(idx - pd.Timedelta(days=lag_days)).to_numpy()
    return pd.Series(values, index=idx, name=f"seasonal_naive_{lag_days}d")


def baseline_lag_days(kind: str, horizon_days: int) -> int:
    """The seasonal-naive lag: one week for load; for PV one day (the horizon's days when longer)."""
    return 7 if kind == "load" else max(1, horizon_days)


__all__ = [
    "DEFAULT_QUANTILES",
    "DayAheadForecaster",
    "DayMatrix",
    "baseline_lag_days",
    "build_features",
    "seasonal_naive",
    "to_day_matrix",
]
