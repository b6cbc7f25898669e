"""The documented district load profile of an industrial zone [MW], averaged over each step.

Pure functions: timestamps and numbers in, arrays out. The shape is that of an
industrial zone with continuous-process load ([assumed]; TEDA's industries —
electronics, biomedicine, automotive parts, food — run clean rooms, reactors
and cold stores round the clock): continuous processes hold ≈ 0.72 p.u. at
night and on non-working days, the day shifts lift a working day to its
plateau from 08:00 to 17:30, and a second shift keeps the evening at
≈ 0.85 p.u.; times a seasonal factor (summer cooling, winter heating). The
daily load factor of a working day is ≈ 0.88 and the year's ≈ 0.78. With
``peak_mw`` = 500 MW a year sums to ≈ 3.4 TWh (checked in
``tests/forecasts/test_load.py``).

Shapes are given as anchor points (local hour, p.u. of the peak); between two
anchors the profile follows a half cosine, so it is smooth (zero slope at every
anchor) and never overshoots the anchors.

Working days come from :mod:`chinese_calendar` (``is_workday``), so adjusted
working days (调休, e.g. Sunday 28 Sep 2025) count as working days and public
holidays (e.g. 1 Oct 2025) do not. Outside the years that library covers it
raises ``NotImplementedError``; :func:`is_working_day` then falls back to
Monday–Friday and says so in its result.
"""

from __future__ import annotations

import math
from datetime import date
from functools import lru_cache
from typing import NamedTuple

import chinese_calendar
import numpy as np
import pandas as pd

from vpp.timeseries import step_minutes_of

DEFAULT_TIMEZONE = "Asia/Shanghai"

WEEKDAY_SHAPE_PU: tuple[tuple[float, float], ...] = (
    (0.0, 0.74),
    (5.0, 0.72),  # night: the continuous processes and utilities ≈ 0.72 p.u.
    (6.5, 0.78),
    (8.0, 1.00),  # day shifts: plateau 08:00–17:30
    (11.75, 1.00),
    (12.25, 0.96),  # lunch break
    (12.75, 0.96),
    (13.25, 1.00),
    (17.5, 1.00),  # day shift ends
    (19.5, 0.88),  # second shift, commerce, lighting
    (22.0, 0.84),
    (24.0, 0.74),
)
"""Working-day shape of an industrial zone with continuous-process load: (local hour, p.u. of the peak)
anchors [assumed]."""

NON_WORKING_SHAPE_PU: tuple[tuple[float, float], ...] = (
    (0.0, 0.72),
    (5.0, 0.70),
    (8.5, 0.80),
    (17.0, 0.80),
    (19.5, 0.80),
    (22.0, 0.76),
    (24.0, 0.72),
)
"""Weekend and public-holiday shape: the continuous processes and a reduced day [assumed]."""

SEASON_BASE = 0.88
"""Seasonal factor in spring and autumn [-]; the factor peaks at 1.0 in late July [assumed]."""
SUMMER_PEAK_DOY, SUMMER_WIDTH_DAYS, SUMMER_GAIN = 205.0, 45.0, 0.12
"""Cooling: + SUMMER_GAIN × exp(−((doy − 205) / 45)²) [assumed]."""
WINTER_PEAK_DOY, WINTER_WIDTH_DAYS, WINTER_GAIN = 15.0, 40.0, 0.07
"""Heating: + WINTER_GAIN × exp(−((doy − 15) / 40)², wrapping round the new year) [assumed]."""


class WorkingDay(NamedTuple):
    """Whether a date is a working day, and how that was decided."""

    working: bool
    fallback: bool
    """True when chinese_calendar does not cover the date and Monday–Friday was used."""
    source: str
    """'chinese_calendar' or 'weekday-fallback'."""


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> WorkingDay:
    """Working day per the official Chinese calendar (调休 included), Monday–Friday outside its range."""
    if isinstance(day, pd.Timestamp):
        day = day.date()
    try:
        return WorkingDay(bool(chinese_calendar.is_workday(day)), False, "chinese_calendar")
    except NotImplementedError:
        return WorkingDay(day.weekday() < 5, True, "weekday-fallback")


def _cosine_profile(hours: np.ndarray, anchors: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Half-cosine interpolation between (hour, value) anchors covering [0, 24]."""
    xs = np.array([a[0] for a in anchors])
    ys = np.array([a[1] for a in anchors])
    h = np.mod(hours, 24.0)
    k = np.clip(np.searchsorted(xs, h, side="right") - 1, 0, len(xs) - 2)
    x0, x1, y0, y1 = xs[k], xs[k + 1], ys[k], ys[k + 1]
    frac = np.clip((h - x0) / (x1 - x0), 0.0, 1.0)
    w = 0.5 - 0.5 * np.cos(np.pi * frac)
    return y0 + (y1 - y0) * w


def seasonal_factor(day_of_year: np.ndarray | float) -> np.ndarray:
    """Seasonal scaling [-] by day of year (1–366): 0.88 in spring/autumn, ≈1.0 late July, ≈0.95 mid-January."""
    d = np.asarray(day_of_year, dtype=float)
    summer = np.exp(-(((d - SUMMER_PEAK_DOY) / SUMMER_WIDTH_DAYS) ** 2))
    dw = np.minimum(np.abs(d - WINTER_PEAK_DOY), 365.25 - np.abs(d - WINTER_PEAK_DOY))
    winter = np.exp(-((dw / WINTER_WIDTH_DAYS) ** 2))
    return SEASON_BASE + SUMMER_GAIN * summer + WINTER_GAIN * winter


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _per_second(idx: pd.DatetimeIndex) -> int:
    """Ticks per second of the index's resolution."""
    return {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[idx.unit]


def district_load_mw(
    timestamps: pd.DatetimeIndex,
    peak_mw: float,
    *,
    seasonal: bool = True,
    timezone: str = DEFAULT_TIMEZONE,
    step_minutes: float | None = None,
    sample_minutes: float = 5.0,
) -> np.ndarray:
    """District load [MW], the mean over each step.

    Parameters
    ----------
    timestamps : DatetimeIndex
        Start of every step (evenly spaced unless ``step_minutes`` is given);
        tz-aware ones are converted to ``timezone``, naive ones are local time.
    peak_mw : float
        Peak of the working-day plateau at the height of summer [MW] ≥ 0
        (the yearly peak when ``seasonal``).
    seasonal : bool
        Apply :func:`seasonal_factor` (summer cooling, winter heating).
    step_minutes : float, optional
        Step length [min]; inferred from the timestamps when absent.
    sample_minutes : float
        Each step is averaged over sub-intervals no longer than this [min].

    Returns
    -------
    numpy.ndarray of len(timestamps) mean loads [MW]. Working days use
    :data:`WEEKDAY_SHAPE_PU`, other days :data:`NON_WORKING_SHAPE_PU`
    (see :func:`is_working_day` for the calendar and its fallback).
    """
    if not (isinstance(peak_mw, (int, float)) and math.isfinite(peak_mw) and peak_mw >= 0):
        raise ValueError(f"peak_mw must be a finite number >= 0 [MW], got {peak_mw!r}")
    idx = pd.DatetimeIndex(timestamps)
    idx = idx.tz_localize(timezone) if idx.tz is None else idx.tz_convert(timezone)
    if len(idx) == 0:
        return np.zeros(0)
    minutes = step_minutes_of(idx, step_minutes)
    if not sample_minutes > 0:
        raise ValueError(f"sample_minutes must be > 0 [min], got {sample_minutes!r}")
    n = max(1, math.ceil(minutes / sample_minutes - 1e-9))
    offsets_h = (np.arange(n) + 0.5) * minutes / n / 60.0

    # Local clock hour of every sub-sample, measured from the local midnight of the step's day.
    start_h = idx.hour + idx.minute / 60.0 + idx.second / 3600.0
    hours = np.asarray(start_h, dtype=float)[:, None] + offsets_h[None, :]
    day_shift = np.floor(hours / 24.0).astype(
        int
    )  # sub-samples past midnight belong to the next day
    base_day = idx.tz_localize(None).normalize().asi8 // (86_400 * _per_second(idx))
    day_number = base_day[:, None] + day_shift  # days since 1970-01-01, local calendar
    unique_days, inverse = np.unique(day_number, return_inverse=True)
    dates = [date.fromordinal(_EPOCH_ORDINAL + int(d)) for d in unique_days]
    working = np.array([is_working_day(d).working for d in dates])[inverse].reshape(hours.shape)
    pu = np.where(
        working,
        _cosine_profile(hours, WEEKDAY_SHAPE_PU),
        _cosine_profile(hours, NON_WORKING_SHAPE_PU),
    )
    if seasonal:
        doy = np.array([d.timetuple().tm_yday for d in dates])[inverse].reshape(hours.shape)
        pu = pu * seasonal_factor(doy)
    return peak_mw * pu.mean(axis=1)
