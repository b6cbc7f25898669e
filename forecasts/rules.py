"""Simple day-ahead rules a practitioner would use, and the kind-of-day reference they share.

Every rule forecasts the whole of day D from whole days before the forecast
origin (midnight before D for a day-ahead forecast, h = 1): row D of its
output reads only rows ≤ D − h of the day matrix, so a rule is as
leakage-proof as the model it is compared with. ``Y`` is a day matrix
(days × steps of the day, NaN where missing; :func:`forecasts.model.to_day_matrix`),
values in the series' unit. With h = 1, for the step t of day D:

- ``seasonal_naive``: the same time a week earlier, y(D−7, t);
- ``yesterday``: y(D−1, t);
- ``two_line``: last week's same day plus yesterday's change since the week
  before, y(D−7, t) + y(D−1, t) − y(D−8, t);
- ``two_line_ratio``: last week's same day times yesterday's daily mean over
  the daily mean a week before it;
- ``two_line_4w``: the two-line rule on four-week means, W(D, t) + y(D−1, t) −
  W(D−1, t), where W(d, t) is the mean of the same time on the last four same
  weekdays before d;
- ``last_value``: W(D, t) plus the change of the last value before the origin
  against its own four-week mean (the level shift seen at midnight);
- ``same_kind_two_line``: the two-line rule on the *kind-of-day reference*
  (:func:`kind_reference`): R(D, t) + y(D−1, t) − R(D−1, t), which is
  ``two_line_4w`` in a week without holidays, and on a public holiday or the
  day after one compares like with like.

For PV (``PV_RULES``) only those that make sense for the sun: yesterday, the
mean of the last seven days at that time, and the same time a week earlier.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

LOAD_RULES: tuple[str, ...] = (
    "seasonal_naive",
    "yesterday",
    "two_line",
    "two_line_ratio",
    "two_line_4w",
    "last_value",
    "same_kind_two_line",
)
"""Rules reported beside the learned load forecast, the baseline (seasonal naive) first."""
PV_RULES: tuple[str, ...] = ("yesterday", "week_mean", "seasonal_naive")
"""Rules reported beside the learned PV forecast, the baseline (yesterday) first."""

RULE_LABELS: dict[str, str] = {
    "learned": "learned (P50)",
    "seasonal_naive": "seasonal naive",
    "yesterday": "yesterday",
    "two_line": "two-line rule",
    "two_line_ratio": "two-line, ratio",
    "two_line_4w": "two-line, 4-week means",
    "last_value": "4-week mean + last value's change",
    "same_kind_two_line": "two-line on the kind-of-day reference",
    "week_mean": "mean of the last 7 days",
}
"""What the backtest tables call the learned median and each rule."""

KIND_WINDOW_DAYS = 35
"""How far back :func:`kind_reference` looks for days of the target's kind [days]."""
KIND_DAYS = 4
"""How many days of the same kind :func:`kind_reference` averages."""


def shift_rows(a: np.ndarray, k: int) -> np.ndarray:
    """Rows moved down by k (row d gets row d − k); NaN where there is none."""
    out = np.full(a.shape, np.nan, dtype=float)
    if 0 <= k < len(a):
        out[k:] = a[: len(a) - k]
    return out


def _nanmean(stack: np.ndarray, axis: int = 0) -> np.ndarray:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, as wanted
        return np.nanmean(stack, axis=axis)


HOLIDAY, ADJUSTED_WORKING = 7, 8
"""Kinds of a public holiday on a weekday and of an adjusted working day (调休) on a weekend."""
KIND_MATCH: dict[int, tuple[int, ...]] = {
    **{k: (k,) for k in range(7)},
    HOLIDAY: (HOLIDAY, 6),
    ADJUSTED_WORKING: (ADJUSTED_WORKING, 1, 2, 3),
}
"""Kinds a day of each kind is compared with: a weekday with the same weekday, a public holiday
with holidays and Sundays, an adjusted working day with those and Tuesday to Thursday."""


def day_kinds(weekday: np.ndarray, working: np.ndarray) -> np.ndarray:
    """The kind of each day: its weekday (0 = Monday … 6 = Sunday), :data:`HOLIDAY` for a weekday
    that is not a working day, :data:`ADJUSTED_WORKING` for a weekend day that is one."""
    wd = np.asarray(weekday, dtype=int)
    work = np.asarray(working, dtype=float) > 0.5
    kinds = wd.copy()
    kinds[~work & (wd < 5)] = HOLIDAY
    kinds[work & (wd >= 5)] = ADJUSTED_WORKING
    return kinds


def kind_reference(
    Y: np.ndarray,
    kinds: np.ndarray,
    *,
    gap: int = 1,
    count: int = KIND_DAYS,
    window: int = KIND_WINDOW_DAYS,
    match: dict[int, tuple[int, ...]] | None = KIND_MATCH,
) -> np.ndarray:
    """R(d, t): the mean of the same time on the last ``count`` days like d among days
    d − gap − window + 1 … d − gap (only days with data); NaN where there is none. "Like d" is
    ``match[kind of d]`` (default :data:`KIND_MATCH`), or the same kind with ``match=None``."""
    out = np.full(Y.shape, np.nan)
    have = np.isfinite(Y).any(axis=1)
    for d in range(len(Y)):
        like = (kinds[d],) if match is None else match.get(int(kinds[d]), (kinds[d],))
        picked: list[int] = []
        for j in range(d - gap, max(-1, d - gap - window), -1):
            if have[j] and kinds[j] in like:
                picked.append(j)
                if len(picked) == count:
                    break
        if picked:
            out[d] = _nanmean(Y[picked], axis=0)
    return out


def weekly_mean(Y: np.ndarray, first: int, weeks: int = 4) -> np.ndarray:
    """Mean of the same time on rows d − first, d − first − 7, … (``weeks`` of them, NaN-aware)."""
    return _nanmean(np.stack([shift_rows(Y, first + 7 * j) for j in range(weeks)]))


def _day_mean(a: np.ndarray) -> np.ndarray:
    return _nanmean(a, axis=1)[:, None]


def load_rules(Y: np.ndarray, kinds: np.ndarray, horizon_days: int = 1) -> dict[str, np.ndarray]:
    """Every rule of :data:`LOAD_RULES` for every row of the day matrix ``Y`` (a row reads rows
    ≤ d − h only). "Yesterday" is the last day before the origin, d − h."""
    h = horizon_days
    P = Y.shape[1]
    week = 7 * max(1, -(-h // 7))  # the nearest whole week at or beyond the horizon
    y_h = shift_rows(Y, h)
    y_hw = shift_rows(Y, h + 7)
    W = weekly_mean(Y, week)
    W_h = weekly_mean(Y, h + 7)  # four-week mean of the same time for day d − h
    ref = kind_reference(Y, kinds, gap=h)
    ref_self = kind_reference(Y, kinds, gap=1)  # each day's own reference, from the days before it
    with np.errstate(all="ignore"):
        ratio = _day_mean(y_h) / _day_mean(y_hw)
    return {
        "seasonal_naive": shift_rows(Y, week),
        "yesterday": y_h,
        "two_line": shift_rows(Y, week) + y_h - y_hw if h <= 7 else shift_rows(Y, week),
        "two_line_ratio": shift_rows(Y, week) * ratio,
        "two_line_4w": W + y_h - W_h,
        "last_value": W + np.repeat((y_h - W_h)[:, P - 1 : P], P, axis=1),
        "same_kind_two_line": ref + y_h - shift_rows(ref_self, h),
    }


def pv_rules(Y: np.ndarray, horizon_days: int = 1) -> dict[str, np.ndarray]:
    """Every rule of :data:`PV_RULES` for every row of ``Y`` (reads rows ≤ d − h only)."""
    h = horizon_days
    return {
        "yesterday": shift_rows(Y, h),
        "week_mean": _nanmean(np.stack([shift_rows(Y, h + j) for j in range(7)])),
        "seasonal_naive": shift_rows(Y, 7 * max(1, -(-h // 7))),
    }


RULES: dict[str, Callable[..., dict[str, np.ndarray]]] = {"load": load_rules, "pv": pv_rules}
